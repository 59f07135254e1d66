"""``delete-api seed``: realistic, varied demo profiles, written with bulk COPY.

The people themselves (names, cities, ages, preferences, bios, prompt answers,
quiz answers, the deliberately incomplete or moderated few) come from
``delete_api.demo_people``; this module gives them photos from a pool of
generated JPEGs (coloured gradients with initials) and writes them, and is the
``seed`` command.

Everything comes from one seeded ``random.Random``, so the same seed on the
same database state gives the same people. Rows go in with ``COPY`` in batches
(one transaction per batch). Photo rows need unique storage keys, so each one
is a hard link to a pool file in the media directory (no image bytes are
copied); the benchmark passes ``storage=None`` and gets rows without files.
Every seeded account shares ``DEMO_PASSWORD``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from delete_api.demo_people import EMAIL_DOMAIN as EMAIL_DOMAIN
from delete_api.demo_people import Profile as Profile
from delete_api.demo_people import generate as generate
from domain.auth.passwords import PasswordHasher
from domain.compatibility.scoring import badges, vector
from domain.photos.storage import LocalMediaStorage, new_key

if TYPE_CHECKING:  # the CLI builds its parser from this module: asyncpg loads when seeding
    import asyncpg

    from delete_api.settings import Settings

DEMO_PASSWORD = "delete-demo-password"
BATCH_SIZE = 2_000
POOL_SIZE = 40
PHOTO_SIZE = (600, 750)
THUMB_SIZE = (320, 400)

PALETTE = ((231, 111, 81), (244, 162, 97), (233, 196, 106), (42, 157, 143), (38, 70, 83), (106, 76, 147),
           (25, 130, 196), (138, 201, 38), (255, 89, 94), (255, 202, 58), (97, 61, 193), (8, 126, 139))


@dataclass(frozen=True)
class PoolPhoto:
    key: str
    thumb_key: str
    width: int
    height: int


@dataclass
class SeedResult:
    users: int
    photos: int
    seconds: float
    logins: list[Profile]


# -- photos ------------------------------------------------------------------------

def _render(index: int, rng: random.Random) -> tuple[bytes, bytes]:
    from PIL import Image, ImageDraw, ImageFont

    top, bottom = rng.sample(PALETTE, 2)
    mask = Image.linear_gradient("L").resize(PHOTO_SIZE)
    image = Image.composite(Image.new("RGB", PHOTO_SIZE, bottom), Image.new("RGB", PHOTO_SIZE, top), mask)
    letters = "ABCDEFGHIJKLMNOPRSTVZ"
    initials = rng.choice(letters) + rng.choice(letters)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=220)
    draw.text((PHOTO_SIZE[0] / 2, PHOTO_SIZE[1] / 2), initials, fill=(255, 255, 255), font=font, anchor="mm",
              stroke_width=4, stroke_fill=(0, 0, 0))
    draw.text((20, PHOTO_SIZE[1] - 40), f"demo #{index + 1}", fill=(255, 255, 255), font=ImageFont.load_default(18))
    full, thumb = io.BytesIO(), io.BytesIO()
    image.save(full, "JPEG", quality=85)
    image.resize(THUMB_SIZE).save(thumb, "JPEG", quality=80)
    return full.getvalue(), thumb.getvalue()


async def make_pool(storage: LocalMediaStorage | None, rng: random.Random, size: int = POOL_SIZE) -> list[PoolPhoto]:
    """The shared photo pool: ``size`` JPEGs stored through ``storage`` (keys only when it is None)."""
    pool = []
    for index in range(size):
        photo = PoolPhoto(new_key(".jpg"), new_key(".jpg"), *PHOTO_SIZE)
        if storage is not None:
            full, thumb = await asyncio.to_thread(_render, index, random.Random(rng.getrandbits(64)))
            await storage.put(photo.key, full, "image/jpeg")
            await storage.put(photo.thumb_key, thumb, "image/jpeg")
        pool.append(photo)
    return pool


def _link(storage: LocalMediaStorage, source_key: str) -> str:
    """A new key for the same bytes: a hard link (a copy where links are not possible)."""
    key = new_key(".jpg")
    source, target = storage.root / source_key, storage.root / key
    try:
        os.link(source, target)
    except OSError:
        target.write_bytes(source.read_bytes())
    return key


# -- COPY ------------------------------------------------------------------------------

def _cell(value: object) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return r"\N"
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, (tuple, list)):
        text = "{" + ",".join(str(v) for v in value) + "}"
    elif isinstance(value, dict):
        text = json.dumps(value)
    else:
        text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _tsv(rows: Iterable[Sequence[object]]) -> io.BytesIO:
    return io.BytesIO("".join("\t".join(_cell(v) for v in row) + "\n" for row in rows).encode())


USER_COLUMNS = ("id", "email", "password_hash", "display_name", "birthdate", "bio", "gender", "interested_in",
                "age_min", "age_max", "max_distance_km", "lat", "lon", "role", "status", "suspended_until",
                "last_active_at", "created_at", "updated_at", "deleted_at")


async def _write_batch(conn: asyncpg.Connection, people: Sequence[Profile], password_hash: str,
                       pool: Sequence[PoolPhoto], storage: LocalMediaStorage | None, rng: random.Random,
                       now: datetime) -> int:
    users: list[tuple[object, ...]] = []
    photos: list[tuple[object, ...]] = []
    prompts: list[tuple[object, ...]] = []
    quizzes: list[tuple[object, ...]] = []
    traits: list[tuple[object, ...]] = []
    user_badges: list[tuple[object, ...]] = []
    for p in people:
        users.append((p.id, p.email, password_hash, p.display_name, p.birthdate, p.bio, p.gender, p.interested_in,
                      p.age_min, p.age_max, p.max_distance_km, p.lat, p.lon, "user", p.status, p.suspended_until,
                      p.last_active_at, p.created_at, p.last_active_at, p.deleted_at))
        for position, source in enumerate(rng.sample(list(pool), p.photos)):
            if storage is not None:
                key, thumb = _link(storage, source.key), _link(storage, source.thumb_key)
            else:
                key, thumb = new_key(".jpg"), new_key(".jpg")
            photos.append((uuid.UUID(int=rng.getrandbits(128), version=4), p.id, position, key, thumb,
                           source.width, source.height, p.created_at))
        prompts.extend((p.id, pid, answer, p.created_at, p.created_at) for pid, answer in p.prompts)
        if p.answers is not None:
            quizzes.append((p.id, p.answers, p.created_at))
            traits.append((p.id, "[" + ",".join(f"{v:g}" for v in vector(p.answers)) + "]", p.created_at))
            user_badges.extend((p.id, badge, p.created_at) for badge in badges(p.answers))
    async with conn.transaction():
        await conn.copy_to_table("users", source=_tsv(users), columns=USER_COLUMNS, format="text")
        await conn.copy_to_table("photos", source=_tsv(photos), format="text", columns=(
            "id", "user_id", "position", "storage_key", "thumb_key", "width", "height", "created_at"))
        await conn.copy_to_table("prompt_answers", source=_tsv(prompts), format="text",
                                 columns=("user_id", "prompt_id", "answer", "created_at", "updated_at"))
        await conn.copy_to_table("quiz_responses", source=_tsv(quizzes), format="text",
                                 columns=("user_id", "answers", "submitted_at"))
        await conn.copy_to_table("user_traits", source=_tsv(traits), format="text",
                                 columns=("user_id", "traits", "updated_at"))
        await conn.copy_to_table("user_badges", source=_tsv(user_badges), format="text",
                                 columns=("user_id", "badge", "awarded_at"))
    return len(photos)


def stderr_progress(message: str) -> None:
    print(f"[seed] {message}", file=sys.stderr, flush=True)


async def seed(database_url: str, count: int, *, seed: int = 0, storage: LocalMediaStorage | None,
               bcrypt_cost: int = 12, progress: Callable[[str], None] = stderr_progress,
               now: datetime | None = None) -> SeedResult:
    """Insert ``count`` demo profiles into the migrated database at ``database_url``."""
    import asyncpg

    started = time.monotonic()
    now = now or datetime.now(UTC)
    conn = await asyncpg.connect(database_url)
    try:
        prompt_ids = [r["id"] for r in await conn.fetch("SELECT id FROM prompts ORDER BY position")]
        start = int(await conn.fetchval("SELECT count(*) FROM users WHERE email LIKE $1", f"%@{EMAIL_DOMAIN}"))
        rng = random.Random(f"{seed}:{start}")
        password_hash = await PasswordHasher(bcrypt_cost).hash(DEMO_PASSWORD)
        if storage is not None:
            storage.root.mkdir(parents=True, exist_ok=True)
        pool = await make_pool(storage, rng)
        logins: list[Profile] = []
        photos = done = 0
        while done < count:
            people = generate(rng, min(BATCH_SIZE, count - done), start + done, prompt_ids, now)
            photos += await _write_batch(conn, people, password_hash, pool, storage, rng, now)
            logins.extend(p for p in people if p.complete and len(logins) < 5)
            done += len(people)
            if count >= BATCH_SIZE:
                progress(f"{done}/{count} users ({time.monotonic() - started:.1f}s)")
        progress("analyzing")
        await conn.execute("ANALYZE users, photos, prompt_answers, quiz_responses, user_traits, user_badges")
    finally:
        await conn.close()
    return SeedResult(users=count, photos=photos, seconds=time.monotonic() - started, logins=logins)


# -- the command ------------------------------------------------------------------------

def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    """``delete-api seed``: migrate the embedded database if need be, seed, print a few logins."""
    from delete_api import migrate
    from delete_api.embedded.stack import embedded_stack

    with embedded_stack(settings, redis=False) as resolved:
        assert resolved.database_url is not None
        if settings.embedded_database:
            migrate.upgrade(resolved.database_url.reveal())
        storage = LocalMediaStorage(resolved.media_path, resolved.public_base_url)
        result = asyncio.run(seed(resolved.database_url.reveal(), args.users, seed=args.seed, storage=storage,
                                  bcrypt_cost=resolved.bcrypt_cost))
    print(f"seeded {result.users} demo profiles with {result.photos} photos in {result.seconds:.1f}s")
    if result.logins:
        print(f"log in as any of them with the password {DEMO_PASSWORD!r}, for example:")
        for person in result.logins:
            print(f"  {person.email:<40} {person.display_name}, {person.gender}, {person.city}")
    return 0


def _count(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"must be 1 to 1000000, got {raw}")
    return value


def add_parser(sub: Any) -> None:
    """Register ``seed`` on the CLI's subcommands."""
    parser = sub.add_parser(
        "seed", help="create demo profiles (bulk insert)",
        description="Create N realistic demo profiles around a few cities (names, ages 18-65, preferences, quiz, "
                    "prompts, generated photos stored in MEDIA_DIR, varied activity), in batches with COPY. "
                    "Uses DATABASE_URL or the embedded database (migrated first). Progress goes to standard "
                    f"error; a few logins are printed at the end (password {DEMO_PASSWORD!r}).")
    parser.add_argument("--users", type=_count, required=True, help="how many profiles to create")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0): same seed, same people")
    parser.set_defaults(handler=cmd_seed)
