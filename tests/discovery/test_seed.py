"""``delete-api seed`` and ``python -m bench discovery`` on databases of their own (never the shared test one)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

import asyncpg
import pytest

from bench import discovery as discovery_bench
from delete_api.cli import main
from delete_api.database import make_sessionmaker
from delete_api.seed import DEMO_PASSWORD, EMAIL_DOMAIN, seed
from delete_api.settings import Secret, Settings
from domain.auth.passwords import PasswordHasher
from domain.discovery import service as discovery
from domain.photos.storage import LocalMediaStorage
from tests.support.pg import PostgresHandle, create_database, fresh_name, pooled_engine
from tests.support.settings import TEST_JWT_SECRET


async def fresh_database(postgres: PostgresHandle, prefix: str) -> str:
    """A new, migrated database on the suite's server."""
    return await asyncio.to_thread(create_database, postgres, fresh_name(prefix))


async def test_seed_makes_varied_profiles_that_discover_each_other(postgres: PostgresHandle,
                                                                   tmp_path: Path) -> None:
    """Seeded people are varied, complete enough to log in and discover, and share a small photo pool."""
    url = await fresh_database(postgres, "delete_seed")
    storage = LocalMediaStorage(tmp_path / "media", "http://127.0.0.1:9")
    messages: list[str] = []
    result = await seed(url, 300, seed=7, storage=storage, bcrypt_cost=4, progress=messages.append)
    assert result.users == 300 and result.photos > 300 and len(result.logins) == 5
    conn = await asyncpg.connect(url)
    try:
        users = await conn.fetch("SELECT * FROM users")
        photos = await conn.fetch("SELECT storage_key, thumb_key, user_id FROM photos")
        traits = await conn.fetchval("SELECT count(*) FROM user_traits")
        badges = await conn.fetchval("SELECT count(*) FROM user_badges")
        prompts = await conn.fetch("SELECT user_id, count(*) AS n FROM prompt_answers GROUP BY user_id")
        ages = await conn.fetch("SELECT date_part('year', age(birthdate))::int AS age FROM users")
    finally:
        await conn.close()
    assert len(users) == 300 and all(u["email"].endswith("@" + EMAIL_DOMAIN) for u in users)
    assert {u["gender"] for u in users} == {"woman", "man", "nonbinary"}
    assert all(18 <= a["age"] <= 65 for a in ages) and len({a["age"] for a in ages}) > 20
    cities = {(round(u["lat"]), round(u["lon"])) for u in users if u["lat"] is not None}
    assert len(cities) >= 5  # scattered around several cities, a few km apart within each
    assert 200 < sum(u["status"] == "active" for u in users) < 300
    assert 200 < traits < 300 and badges > traits
    assert max(p["n"] for p in prompts) <= 3 and 0 < len(prompts) < 300
    assert sum(u["photo_count"] for u in users) == len(photos)  # the triggers counted the COPY
    inodes = {os.stat(storage.root / key).st_ino for p in photos for key in (p["storage_key"], p["thumb_key"])}
    assert len(inodes) <= 2 * 40 < len(photos)  # many photo rows, one pool of real files
    assert all(storage.path_for(p["storage_key"]) is not None for p in photos)
    assert await PasswordHasher(4).verify(DEMO_PASSWORD, users[0]["password_hash"])

    async with pooled_engine(url, pool_size=1) as engine:
        found = 0
        for person in result.logins:
            async with make_sessionmaker(engine)() as session:
                batch = await discovery.next_batch(session, storage, person.id, 10, ())
            found += len(batch.cards)
        assert found > 0


async def test_seed_command_prints_logins(postgres: PostgresHandle, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``delete-api seed --users N`` seeds the configured database and prints logins with the demo password."""
    url = await fresh_database(postgres, "delete_seed_cli")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("BCRYPT_COST", "4")
    assert await asyncio.to_thread(main, ["seed", "--users", "40", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "seeded 40 demo profiles" in out and DEMO_PASSWORD in out and f"@{EMAIL_DOMAIN}" in out


async def test_discovery_benchmark_prints_its_figures(postgres: PostgresHandle, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The benchmark seeds each size into its own database and prints p50/p95 with and without indexes."""
    admin = postgres.url("postgres")
    settings = Settings(database_url=Secret(admin), redis_url=None, jwt_secret=Secret(TEST_JWT_SECRET),
                        data_dir=tmp_path)
    args = argparse.Namespace(sizes=[150, 300], viewers=5, viewers_without=3, count=5, seed=2, data_dir=None,
                              keep=False, reuse=False, shared_buffers="128MB", json_out=str(tmp_path / "out.json"))
    assert await asyncio.to_thread(discovery_bench.run, args, settings) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == json.loads((tmp_path / "out.json").read_text())
    assert [r["users"] for r in document["results"]] == [150, 300]
    for result in document["results"]:
        for run in ("with_indexes", "without_indexes"):
            assert result[run]["p50_ms"] > 0 and result[run]["p95_ms"] >= result[run]["p50_ms"]
        assert result["shared_buffers"]  # the server's own setting (DATABASE_URL's server: the option is ignored)
    assert document["growth"]["users_ratio"] == 2
    assert any("ix_users_discovery" in line for line in document["explain_analyze_at_largest"])
