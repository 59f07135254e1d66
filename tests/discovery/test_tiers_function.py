"""A batch's tier queries run in ``delete_discovery_tiers``: the function the database runs is the one the code
builds around its batch query (the migration holds a copy), and every parameter of that query is an argument
or a variable of the loop. What it returns is compared with the one query over everyone in ``test_scale.py``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from domain.discovery import repository, tiers_function
from tests.social.support import scalar
from tests.support.migrations import migrations_naming


def test_the_newest_migration_creates_the_function_the_code_builds() -> None:
    definitions = [m.DEFINITION for m in migrations_naming(tiers_function.NAME) if hasattr(m, "DEFINITION")]
    assert definitions, "no migration creates the tiers function"
    assert definitions[-1] == tiers_function.definition(repository.BATCH_RAW, repository.BAND_BATCH_RAW), (
        "the batch query changed: add a migration that runs "
        "domain.discovery.tiers_function.definition(repository.BATCH_RAW, repository.BAND_BATCH_RAW)")


async def test_the_database_runs_the_body_the_code_builds(engine: AsyncEngine) -> None:
    body = await scalar(engine, "SELECT prosrc FROM pg_proc WHERE proname = :name", name=tiers_function.NAME)
    assert body == tiers_function.body(repository.BATCH_RAW, repository.BAND_BATCH_RAW)


def test_the_loop_reads_the_batch_query_with_every_parameter_named() -> None:
    body = tiers_function.body(repository.BATCH_RAW, repository.BAND_BATCH_RAW)
    assert "$" not in body and "p_viewer_id" in body and "v_floor" in body and "v_min_l1" in body
