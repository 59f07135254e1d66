"""Configuration: defaults, one-line failures, secrets that never print, database URL forms."""

from __future__ import annotations

import pytest

from delete_api.settings import Secret, Settings, SettingsError, to_asyncpg_url

SECRET = "s3cr3t-" + "k" * 40


def test_defaults_match_the_contract() -> None:
    """Unset, tokens last 30 min / 7 days, HS256, bcrypt cost 12."""
    s = Settings.from_env({})
    assert (s.access_token_ttl_s, s.refresh_token_ttl_s, s.jwt_algorithm, s.bcrypt_cost) == (
        1800, 604800, "HS256", 12)
    assert s.embedded_database and s.embedded_redis and s.jwt_secret is None


def test_secrets_never_show_in_repr() -> None:
    """Neither the JWT secret nor database passwords appear in the settings' repr."""
    s = Settings.from_env({"DATABASE_URL": "postgresql://app:hunter2pass@db:5432/app", "JWT_SECRET": SECRET,
                           "REDIS_URL": "redis://:redispass@r:6379/0"})
    text = repr(s) + str(s)
    assert SECRET not in text and "hunter2pass" not in text and "redispass" not in text
    assert s.jwt_secret is not None and s.jwt_secret.reveal() == SECRET
    assert "k" * 10 not in str(Secret(SECRET))


@pytest.mark.parametrize(("env", "variable"), [
    ({"DATABASE_URL": "mysql://x/y", "JWT_SECRET": SECRET}, "DATABASE_URL"),
    ({"DATABASE_URL": "postgresql://u:p@h:5432/db"}, "JWT_SECRET"),
    ({"JWT_SECRET": "short"}, "JWT_SECRET"),
    ({"BCRYPT_COST": "99"}, "BCRYPT_COST"),
    ({"BCRYPT_COST": "twelve"}, "BCRYPT_COST"),
    ({"JWT_ALGORITHM": "none"}, "JWT_ALGORITHM"),
    ({"JWT_ALGORITHM": "RS256"}, "JWT_ALGORITHM"),
    ({"REDIS_URL": "http://r"}, "REDIS_URL"),
    ({"ALLOWED_ORIGINS": "example.com"}, "ALLOWED_ORIGINS"),
    ({"PORT": "70000"}, "PORT"),
    ({"ACCESS_TOKEN_TTL_S": "-5"}, "ACCESS_TOKEN_TTL_S"),
    ({"PUBLIC_BASE_URL": "ftp://x"}, "PUBLIC_BASE_URL"),
    ({"HEADER_TIMEOUT_S": "0"}, "HEADER_TIMEOUT_S"),
    ({"HEADER_TIMEOUT_S": "2.5"}, "HEADER_TIMEOUT_S"),
])
def test_bad_settings_fail_with_one_line_naming_the_variable(env: dict[str, str], variable: str) -> None:
    """Each bad value raises one line that names its variable."""
    with pytest.raises(SettingsError) as info:
        Settings.from_env(env)
    assert variable in str(info.value) and "\n" not in str(info.value)


def test_allowed_origins_are_parsed_into_a_list() -> None:
    """ALLOWED_ORIGINS is a comma-separated list; trailing slashes and spaces are ignored."""
    s = Settings.from_env({"ALLOWED_ORIGINS": "https://app.example.com/, http://localhost:3000"})
    assert s.allowed_origins == ("https://app.example.com", "http://localhost:3000")


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://u:p@db.railway.internal:5432/railway",
     "postgresql+asyncpg://u:p@db.railway.internal:5432/railway"),
    ("postgres://u:p@h:6543/app", "postgresql+asyncpg://u:p@h:6543/app"),
    ("postgresql://postgres@/delete?host=/tmp/pg&port=5432", "postgresql+asyncpg://postgres@/delete?host=%2Ftmp%2Fpg&port=5432"),
    ("postgresql://u:p@h/app?sslmode=require", "postgresql+asyncpg://u:p@h/app?ssl=require"),
    ("postgresql+asyncpg://u:p@h/app", "postgresql+asyncpg://u:p@h/app"),
])
def test_host_style_database_urls_are_accepted(url: str, expected: str) -> None:
    """Plain postgresql:// URLs (TCP, unix socket, sslmode) become asyncpg URLs."""
    assert to_asyncpg_url(url) == expected


@pytest.mark.parametrize("url", ["postgresql://u:p@h:5432/", "postgresql:///app"])
def test_database_urls_without_database_or_host_fail(url: str) -> None:
    """A URL with no database name, or no host and no socket directory, is refused at start."""
    with pytest.raises(SettingsError):
        to_asyncpg_url(url)
