"""``DATABASE_READ_URL``: optional, checked like ``DATABASE_URL`` and never quoted, only beside it."""

from __future__ import annotations

import pytest

from delete_api.settings import Secret, Settings, SettingsError

SECRET = "s" * 40
PRIMARY = "postgresql://app:pw@db:5432/app"


def test_unset_means_every_read_on_the_primary() -> None:
    assert Settings.from_env({"DATABASE_URL": PRIMARY, "JWT_SECRET": SECRET}).database_read_url is None


def test_a_replica_url_is_kept_secret() -> None:
    url = "postgresql://app:hunter2pass@replica:5432/app"
    settings = Settings.from_env({"DATABASE_URL": PRIMARY, "JWT_SECRET": SECRET, "DATABASE_READ_URL": url})
    assert settings.database_read_url == Secret(url)
    assert "hunter2pass" not in repr(settings)


@pytest.mark.parametrize(("env", "message"), [
    ({"DATABASE_URL": PRIMARY, "DATABASE_READ_URL": "mysql://u:secretpw@h/db"}, "DATABASE_READ_URL must start"),
    ({"DATABASE_URL": PRIMARY, "DATABASE_READ_URL": "postgresql://u:secretpw@h:5432"}, "DATABASE_READ_URL must name"),
    ({"DATABASE_READ_URL": "postgresql://u:secretpw@h:5432/db"}, "DATABASE_READ_URL needs DATABASE_URL"),
])
def test_a_bad_replica_url_is_one_line_naming_it(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"JWT_SECRET": SECRET, **env})
    assert str(refused.value).startswith(message) and "secretpw" not in str(refused.value)
