"""The discovery benchmark's bulk seed: ``delete-api seed``'s people, a million in minutes.

The same generator (``delete_api.seed.generate``, same seed, same people) and the
same rows (users, photos, prompt answers, quiz responses, traits, badges; photo
rows without files), written faster for a throwaway database:

- the GiST indexes of discovery and distance are dropped during the load and
  built once at the end (a million index insertions cost more than one build);
  the HNSW index on ``user_traits`` (0001, for compatibility searches) is
  dropped and not rebuilt: no discovery query reads it, and at a million people
  it alone would take longer to build than the whole seed;
- the rows of other tables go in with ``session_replication_role = replica``:
  no foreign-key checks (the rows are generated consistent) and none of the
  statement triggers that keep ``users.photo_count``, ``prompt_count`` and
  ``traits`` (migration 0004): the users rows carry those values from the
  start, so no users row is written twice. The users rows go in with every
  trigger on: they snap locations to cells (0005) and set ``rank_bound`` (0012)
  exactly as for any other writer;
- one binary COPY (asyncpg's ``copy_records_to_table``) per table for every
  ``CHUNK`` people, in one transaction.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from delete_api.seed import PoolPhoto, Profile, generate, make_pool
from domain.auth.passwords import PasswordHasher
from domain.compatibility.scoring import badges, vector
from domain.models.users import DISCOVERY_INDEXES
from domain.photos.storage import new_key

CHUNK = 25_000
# built once after the load: each costs far more per row inserted than per row built
LATE_INDEXES = (*DISCOVERY_INDEXES, "ix_users_earth")
# dropped for good: discovery never reads it, and building it for a million people takes longer than the rest
SKIPPED_INDEXES = ("ix_user_traits_traits_l1",)
USER_COLUMNS = ("id", "email", "password_hash", "display_name", "birthdate", "bio", "gender", "interested_in",
                "age_min", "age_max", "max_distance_km", "lat", "lon", "role", "status", "suspended_until",
                "last_active_at", "created_at", "updated_at", "deleted_at", "photo_count", "prompt_count", "traits")


def _traits(p: Profile) -> list[float] | None:
    return None if p.answers is None else vector(p.answers)


def _rows(people: Sequence[Profile], password_hash: str, pool: Sequence[PoolPhoto],
          rng: random.Random) -> dict[str, list[tuple[object, ...]]]:
    rows: dict[str, list[tuple[object, ...]]] = {t: [] for t in (
        "users", "photos", "prompt_answers", "quiz_responses", "user_traits", "user_badges")}
    for p in people:
        traits = _traits(p)
        rows["users"].append((p.id, p.email, password_hash, p.display_name, p.birthdate, p.bio, p.gender,
                              p.interested_in, p.age_min, p.age_max, p.max_distance_km, p.lat, p.lon, "user",
                              p.status, p.suspended_until, p.last_active_at, p.created_at, p.last_active_at,
                              p.deleted_at, p.photos, len(p.prompts), traits))
        for position, source in enumerate(rng.sample(list(pool), p.photos)):
            rows["photos"].append((uuid.UUID(int=rng.getrandbits(128), version=4), p.id, position, new_key(".jpg"),
                                   new_key(".jpg"), source.width, source.height, p.created_at))
        rows["prompt_answers"].extend((p.id, pid, answer, p.created_at, p.created_at) for pid, answer in p.prompts)
        if p.answers is not None:
            rows["quiz_responses"].append((p.id, json.dumps(p.answers), p.created_at))
            rows["user_traits"].append((p.id, traits, p.created_at))
            rows["user_badges"].extend((p.id, badge, p.created_at) for badge in badges(p.answers))
    return rows


COLUMNS: dict[str, tuple[str, ...]] = {
    "users": USER_COLUMNS,
    "photos": ("id", "user_id", "position", "storage_key", "thumb_key", "width", "height", "created_at"),
    "prompt_answers": ("user_id", "prompt_id", "answer", "created_at", "updated_at"),
    "quiz_responses": ("user_id", "answers", "submitted_at"),
    "user_traits": ("user_id", "traits", "updated_at"),
    "user_badges": ("user_id", "badge", "awarded_at"),
}


async def bulk_seed(url: str, count: int, *, seed: int, progress: Callable[[str], None],
                    now: datetime | None = None) -> float:
    """Insert ``count`` demo people into the migrated, empty database at ``url``; the seconds it took."""
    import asyncpg

    started = time.monotonic()
    now = now or datetime.now(UTC)
    from pgvector.asyncpg import register_vector

    conn = await asyncpg.connect(url)
    try:
        await register_vector(conn)
        await conn.set_type_codec("citext", schema="public", encoder=str.encode, decoder=bytes.decode,
                                  format="binary")  # its binary form is its UTF-8 text, as for text
        prompt_ids = [r["id"] for r in await conn.fetch("SELECT id FROM prompts ORDER BY position")]
        rng = random.Random(f"{seed}:0")
        password_hash = await PasswordHasher(4).hash("delete-demo-password")
        pool = await make_pool(None, rng)
        definitions = [r["indexdef"] for r in await conn.fetch(
            "SELECT indexdef FROM pg_indexes WHERE indexname = ANY($1::text[])", list(LATE_INDEXES))]
        for index in (*LATE_INDEXES, *SKIPPED_INDEXES):
            await conn.execute(f"DROP INDEX IF EXISTS {index}")
        done = 0
        while done < count:
            people = generate(rng, min(CHUNK, count - done), done, prompt_ids, now)
            rows = _rows(people, password_hash, pool, rng)
            async with conn.transaction():
                for table, table_rows in rows.items():
                    if table != "users":
                        await conn.execute("SET LOCAL session_replication_role = replica")
                    await conn.copy_records_to_table(table, records=table_rows, columns=COLUMNS[table])
            done += len(people)
            progress(f"{done}/{count} users ({time.monotonic() - started:.1f}s)")
        progress(f"building {len(definitions)} indexes ({time.monotonic() - started:.1f}s)")
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for definition in definitions:
            await conn.execute(definition)
    finally:
        await conn.close()
    return time.monotonic() - started


def describe() -> dict[str, Any]:
    """How the benchmark seeded, for its JSON document."""
    return {"generator": "delete_api.seed.generate", "chunk": CHUNK,
            "indexes_built_after_load": list(LATE_INDEXES), "indexes_not_built": list(SKIPPED_INDEXES),
            "without_triggers_or_foreign_key_checks": [t for t in COLUMNS if t != "users"]}
