"""Profile rules (pure): what ``me.update``, ``prompts.answer`` and ``quiz.submit`` accept, and who is discoverable.

Each ``check_*`` function returns the cleaned values or raises ``ValidationFailed``
whose ``details["fields"]`` names every offending field at once, so an app can
mark all of them in one round trip. No I/O here: the service loads what a rule
needs to compare with (the stored age bounds) and hands it in.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.compatibility.traits import TRAIT_KEYS, TRAITS
from domain.errors import ValidationFailed
from domain.location.grid import snap
from domain.models.profiles import MAX_ANSWER_CHARS
from domain.models.users import GENDERS
from domain.quoting import listed, quote
from domain.text import names
from domain.text.bidi import direction_problem

DISPLAY_NAME_MAX = names.MAX_CHARS
BIO_MAX = 500
AGE_MIN, AGE_MAX = 18, 99
DISTANCE_MIN_KM, DISTANCE_MAX_KM = 1, 500
QUIZ_MIN, QUIZ_MAX = 1, 5
MAX_PROMPTS = 3
ANSWER_MAX = MAX_ANSWER_CHARS

EDITABLE = ("display_name", "bio", "gender", "interested_in", "age_min", "age_max", "max_distance_km", "location")
READ_ONLY = ("id", "email", "birthdate", "age", "role", "status", "created_at", "updated_at", "last_active_at",
             "suspended_until", "deleted_at", "password", "password_hash", "photos", "prompts", "badges",
             "quiz", "discoverable", "email_verified")
NULLABLE = ("gender", "location")  # the profile shows these as null; null clears them
MULTILINE = "\n\t"  # the only control characters a bio or prompt answer may hold
BADGE_ORDER = {badge: i for i, t in enumerate(TRAITS) for badge in (t.low, t.high)}


def fail(fields: Mapping[str, str]) -> ValidationFailed:
    """One ``ValidationFailed`` naming every field of ``fields`` (the first 20 of a flood of them)."""
    shown = listed(fields)
    return ValidationFailed("; ".join(f"{name}: {reason}" for name, reason in shown.items()), {"fields": shown})


def _bad_character(text: str, allowed: str = "") -> str | None:
    """Why ``text`` cannot be stored, or None.

    Control characters (NUL would also be refused by PostgreSQL), line and
    paragraph separators, lone surrogates (not encodable as UTF-8) and the
    bidi embeddings, overrides and isolates that reorder what others see
    (``domain/text/bidi.py``) are refused; other format characters, such as
    the emoji zero-width joiner, are fine.
    """
    for char in text:
        if char in allowed:
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp"):
            return "must not contain control characters or line breaks" if not allowed \
                else "must not contain control characters other than line breaks and tabs"
        if category == "Cs":
            return "must be valid Unicode text"
    return direction_problem(text)


def check_text(value: object, *, minimum: int, maximum: int, allowed: str = "") -> tuple[str | None, str]:
    """Trim and check one text value: ``(reason or None, trimmed text)``."""
    if not isinstance(value, str):
        return "must be a string", ""
    text = value.strip()
    if len(text) < minimum:
        return ("must not be empty" if minimum == 1 else f"must be at least {minimum} characters"), text
    if len(text) > maximum:
        return f"must be at most {maximum} characters", text
    return _bad_character(text, allowed), text


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_fields(names: list[str]) -> None:
    """Refuse an empty update and any field that is unknown or read-only."""
    if not names:
        raise fail({"data": f"send at least one of {', '.join(EDITABLE)}"})
    problems = {quote(name): ("read-only" if name in READ_ONLY else "unknown field")
                for name in names if name not in EDITABLE}
    if problems:
        raise fail(problems)


@dataclass(frozen=True)
class AgeBounds:
    """The stored preference bounds an update that sends only one of them is compared with."""

    age_min: int
    age_max: int


def check_update(patch: Mapping[str, Any], stored: AgeBounds) -> dict[str, Any]:
    """Validate a ``me.update`` patch; return the column values to write.

    ``location`` becomes ``lat``/``lon`` of its grid cell's centre (``domain/location/grid.py``).
    """
    check_fields(list(patch))
    problems = {name: "may not be null" for name, value in patch.items() if value is None and name not in NULLABLE}
    values: dict[str, Any] = {}
    for name, check in _FIELD_CHECKS.items():
        if name in patch and name not in problems:
            values.update(check(patch[name], problems))
    _check_ages(patch, stored, values, problems)
    if problems:
        raise fail(problems)
    return values


def _check_display_name(display_name: object, problems: dict[str, str]) -> dict[str, Any]:
    reason, text = names.check_display_name(display_name)  # the same rule as at signup
    if reason:
        problems["display_name"] = reason
    return {"display_name": text}


def _check_bio(bio: object, problems: dict[str, str]) -> dict[str, Any]:
    reason, text = check_text(bio, minimum=0, maximum=BIO_MAX, allowed=MULTILINE)
    if reason:
        problems["bio"] = reason
    return {"bio": text}


def _check_gender(gender: object, problems: dict[str, str]) -> dict[str, Any]:
    if gender is not None and gender not in GENDERS:
        problems["gender"] = f"must be one of {', '.join(GENDERS)} (or null)"
    return {"gender": gender}


def _check_interested_in(wanted: object, problems: dict[str, str]) -> dict[str, Any]:
    if not isinstance(wanted, list) or not all(isinstance(g, str) for g in wanted):
        problems["interested_in"] = "must be a list of genders"
    elif any(g not in GENDERS for g in wanted):
        problems["interested_in"] = f"each must be one of {', '.join(GENDERS)}"
    elif len(set(wanted)) != len(wanted):
        problems["interested_in"] = "must not repeat a gender"
    else:
        return {"interested_in": [g for g in GENDERS if g in wanted]}  # stored in a canonical order
    return {}


def _check_max_distance(km: Any, problems: dict[str, str]) -> dict[str, Any]:
    if not _is_int(km) or not DISTANCE_MIN_KM <= km <= DISTANCE_MAX_KM:
        problems["max_distance_km"] = f"must be a whole number from {DISTANCE_MIN_KM} to {DISTANCE_MAX_KM}"
    return {"max_distance_km": km}


def _check_location(location: object, problems: dict[str, str]) -> dict[str, Any]:
    if location is None:
        return {"lat": None, "lon": None}
    if not isinstance(location, Mapping) or set(location) != {"lat", "lon"}:
        problems["location"] = "must be {lat, lon} or null"
        return {}
    lat, lon = location["lat"], location["lon"]
    if not _is_number(lat) or not -90 <= lat <= 90:
        problems["location.lat"] = "must be a number from -90 to 90"
    if not _is_number(lon) or not -180 <= lon <= 180:
        problems["location.lon"] = "must be a number from -180 to 180"
    if "location.lat" in problems or "location.lon" in problems:
        return {}
    cell_lat, cell_lon = snap(float(lat), float(lon))  # only the cell's centre is ever stored
    return {"lat": cell_lat, "lon": cell_lon}


FieldCheck = Callable[[Any, dict[str, str]], dict[str, Any]]

# Each sent field that is not already refused (as null) is checked in this order; a check notes its
# problems and returns the column values to write.
_FIELD_CHECKS: dict[str, FieldCheck] = {
    "display_name": _check_display_name,
    "bio": _check_bio,
    "gender": _check_gender,
    "interested_in": _check_interested_in,
    "max_distance_km": _check_max_distance,
    "location": _check_location,
}


def _check_ages(patch: Mapping[str, Any], stored: AgeBounds, values: dict[str, Any],
                problems: dict[str, str]) -> None:
    """Each bound 18-99, and age_min <= age_max counting the stored bound that was not sent."""
    sent = [name for name in ("age_min", "age_max") if name in patch]
    for name in sent:
        if name not in problems and (not _is_int(patch[name]) or not AGE_MIN <= patch[name] <= AGE_MAX):
            problems[name] = f"must be a whole number from {AGE_MIN} to {AGE_MAX}"
    if not sent or any(name in problems for name in sent):
        return
    low = patch.get("age_min", stored.age_min)
    high = patch.get("age_max", stored.age_max)
    if low > high:
        if len(sent) == 2:
            problems["age_min"] = "must not be greater than age_max"
        elif sent == ["age_min"]:
            problems["age_min"] = f"must not be greater than your age_max ({stored.age_max})"
        else:
            problems["age_max"] = f"must not be less than your age_min ({stored.age_min})"
        return
    values.update({name: patch[name] for name in sent})


def check_answer(answer: object) -> str:
    """A prompt answer: 1-300 characters after trimming; line breaks allowed."""
    reason, text = check_text(answer, minimum=1, maximum=ANSWER_MAX, allowed=MULTILINE)
    if reason:
        raise fail({"answer": reason})
    return text


def check_quiz(answers: object) -> dict[str, int]:
    """All six traits, each a whole number 1-5 (booleans are not numbers); return them in quiz order."""
    if not isinstance(answers, Mapping):
        raise fail({"answers": "must be an object of trait: 1..5"})
    problems: dict[str, str] = {}
    for key in answers:
        if key not in TRAIT_KEYS:
            problems[f"answers.{quote(key)}"] = "unknown trait"
    for key in TRAIT_KEYS:
        if key not in answers:
            problems[f"answers.{key}"] = "required"
        elif not _is_int(answers[key]) or not QUIZ_MIN <= answers[key] <= QUIZ_MAX:
            problems[f"answers.{key}"] = f"must be a whole number from {QUIZ_MIN} to {QUIZ_MAX}"
    if problems:
        raise fail(problems)
    return {key: int(answers[key]) for key in TRAIT_KEYS}


def badges_in_quiz_order(badges: list[str]) -> list[str]:
    """Badges in the order of the quiz questions that earned them (how every reply lists them)."""
    return sorted(badges, key=lambda b: (BADGE_ORDER.get(b, len(BADGE_ORDER)), b))


def quiz_in_order(answers: Mapping[str, int]) -> dict[str, int]:
    """Stored answers keyed in quiz order (JSONB keeps no key order)."""
    return {key: answers[key] for key in TRAIT_KEYS if key in answers}


@dataclass(frozen=True)
class Completeness:
    """What decides whether a profile can be shown in discovery at all."""

    status: str
    photos: int
    quiz_submitted: bool
    gender: str | None
    has_location: bool
    interested_in: tuple[str, ...]

    def discoverable(self) -> bool:
        """Active, at least one photo, a submitted quiz, a gender, a location and someone to be shown to."""
        return (self.status == "active" and self.photos >= 1 and self.quiz_submitted
                and self.gender is not None and self.has_location and bool(self.interested_in))
