"""domain/profiles/rules.py: what me.update, prompts.answer and quiz.submit accept (pure, table-driven)."""

from __future__ import annotations

from typing import Any

import pytest

from domain.compatibility.traits import TRAIT_KEYS
from domain.errors import ValidationFailed
from domain.location.grid import snap
from domain.profiles import rules

STORED = rules.AgeBounds(age_min=25, age_max=40)
QUIZ = dict.fromkeys(TRAIT_KEYS, 3)


def problems(patch: dict[str, Any], stored: rules.AgeBounds = STORED) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        rules.check_update(patch, stored)
    assert info.value.details is not None
    fields: dict[str, str] = info.value.details["fields"]
    return fields


@pytest.mark.parametrize(("patch", "values"), [
    ({"display_name": "  Ada  "}, {"display_name": "Ada"}),
    ({"display_name": "x" * 50}, {"display_name": "x" * 50}),
    ({"display_name": "José   María"}, {"display_name": "José María"}),  # runs of spaces collapse (text/names.py)
    ({"bio": ""}, {"bio": ""}),
    ({"bio": "line one\nline two\tend"}, {"bio": "line one\nline two\tend"}),
    ({"bio": "b" * 500}, {"bio": "b" * 500}),
    ({"gender": "nonbinary"}, {"gender": "nonbinary"}),
    ({"gender": None}, {"gender": None}),
    ({"interested_in": ["nonbinary", "woman"]}, {"interested_in": ["woman", "nonbinary"]}),
    ({"interested_in": []}, {"interested_in": []}),
    ({"age_min": 18, "age_max": 99}, {"age_min": 18, "age_max": 99}),
    ({"age_min": 40}, {"age_min": 40}),   # equal to the stored age_max
    ({"age_max": 25}, {"age_max": 25}),   # equal to the stored age_min
    ({"age_min": 50, "age_max": 60}, {"age_min": 50, "age_max": 60}),  # both sent: stored pair ignored
    ({"max_distance_km": 1}, {"max_distance_km": 1}),
    ({"max_distance_km": 500}, {"max_distance_km": 500}),
    ({"location": {"lat": -90, "lon": 180.0}}, dict(zip(("lat", "lon"), snap(-90.0, 180.0), strict=True))),
    ({"location": {"lat": 52.52, "lon": 13.405}}, dict(zip(("lat", "lon"), snap(52.52, 13.405), strict=True))),
    ({"location": None}, {"lat": None, "lon": None}),
])
def test_accepted_updates(patch: dict[str, Any], values: dict[str, Any]) -> None:
    """Values inside every bound are accepted and cleaned (trimmed, canonical gender order, lat/lon of the cell)."""
    assert rules.check_update(patch, STORED) == values


@pytest.mark.parametrize(("patch", "field"), [
    ({"display_name": ""}, "display_name"),
    ({"display_name": "   "}, "display_name"),
    ({"display_name": "x" * 51}, "display_name"),
    ({"display_name": "Ada\nLovelace"}, "display_name"),
    ({"display_name": "Ada\x00"}, "display_name"),
    ({"display_name": "Ada\u2028Lovelace"}, "display_name"),
    ({"display_name": "Zoë 👩\u200d🚀"}, "display_name"),  # no emoji or joiners in names (docs/security.md)
    ({"display_name": "Eve\u202enimdA"}, "display_name"),
    ({"bio": "see \u202egpj.exe"}, "bio"),
    ({"display_name": None}, "display_name"),
    ({"bio": "b" * 501}, "bio"),
    ({"bio": "nul\x00byte"}, "bio"),
    ({"bio": "bell\x07"}, "bio"),
    ({"bio": "lone \ud800 surrogate"}, "bio"),
    ({"bio": None}, "bio"),
    ({"gender": "robot"}, "gender"),
    ({"gender": "Woman"}, "gender"),
    ({"interested_in": ["woman", "woman"]}, "interested_in"),
    ({"interested_in": ["woman", "cat"]}, "interested_in"),
    ({"interested_in": "woman"}, "interested_in"),
    ({"interested_in": None}, "interested_in"),
    ({"age_min": 17}, "age_min"),
    ({"age_max": 100}, "age_max"),
    ({"age_min": 41}, "age_min"),          # above the stored age_max
    ({"age_max": 24}, "age_max"),          # below the stored age_min
    ({"age_min": 30, "age_max": 29}, "age_min"),
    ({"age_min": True}, "age_min"),
    ({"age_min": 30.0}, "age_min"),
    ({"age_min": None}, "age_min"),
    ({"max_distance_km": 0}, "max_distance_km"),
    ({"max_distance_km": 501}, "max_distance_km"),
    ({"max_distance_km": 10.5}, "max_distance_km"),
    ({"location": {"lat": 90.01, "lon": 0}}, "location.lat"),
    ({"location": {"lat": 0, "lon": -180.5}}, "location.lon"),
    ({"location": {"lat": float("nan"), "lon": 0}}, "location.lat"),
    ({"location": {"lat": 0, "lon": float("inf")}}, "location.lon"),
    ({"location": {"lat": True, "lon": 0}}, "location.lat"),
    ({"location": {"lat": 1}}, "location"),
    ({"location": [1, 2]}, "location"),
])
def test_refused_updates(patch: dict[str, Any], field: str) -> None:
    """Each value outside its bound is refused, naming the field (and only that field)."""
    assert set(problems(patch)) == {field}


