"""The delete-api command, run as a real process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.pg import PostgresHandle, create_database
from tests.support.processes import ROOT, clean_env
from tests.support.users import PASSWORD, new_email

CLI = [sys.executable, "-m", "delete_api.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, proc: subprocess.Popen[str], timeout_s: float) -> float:
    """Poll /v1/health until 200; return the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy")


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(CLI + args, env=env, capture_output=True, text=True, timeout=120, input=stdin, cwd=ROOT)


@pytest.mark.parametrize("command", [[], ["serve"], ["migrate"], ["create-moderator"], ["jobs"], ["jobs", "run-once"]])
def test_every_command_has_help(command: list[str]) -> None:
    """`delete-api [COMMAND] --help` explains itself and exits 0."""
    result = run([*command, "--help"], clean_env())
    assert result.returncode == 0 and "usage: delete-api" in result.stdout


def test_bad_configuration_fails_with_one_clear_line(tmp_path: Path) -> None:
    """A bad setting stops the command with exit 2 and one line, not a traceback."""
    result = run(["migrate"], clean_env(DATABASE_URL="postgresql://u:p@h:5432/db", DATA_DIR=str(tmp_path)))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["delete-api: configuration error: JWT_SECRET is required when DATABASE_URL is set "
                     "(at least 32 characters)"]


def test_serve_on_the_embedded_default(tmp_path: Path) -> None:
    """With nothing configured, serve starts PostgreSQL and Redis, migrates, answers health, and stops cleanly."""
    port = free_port()
    data = tmp_path / "data"
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=clean_env(DATA_DIR=str(data)), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        took = wait_healthy(port, proc, 60)
        print(f"embedded first-run start: {took:.1f}s")
        resp = httpx.post(f"http://127.0.0.1:{port}/v1/auth/signup", json={
            "email": new_email(), "password": PASSWORD, "display_name": "E", "birthdate": "1990-01-01"}, timeout=10)
        assert resp.status_code == 201
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    secret = (data / "jwt_secret").read_text().strip()
    assert (data / "jwt_secret").stat().st_mode & 0o077 == 0
    assert "development secret" in output
    assert secret not in output
    assert not (data / "postgres" / "postmaster.pid").exists(), "embedded PostgreSQL was left running"
    assert not (data / "redis" / "redis.sock").exists(), "embedded Redis was left running"


def test_serve_with_urls_starts_nothing_embedded(tmp_path: Path, database_url: str, redis_url: str) -> None:
    """With DATABASE_URL, REDIS_URL and JWT_SECRET set, no embedded server or secret is created."""
    port = free_port()
    data = tmp_path / "data"
    env = clean_env(DATABASE_URL=database_url, REDIS_URL=redis_url, JWT_SECRET="j" * 40, DATA_DIR=str(data),
                    MEDIA_DIR=str(tmp_path / "media"))
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_healthy(port, proc, 30)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert not (data / "postgres").exists() and not (data / "redis").exists() and not (data / "jwt_secret").exists()
    assert "j" * 40 not in output


def test_migrate_builds_an_empty_database(postgres: PostgresHandle, tmp_path: Path) -> None:
    """`delete-api migrate` applies every migration to an empty database."""
    url = create_database(postgres, f"cli_migrate_{os.getpid()}", migrated=False)
    result = run(["migrate"], clean_env(DATABASE_URL=url, JWT_SECRET="j" * 40, DATA_DIR=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert "database migrated to head" in result.stdout


async def test_create_moderator_and_promote(http: httpx.AsyncClient, database_url: str, tmp_path: Path) -> None:
    """create-moderator makes an account with the moderator role; --promote upgrades an existing user."""
    env = clean_env(DATABASE_URL=database_url, JWT_SECRET="j" * 40, DATA_DIR=str(tmp_path), BCRYPT_COST="4")
    email = new_email()
    created = run(["create-moderator", email, "-"], env, stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    login = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200 and login.json()["user"]["role"] == "moderator"
    again = run(["create-moderator", email, PASSWORD], env)
    assert again.returncode == 1 and re.search(r"already exists.*--promote", again.stderr)

    user_email = new_email()
    resp = await http.post("/v1/auth/signup", json={"email": user_email, "password": PASSWORD,
                                                    "display_name": "U", "birthdate": "1990-01-01"})
    assert resp.json()["user"]["role"] == "user"
    promoted = run(["create-moderator", user_email, "ignored-password", "--promote"], env)
    assert promoted.returncode == 0, promoted.stderr
    login = await http.post("/v1/auth/login", json={"email": user_email, "password": PASSWORD})
    assert login.json()["user"]["role"] == "moderator"


def test_the_server_command_has_no_benchmarks() -> None:
    """Benchmarks are tooling outside the server package (`python -m bench`): `delete-api bench` is no command."""
    result = run(["bench", "--help"], clean_env())
    assert result.returncode == 2 and "invalid choice: 'bench'" in result.stderr


@pytest.mark.parametrize("benchmark", [[], ["realtime"], ["discovery"], ["load"], ["roundtrips"]])
def test_every_benchmark_has_help(benchmark: list[str]) -> None:
    """`python -m bench [BENCHMARK] --help` explains itself and exits 0."""
    result = subprocess.run([sys.executable, "-m", "bench", *benchmark, "--help"], env=clean_env(),
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0 and "usage: python -m bench" in result.stdout
