"""Settings of the servers the tests start: a known JWT secret, fast bcrypt, a Redis key prefix of their own."""

from __future__ import annotations

from pathlib import Path

from delete_api.resources import random_prefix
from delete_api.settings import Secret, Settings

TEST_JWT_SECRET = "test-secret-" + "x" * 60  # 72 bytes: long enough for HS512 too


def make_settings(database_url: str, redis_url: str, media_dir: Path, **overrides: object) -> Settings:
    """Settings for a test server: fast bcrypt, its own Redis key prefix, media folder and data folder."""
    values: dict[str, object] = {
        "database_url": Secret(database_url),
        "redis_url": Secret(redis_url),
        "jwt_secret": Secret(TEST_JWT_SECRET),
        "bcrypt_cost": 4,
        "media_dir": media_dir,
        # beside the media folder, never the repository's ./.data: the mails signup sends land in <data_dir>/mail
        "data_dir": media_dir.parent / f"{media_dir.name}-data",
        "extra": {"redis_prefix": random_prefix()},
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]  # the overrides are Settings fields, typed by each caller
