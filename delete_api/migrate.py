"""Apply Alembic migrations programmatically (``delete-api migrate`` and the embedded ``serve``)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from delete_api.settings import to_asyncpg_url

log = logging.getLogger("delete_api.migrate")

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at our migrations and ``database_url`` (plain postgresql:// form).

    The migrations' environment gets the URL in SQLAlchemy's asyncpg form, so it needs nothing of ours.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = to_asyncpg_url(database_url)
    return config


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Upgrade the database to ``revision`` (by default every head: the same as ``head`` for a linear history,
    and still complete while revisions written side by side wait to be chained)."""
    log.info("applying migrations up to %s", revision)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Downgrade the database to ``revision`` (``base`` empties it)."""
    command.downgrade(alembic_config(database_url), revision)
