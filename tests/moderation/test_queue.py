"""moderation.subscribe: the open queue, newest first, one entry per reporter and person, with signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.moderation.feed import report_for_feed
from tests.moderation.support import client, make_report, moderator, ws
from tests.support.factory import make_person
from tests.support.server import RunningServer

LIVE_FIELDS = {"id", "reporter_id", "reported_id", "reason", "details", "created_at"}


async def snapshot(server: RunningServer, engine: AsyncEngine) -> dict[str, Any]:
    async with client(ws(server), await moderator(engine)) as c:
        return await c.call("moderation.subscribe")


def ids(snap: dict[str, Any]) -> list[str]:
    return [entry["id"] for entry in snap["reports"]]


async def test_snapshot_is_newest_first_deduped_and_counted(server: RunningServer, engine: AsyncEngine) -> None:
    """Newest first; someone reporting the same person twice shows once (the newer report) and counts once."""
    now = datetime.now(UTC)
    before = await snapshot(server, engine)
    target = await make_person(engine, name="Target")
    r1, r2, r3 = [await make_person(engine, name=n) for n in ("One", "Two", "Three")]
    r1_old = await make_report(engine, r1, target, created_at=now - timedelta(hours=3))
    r1_new = await make_report(engine, r1, target, reason="spam", created_at=now - timedelta(hours=2))
    r2_id = await make_report(engine, r2, target, details="rude", created_at=now - timedelta(hours=1))
    r3_id = await make_report(engine, r3, target, created_at=now - timedelta(days=8))

    after = await snapshot(server, engine)
    mine = [i for i in ids(after) if i in {str(r1_old), str(r1_new), str(r2_id), str(r3_id)}]
    assert mine == [str(r2_id), str(r1_new), str(r3_id)]
    assert after["counts"] == {"open": before["counts"]["open"] + 3,
                               "reported_users": before["counts"]["reported_users"] + 1}
    entry = next(e for e in after["reports"] if e["id"] == str(r2_id))
    assert set(entry) >= LIVE_FIELDS
    assert entry["reporter_id"] == str(r2.id) and entry["reported_id"] == str(target.id)
    assert entry["reason"] == "harassment" and entry["details"] == "rude"
    assert entry["created_at"].endswith("Z")
    assert entry["reported"] == {"display_name": "Target", "status": "active", "suspended_until": None}


async def test_signals_show_distinct_reporters_and_the_reporters_standing(server: RunningServer,
                                                                          engine: AsyncEngine) -> None:
    """Distinct reporters in 7 days, reporter age, distinct people reported and how many were dismissed."""
    now = datetime.now(UTC)
    target, other = await make_person(engine, name="Target"), await make_person(engine, name="Other")
    veteran = await make_person(engine, name="Veteran", created_at=now - timedelta(days=40, hours=1))
    second, old_timer = await make_person(engine, name="Second"), await make_person(engine, name="Old")
    await make_report(engine, veteran, target, created_at=now - timedelta(hours=5))
    shown = await make_report(engine, veteran, target, created_at=now - timedelta(hours=4))  # a repeat: counts once
    await make_report(engine, veteran, other, created_at=now - timedelta(days=20), resolution="dismiss")
    await make_report(engine, second, target, created_at=now - timedelta(hours=1))
    await make_report(engine, old_timer, target, created_at=now - timedelta(days=8), resolution="warn")

    entry = next(e for e in (await snapshot(server, engine))["reports"] if e["id"] == str(shown))
    assert entry["signals"] == {
        "distinct_reporters_7d": 2,          # veteran and second; the 8-day-old report is outside the window
        "reporter_account_age_days": 40,
        "reporter_reports_made": 2,          # target (twice, counted once) and other
        "reporter_reports_dismissed": 1,
    }


async def test_resolved_reports_leave_the_queue(server: RunningServer, engine: AsyncEngine) -> None:
    """A resolved report is not in the snapshot, and resolving the shown one resolves its hidden repeat."""
    mod = await moderator(engine)
    reporter, target = await make_person(engine), await make_person(engine)
    now = datetime.now(UTC)
    older = await make_report(engine, reporter, target, created_at=now - timedelta(minutes=2))
    newer = await make_report(engine, reporter, target, created_at=now - timedelta(minutes=1))
    async with client(ws(server), mod) as c:
        snap = await c.call("moderation.subscribe")
        assert str(newer) in ids(snap) and str(older) not in ids(snap)
        reply = await c.call("moderation.resolve", {"report_id": str(newer), "action": "dismiss", "note": "ok"})
        assert sorted(reply["resolved_report_ids"]) == sorted([str(older), str(newer)])
        after = await c.call("moderation.subscribe")
    assert str(newer) not in ids(after) and str(older) not in ids(after)
    assert after["counts"]["open"] == snap["counts"]["open"] - 1


async def test_live_entry_from_report_for_feed_matches_the_snapshot(server: RunningServer,
                                                                    engine: AsyncEngine) -> None:
    """report_for_feed gives the live feed the same entry, signals included, as the snapshot shows."""
    reporter, target = await make_person(engine), await make_person(engine)
    report_id = await make_report(engine, reporter, target, reason="fake_profile")
    async with make_sessionmaker(engine)() as session:
        live = await report_for_feed(session, report_id)
    entry = next(e for e in (await snapshot(server, engine))["reports"] if e["id"] == str(report_id))
    assert live == entry


async def test_a_report_made_in_the_app_reaches_the_queue_end_to_end(server: RunningServer,
                                                                     engine: AsyncEngine) -> None:
    """A user's `report` reaches a subscribed moderator live and the snapshot entry is a superset of it."""
    mod, reporter, target = await moderator(engine), await make_person(engine), await make_person(engine)
    async with client(ws(server), mod) as dashboard, client(ws(server), reporter) as app:
        await dashboard.call("moderation.subscribe")
        reply = await app.call("report", {"user_id": str(target.id), "reason": "spam", "details": "links"})
        live = (await dashboard.next_event("moderation.report"))["data"]["report"]
        assert live["id"] == reply["report_id"]
        snap = await dashboard.call("moderation.subscribe")
        entry = next(e for e in snap["reports"] if e["id"] == reply["report_id"])
        assert {k: entry[k] for k in live} == live
        resolved = await dashboard.call("moderation.resolve", {"report_id": reply["report_id"], "action": "dismiss",
                                                               "note": "just a link"})
        assert resolved["report"]["status"] == "resolved"
        assert (await dashboard.next_event("moderation.resolved"))["data"]["report_id"] == reply["report_id"]
