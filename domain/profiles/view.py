"""What a user sees of their own profile (the contract's ``user`` object)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from domain.models import User
from domain.profiles.age import age_on


def rfc3339(moment: datetime) -> str:
    """Format a timestamp as RFC 3339 UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def own_profile(user: User, today: date | None = None) -> dict[str, Any]:
    """The caller's own full profile, ``id`` included; never the password hash."""
    today = today or datetime.now(UTC).date()
    return {
        "id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "birthdate": user.birthdate.isoformat(),
        "age": age_on(user.birthdate, today),
        "bio": user.bio,
        "gender": user.gender,
        "interested_in": list(user.interested_in or []),
        "age_min": user.age_min,
        "age_max": user.age_max,
        "max_distance_km": user.max_distance_km,
        "location": {"lat": user.lat, "lon": user.lon} if user.lat is not None else None,
        "role": user.role,
        "status": user.status,
        "created_at": rfc3339(user.created_at),
    }


def full_profile(user: User, *, photos: list[dict[str, Any]], prompts: list[dict[str, str]], badges: list[str],
                 quiz: dict[str, int] | None, discoverable: bool, today: date | None = None) -> dict[str, Any]:
    """``own_profile`` plus what the user has added to it (the ``me.get`` / ``me.update`` ``user``)."""
    return {**own_profile(user, today), "photos": photos, "prompts": prompts, "badges": badges, "quiz": quiz,
            "discoverable": discoverable}
