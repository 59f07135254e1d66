"""``REDIS_URL=redis+cluster://...``: how a Redis Cluster is named (pure; no cluster needed)."""

from __future__ import annotations

import pytest

from delete_api.settings import Settings, SettingsError
from infra.redis_cluster import parse_cluster_url


def test_a_cluster_url_names_its_seed_nodes_and_credentials() -> None:
    url = parse_cluster_url("redis+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002")
    assert url is not None
    assert url.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 7001), ("::1", 7002))
    assert (url.username, url.password) == ("app", "s@cret")
    password_only = parse_cluster_url("redis+cluster://:pw@h:1")
    assert password_only is not None and (password_only.username, password_only.password) == (None, "pw")


def test_other_urls_are_one_redis() -> None:
    assert parse_cluster_url("redis://h:6379/0") is None
    assert parse_cluster_url("unix:///tmp/redis.sock") is None


@pytest.mark.parametrize("url", ["redis+cluster://", "redis+cluster://host-without-port", "redis+cluster://h:x"])
def test_a_cluster_url_without_host_and_port_is_refused_at_start(url: str) -> None:
    with pytest.raises(SettingsError, match="REDIS_URL"):
        Settings.from_env({"REDIS_URL": url})


def test_settings_accept_a_cluster_url() -> None:
    settings = Settings.from_env({"REDIS_URL": "redis+cluster://127.0.0.1:7000,127.0.0.1:7001"})
    assert settings.redis_url is not None
