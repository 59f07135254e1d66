"""Fill in what the environment left unset: embedded PostgreSQL, embedded Redis, a dev JWT secret."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from delete_api.embedded.postgres import EmbeddedPostgres
from delete_api.embedded.redis import EmbeddedRedis
from delete_api.settings import Settings

log = logging.getLogger("delete_api.embedded")

DATABASE_NAME = "delete"


def development_secret(data_dir: Path) -> str:
    """Read or create the local development JWT secret (mode 0600)."""
    path = data_dir / "jwt_secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret


@contextmanager
def embedded_stack(settings: Settings, *, redis: bool = True) -> Iterator[Settings]:
    """Start what is missing, yield settings with every URL set, stop what was started."""
    postgres: EmbeddedPostgres | None = None
    redis_server: EmbeddedRedis | None = None
    database_url = redis_url = jwt_secret = None
    try:
        if settings.embedded_database:
            postgres = EmbeddedPostgres(settings.data_dir / "postgres")
            postgres.start()
            postgres.ensure_database(DATABASE_NAME)
            database_url = postgres.url(DATABASE_NAME)
        if redis and settings.embedded_redis:
            redis_server = EmbeddedRedis(settings.data_dir / "redis")
            redis_server.start()
            redis_url = redis_server.url
        if settings.jwt_secret is None:
            jwt_secret = development_secret(settings.data_dir)
            log.warning("JWT_SECRET is not set: using a development secret kept in %s. "
                        "Set JWT_SECRET in production.", settings.data_dir / "jwt_secret")
        yield settings.with_urls(database_url=database_url, redis_url=redis_url, jwt_secret=jwt_secret)
    finally:
        if redis_server is not None:
            redis_server.stop()
        if postgres is not None:
            postgres.stop()
