"""The pure social rules: comment folding, the velocity window and the match state machine as a table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Conflict, ValidationFailed
from domain.social import rules

FOLDED = "hello there friend"


@pytest.mark.parametrize("text", [
    "Hello  THERE friend",
    "h\u0435llo there friend",  # Cyrillic small ie
    "HELL0 there friend",  # zero for O
    "  hello\tthere\n friend ",
    "\uff28ello there friend",  # full-width H
    "h\u00e9llo there friend",  # accent
    "hel\u200blo there friend",  # zero-width space
    "\u041d\u0415LLO there friend",  # Cyrillic capitals EN and IE
    "\u0397\u0395ll\u03bf there friend",  # Greek capitals ETA, EPSILON and small omicron
    "h3ll0 th3r3 fri3nd",
    "he11o there friend",
])
async def test_look_alikes_fold_to_the_same_text(text: str) -> None:
    """Case, spacing, accents, invisible characters, Cyrillic/Greek look-alikes and digits-for-letters fold away."""
    assert rules.normalise_comment(text) == FOLDED


@pytest.mark.parametrize("text", ["hello there friends", "hello there, friend", "hello there fiend"])
async def test_different_texts_stay_different(text: str) -> None:
    """Folding does not make genuinely different comments equal."""
    assert rules.normalise_comment(text) != FOLDED


async def test_velocity_waits_for_the_oldest_of_the_last_five() -> None:
    """Five likes in 60 s: wait until the oldest of them is 60 s old; likes older than the window do not count."""
    now = datetime(2030, 1, 1, 12, tzinfo=UTC)
    recent = [now - timedelta(seconds=s) for s in (50, 40, 30, 20, 10)]
    assert rules.velocity_wait(recent, now) == 10
    assert rules.velocity_wait(recent[1:], now) == 0
    assert rules.velocity_wait([now - timedelta(seconds=70), *recent[1:]], now) == 0


ALLOWED = {
    ("active", "unmatch"): "unmatched", ("active", "archive"): "archived", ("active", "confirm_dating"): "dating",
    ("active", "delete"): "deleted", ("archived", "message"): "active", ("dating", "end_dating"): "archived",
    ("active", "block"): "unmatched", ("archived", "block"): "unmatched", ("dating", "block"): "unmatched",
    ("archived", "delete"): "deleted", ("dating", "delete"): "deleted",
}
STATES = ("active", "unmatched", "archived", "dating", "deleted")
ACTIONS = ("unmatch", "archive", "confirm_dating", "delete", "message", "end_dating", "block")


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
async def test_state_machine_is_exactly_the_table(state: str, action: rules.Action) -> None:
    """Each (state, action) is either the listed transition or conflict; unmatched and deleted are final."""
    if (state, action) in ALLOWED:
        assert rules.next_state(state, action) == ALLOWED[(state, action)]
    else:
        with pytest.raises(Conflict):
            rules.next_state(state, action)


async def test_cursor_round_trips_and_rejects_forgeries() -> None:
    """A cursor decodes to the position it encodes; anything else is validation_error."""
    at, match_id = datetime(2030, 1, 2, 3, 4, 5, 678, tzinfo=UTC), uuid.uuid4()
    assert rules.decode_cursor(rules.encode_cursor(at, match_id)) == (at, match_id)
    for bad in ("", "x", "bm90aGluZw", "MjAzMHxub3QtYS11dWlk"):
        with pytest.raises(ValidationFailed):
            rules.decode_cursor(bad)