def test_every_bad_field_is_named_at_once() -> None:
    """One refusal lists every offending field, so the app can mark them all."""
    assert set(problems({"display_name": "", "bio": "b" * 501, "max_distance_km": 0, "email": "x@y.z"})) == {
        "email"}  # unknown/read-only fields are refused first, before values are judged
    assert set(problems({"display_name": "", "bio": "b" * 501, "max_distance_km": 0, "age_min": 10})) == {
        "display_name", "bio", "max_distance_km", "age_min"}


@pytest.mark.parametrize("field", ["id", "email", "birthdate", "age", "role", "status", "created_at",
                                   "photos", "badges", "quiz", "discoverable", "password", "email_verified"])
def test_read_only_fields_are_named(field: str) -> None:
    """Read-only fields are refused as read-only."""
    assert problems({field: "x"}) == {field: "read-only"}


def test_unknown_fields_and_empty_updates_are_refused() -> None:
    """An unknown field is named as unknown; an update with no field at all is refused."""
    assert problems({"nickname": "x", "bio": "ok"}) == {"nickname": "unknown field"}
    assert set(problems({})) == {"data"}


@pytest.mark.parametrize(("answer", "cleaned"), [("  hi  ", "hi"), ("a" * 300, "a" * 300), ("two\nlines", "two\nlines"),
                                                 (" " + "a" * 300 + " ", "a" * 300)])
def test_prompt_answers_accepted(answer: str, cleaned: str) -> None:
    """Answers are trimmed and then 1-300 characters long; line breaks are fine."""
    assert rules.check_answer(answer) == cleaned


@pytest.mark.parametrize("answer", ["", "   ", "a" * 301, "nul\x00", "\ud800", "kind \u2066to\u2069 waiters"])
def test_prompt_answers_refused(answer: str) -> None:
    """Empty (after trimming), over 300 characters or unstorable answers are refused on ``answer``."""
    with pytest.raises(ValidationFailed) as info:
        rules.check_answer(answer)
    assert info.value.details is not None
    assert list(info.value.details["fields"]) == ["answer"]


def test_quiz_accepts_all_six_in_range() -> None:
    """Six whole answers 1-5 are returned in quiz order."""
    answers = {key: 1 + i % 5 for i, key in enumerate(reversed(TRAIT_KEYS))}
    assert list(rules.check_quiz(answers)) == list(TRAIT_KEYS)


@pytest.mark.parametrize(("answers", "fields"), [
    ({k: v for k, v in QUIZ.items() if k != "routine_novelty"}, {"answers.routine_novelty"}),
    ({}, {f"answers.{k}" for k in TRAIT_KEYS}),
    ({**QUIZ, "humour": 3}, {"answers.humour"}),
    ({**QUIZ, "introvert_extrovert": 0}, {"answers.introvert_extrovert"}),
    ({**QUIZ, "introvert_extrovert": 6}, {"answers.introvert_extrovert"}),
    ({**QUIZ, "introvert_extrovert": True}, {"answers.introvert_extrovert"}),
    ({**QUIZ, "introvert_extrovert": 2.0}, {"answers.introvert_extrovert"}),
    ({**QUIZ, "introvert_extrovert": "2"}, {"answers.introvert_extrovert"}),
])
def test_quiz_refusals_name_the_trait(answers: dict[str, Any], fields: set[str]) -> None:
    """Missing, unknown, out-of-range and non-integer (booleans included) answers are refused per trait."""
    with pytest.raises(ValidationFailed) as info:
        rules.check_quiz(answers)
    assert info.value.details is not None
    assert set(info.value.details["fields"]) == fields


COMPLETE = rules.Completeness(status="active", photos=1, quiz_submitted=True, gender="man", has_location=True,
                              interested_in=("woman",))


@pytest.mark.parametrize("change", [{"status": "suspended"}, {"photos": 0}, {"quiz_submitted": False},
                                    {"gender": None}, {"has_location": False}, {"interested_in": ()}])
def test_discoverable_needs_every_piece(change: dict[str, Any]) -> None:
    """A profile is discoverable only when active with a photo, a quiz, gender, location and a preference."""
    assert COMPLETE.discoverable()
    assert not rules.Completeness(**{**COMPLETE.__dict__, **change}).discoverable()
