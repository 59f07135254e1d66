"""The pure moderation rules: input checks, whom a moderator may touch, and each action's effect."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Conflict, Forbidden, ValidationFailed
from domain.moderation import rules

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("action", "days", "field"), [
    ("suspend", None, "days"), ("suspend", 0, "days"), ("suspend", 3651, "days"),
    ("warn", 3, "days"), ("ban", 1, "days"), ("dismiss", 7, "days"), ("delete", None, "action"),
])
async def test_days_are_required_for_suspend_and_refused_otherwise(action: str, days: int | None,
                                                                   field: str) -> None:
    """A suspension needs 1 to 3650 days; any other action with days is a validation error on that field."""
    with pytest.raises(ValidationFailed) as caught:
        rules.check_days(action, days)
    assert set(caught.value.details["fields"]) == {field}


@pytest.mark.parametrize(("action", "days"), [("suspend", 1), ("suspend", 3650), ("warn", None),
                                              ("ban", None), ("dismiss", None)])
async def test_valid_days(action: str, days: int | None) -> None:
    """The boundaries 1 and 3650 are accepted, and other actions need no days."""
    rules.check_days(action, days)


async def test_note_is_trimmed_and_must_say_something() -> None:
    """A blank note or one over 2000 characters is refused; surrounding spaces are dropped."""
    assert rules.check_note("  fake photos \n") == "fake photos"
    for bad in ("", "   \n", "x" * 2001):
        with pytest.raises(ValidationFailed):
            rules.check_note(bad)


async def test_moderator_cannot_act_on_own_account() -> None:
    """Deciding about oneself is forbidden."""
    me = uuid.uuid4()
    with pytest.raises(Forbidden):
        rules.check_target(me, me)
    rules.check_target(me, uuid.uuid4())


async def test_a_suspension_whose_time_is_over_counts_as_active() -> None:
    """Suspended until a past moment is active; until a future moment is suspended; others unchanged."""
    assert rules.current_status("suspended", NOW - timedelta(seconds=1), NOW) == "active"
    assert rules.current_status("suspended", NOW + timedelta(days=1), NOW) == "suspended"
    assert rules.current_status("banned", None, NOW) == "banned"


async def test_dismiss_changes_nothing() -> None:
    """Dismissing leaves the account as it is, whatever its status."""
    for status in ("active", "suspended", "banned", "deleted"):
        out = rules.outcome("dismiss", status, None, NOW, None)
        assert out == rules.Outcome(status, None, None, lock_out=False)


async def test_warn_notifies_without_locking_out() -> None:
    """A warning sends the durable warning event and keeps the account usable."""
    out = rules.outcome("warn", "active", None, NOW, None)
    assert out == rules.Outcome("active", None, "moderation.warning", lock_out=False)


async def test_suspend_sets_until_now_plus_days_and_locks_out() -> None:
    """A suspension lasts the given days from now, notifies with account.suspended and locks the user out."""
    out = rules.outcome("suspend", "active", None, NOW, 7)
    assert out == rules.Outcome("suspended", NOW + timedelta(days=7), "account.suspended", lock_out=True)


async def test_a_shorter_suspension_never_cuts_a_longer_one() -> None:
    """Suspending someone already suspended for longer keeps the later end; a longer one extends it."""
    later = NOW + timedelta(days=30)
    assert rules.outcome("suspend", "suspended", later, NOW, 3).suspended_until == later
    assert rules.outcome("suspend", "suspended", later, NOW, 60).suspended_until == NOW + timedelta(days=60)


async def test_ban_is_final_and_idempotent() -> None:
    """A ban locks out; banning again changes nothing; warning or suspending a banned user is a conflict."""
    assert rules.outcome("ban", "suspended", NOW + timedelta(days=2), NOW, None) == rules.Outcome(
        "banned", None, "account.suspended", lock_out=True)
    assert rules.outcome("ban", "banned", None, NOW, None) == rules.Outcome("banned", None, None, lock_out=False)
    for action, days in (("warn", None), ("suspend", 3)):
        with pytest.raises(Conflict):
            rules.outcome(action, "banned", None, NOW, days)


async def test_a_deleted_account_can_only_be_dismissed() -> None:
    """Warn, suspend and ban of a deleted account are conflicts."""
    for action, days in (("warn", None), ("suspend", 3), ("ban", None)):
        with pytest.raises(Conflict):
            rules.outcome(action, "deleted", None, NOW, days)
