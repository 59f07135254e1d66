"""docker-compose.yml, railway.json and the Dockerfile agree with the code (Docker does not run here)."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from delete_api.cli import build_parser
from delete_api.settings import VARIABLES, Settings

ROOT = Path(__file__).resolve().parent.parent
KNOWN_VARIABLES = {v.name for v in VARIABLES}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def delete_api_commands(shell: str) -> list[list[str]]:
    """The argument lists of every `delete-api ...` in a shell command line."""
    commands = []
    for part in re.split(r"&&|;", shell):
        words = shlex.split(part)
        if words and words[0] == "delete-api":
            commands.append(words[1:])
    return commands


def test_compose_uses_pgvector_pg16_and_redis_7() -> None:
    """The compose file runs PostgreSQL 16 with pgvector and Redis 7 beside the app."""
    services = compose()["services"]
    assert services["postgres"]["image"] == "pgvector/pgvector:pg16"
    assert services["redis"]["image"].startswith("redis:7")
    assert set(services["app"]["depends_on"]) == {"postgres", "redis"}


def test_compose_app_environment_matches_settings() -> None:
    """Every variable the app service sets is one the code reads, and the URLs name the compose services."""
    services = compose()["services"]
    env = services["app"]["environment"]
    assert set(env) <= KNOWN_VARIABLES, set(env) - KNOWN_VARIABLES
    db = urlsplit(env["DATABASE_URL"])
    pg_env = services["postgres"]["environment"]
    assert db.hostname == "postgres" and db.port == 5432
    assert (db.username, db.password, db.path.strip("/")) == (
        pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"], pg_env["POSTGRES_DB"])
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    resolved = {k: v for k, v in env.items() if "${" not in v}
    resolved["JWT_SECRET"] = "s" * 40
    settings = Settings.from_env(resolved)
    assert settings.database_url is not None and settings.redis_url is not None


def test_compose_app_command_port_and_health_check_agree() -> None:
    """The app's command parses with our CLI, listens on the published port and is health-checked on /v1/health."""
    app = compose()["services"]["app"]
    commands = delete_api_commands(app["command"][-1])
    assert [c[0] for c in commands] == ["migrate", "serve"]
    serve = build_parser().parse_args(commands[1])
    assert serve.host == "0.0.0.0"
    published = {int(p.split(":")[1]) for p in app["ports"]}
    assert serve.port in published
    check = " ".join(app["healthcheck"]["test"])
    assert f"127.0.0.1:{serve.port}/v1/health" in check


def test_railway_start_command_and_health_check() -> None:
    """railway.json builds the Dockerfile, starts with valid CLI commands and checks /v1/health."""
    config = json.loads((ROOT / "railway.json").read_text())
    deploy = config["deploy"]
    assert deploy["healthcheckPath"] == "/v1/health"
    assert deploy["restartPolicyType"] in {"ON_FAILURE", "ALWAYS", "NEVER"}
    assert (ROOT / config["build"]["dockerfilePath"]).is_file()
    start = shlex.split(deploy["startCommand"])
    assert start[:2] == ["sh", "-c"]
    commands = delete_api_commands(start[2])
    assert [c[0] for c in commands] == ["migrate", "serve"]
    parser = build_parser()
    for args in commands:
        parser.parse_args(args)
    # Railway injects PORT; serve must not pin another port
    assert build_parser().parse_args(commands[1]).port is None


def test_dockerfile_copies_every_package_and_listens_on_port() -> None:
    """The image contains every package pyproject installs and defaults to 0.0.0.0:8000."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    for pattern in packages:
        name = pattern.rstrip("*")
        assert re.search(rf"^COPY {name} \./{name}$", dockerfile, re.M), name
    assert "HOST=0.0.0.0" in dockerfile and "PORT=8000" in dockerfile and "EXPOSE 8000" in dockerfile
    cmd = re.search(r'^CMD \["sh", "-c", "(.+)"\]$', dockerfile, re.M)
    assert cmd is not None
    assert [c[0] for c in delete_api_commands(cmd.group(1))] == ["migrate", "serve"]


@pytest.mark.parametrize("name", sorted(KNOWN_VARIABLES))
def test_every_setting_is_documented_in_the_readme(name: str) -> None:
    """The README's configuration table lists every environment variable the code reads."""
    assert f"`{name}`" in (ROOT / "README.md").read_text()


def test_the_image_and_the_wheel_hold_no_benchmark_or_client_code() -> None:
    """Benchmarks (``bench/``) and the Python client (``clients/``) are tooling outside the server: the
    wheel's package list and the Dockerfile leave them out, and the server package holds no benchmark."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not [p for p in packages if p.startswith(("bench", "clients", "delete_client"))]
    assert not re.search(r"^(COPY|ADD) (\. |bench\b|clients\b)", dockerfile, re.M)
    assert not (ROOT / "delete_api" / "bench").exists()


def _metric_names() -> set[str]:
    """Every series name the server exports (histograms and counters with their suffixes)."""
    from prometheus_client import Counter, Gauge, Histogram

    from infra import metrics

    names: set[str] = set()
    for metric in vars(metrics).values():
        if isinstance(metric, Histogram):
            names |= {f"{metric._name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        elif isinstance(metric, Counter):
            names.add(f"{metric._name}_total")
        elif isinstance(metric, Gauge):
            names.add(metric._name)
    return names


def test_compose_runs_prometheus_and_grafana_provisioned_with_our_files() -> None:
    """Prometheus scrapes the app's METRICS_PORT; Grafana gets the data source and the dashboard from deploy/."""
    services = compose()["services"]
    port = services["app"]["environment"]["METRICS_PORT"]
    scrape = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["static_configs"][0]["targets"] == [f"app:{port}"] and scrape["metrics_path"] == "/metrics"
    for service in ("prometheus", "grafana"):
        for volume in services[service]["volumes"]:
            source = volume.split(":")[0]
            assert (ROOT / source).exists(), f"{service} mounts {source}, which does not exist"
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in services["prometheus"]["volumes"]
    provider = yaml.safe_load((ROOT / "deploy/grafana/provisioning/dashboards/delete.yml").read_text())
    mounted = {v.split(":")[1] for v in services["grafana"]["volumes"]}
    assert any(m.startswith(provider["providers"][0]["options"]["path"]) for m in mounted)
    source = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert urlsplit(source["datasources"][0]["url"]).hostname == "prometheus"


def test_the_dashboard_queries_only_series_the_server_exports() -> None:
    """Every metric a Grafana panel asks for exists in infra/metrics.py (a renamed series fails here)."""
    dashboard = json.loads((ROOT / "deploy/grafana/delete.json").read_text())
    exported = _metric_names()
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert {"Online", "Command p99 by type", "Durable event delivery lag", "Errors", "Redis health",
            "PostgreSQL pool"} <= set(titles)
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            used = set(re.findall(r"\bdelete_[a-z_]+", target["expr"]))
            assert used and used <= exported, (panel["title"], used - exported)
