"""Complete profiles straight into the database, with a working access token (fast test set-up).

Domain tests need many people with photos, a quiz and preferences; making them
through REST and the socket would spend most of the suite on bcrypt and round
trips. The rows written here are the same ones the services write.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.auth import tokens
from domain.auth.passwords import hash_sync
from domain.compatibility.scoring import badges, vector
from domain.compatibility.traits import TRAIT_KEYS
from domain.models import Photo, QuizResponse, TokenFamily, User, UserBadge, UserTrait
from tests.support.settings import TEST_JWT_SECRET
from tests.support.users import PASSWORD

TOKEN_CONFIG = tokens.TokenConfig(secret=TEST_JWT_SECRET)
_HASH: list[str] = []


def _password_hash() -> str:
    """The same hash the service stores for PASSWORD (cost 4), so factory users can log in over REST."""
    if not _HASH:
        _HASH.append(hash_sync(PASSWORD, 4))
    return _HASH[0]


@dataclass(frozen=True)
class Person:
    """A user made by the factory."""

    id: uuid.UUID
    email: str
    token: str

    @property
    def key(self) -> str:
        return str(self.id)


def birthdate_for(age: int) -> date:
    today = datetime.now(UTC).date()
    return date(today.year - age - 1, 12, 31) if (today.month, today.day) < (12, 31) else date(today.year - age, 1, 1)


async def make_person(engine: AsyncEngine, *, name: str = "Sam", age: int = 30, gender: str | None = "woman",
                      interested_in: tuple[str, ...] = ("man", "woman", "nonbinary"),
                      age_min: int = 18, age_max: int = 99, max_distance_km: int = 100,
                      location: tuple[float, float] | None = (52.52, 13.405),
                      answers: dict[str, int] | None = None, photos: int = 1, role: str = "user",
                      status: str = "active", created_at: datetime | None = None,
                      last_active_at: datetime | None = None) -> Person:
    """Insert one user (complete by default: a photo and a quiz) and mint an access token."""
    user_id = uuid.uuid4()
    email = f"f{secrets.token_hex(6)}@example.test"
    family_id = uuid.uuid4()
    values: dict[str, object] = {
        "id": user_id, "email": email, "password_hash": _password_hash(), "display_name": name,
        "birthdate": birthdate_for(age), "gender": gender, "interested_in": list(interested_in),
        "age_min": age_min, "age_max": age_max, "max_distance_km": max_distance_km,
        "lat": location[0] if location else None, "lon": location[1] if location else None,
        "role": role, "status": status,
    }
    if created_at is not None:
        values["created_at"] = created_at
    if last_active_at is not None:
        values["last_active_at"] = last_active_at
    async with engine.begin() as conn:
        await conn.execute(insert(User).values(**values))
        await conn.execute(insert(TokenFamily).values(id=family_id, user_id=user_id))
        for position in range(photos):
            await conn.execute(insert(Photo).values(
                id=uuid.uuid4(), user_id=user_id, position=position, storage_key=secrets.token_urlsafe(24) + ".jpg",
                thumb_key=secrets.token_urlsafe(24) + ".jpg", width=800, height=1000))
        if answers is None:
            answers = {key: 1 + (i + len(name)) % 5 for i, key in enumerate(TRAIT_KEYS)}
        if answers:
            await conn.execute(insert(QuizResponse).values(user_id=user_id, answers=answers))
            await conn.execute(insert(UserTrait).values(user_id=user_id, traits=vector(answers)))
            for badge in badges(answers):
                await conn.execute(insert(UserBadge).values(user_id=user_id, badge=badge))
    token, _ = tokens.issue(TOKEN_CONFIG, "access", user_id, family_id)
    return Person(user_id, email, token)


async def make_match(engine: AsyncEngine, a: Person, b: Person, *, state: str = "active",
                     matched_at: datetime | None = None, last_message_at: datetime | None = None) -> uuid.UUID:
    """Insert the match of a pair (one row per unordered pair) with both likes; return its id."""
    from domain.models import Like, Match

    match_id = uuid.uuid4()
    low, high = sorted((a.id, b.id))
    values: dict[str, object] = {"id": match_id, "user_a": low, "user_b": high, "state": state}
    if matched_at is not None:
        values["matched_at"] = matched_at
        values["state_changed_at"] = matched_at
    if last_message_at is not None:
        values["last_message_at"] = last_message_at
    async with engine.begin() as conn:
        await conn.execute(insert(Like).values(id=uuid.uuid4(), liker_id=a.id, likee_id=b.id))
        await conn.execute(insert(Like).values(id=uuid.uuid4(), liker_id=b.id, likee_id=a.id))
        await conn.execute(insert(Match).values(**values))
    return match_id
