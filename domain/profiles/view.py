"""What a user sees of their own profile (the contract's ``user`` object)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.models import User
from domain.profiles.age import age_on
from domain.wire import objects as wire
from domain.wire.scalars import rfc3339


def full_profile(user: User, *, photos: list[wire.Photo], prompts: list[wire.PromptAnswer], badges: list[str],
                 quiz: dict[str, int] | None, discoverable: bool, today: date | None = None) -> wire.User:
    """The caller's own full profile (``me.get`` / ``me.update``), ``id`` included, never the password hash."""
    today = today or datetime.now(UTC).date()
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "birthdate": user.birthdate.isoformat(),
        "age": age_on(user.birthdate, today),
        "bio": user.bio,
        "gender": user.gender,
        "email_verified": user.email_verified,
        "interested_in": list(user.interested_in or []),
        "age_min": user.age_min,
        "age_max": user.age_max,
        "max_distance_km": user.max_distance_km,
        # the users_location_pair CHECK keeps lat and lon both set or both null
        "location": {"lat": user.lat, "lon": user.lon} if user.lat is not None and user.lon is not None else None,
        "role": user.role,
        "status": user.status,
        "created_at": rfc3339(user.created_at),
        "photos": photos,
        "prompts": prompts,
        "badges": badges,
        "quiz": quiz,
        "discoverable": discoverable,
    }
