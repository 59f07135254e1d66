"""moderation.resolve: dismiss, warn, suspend and ban, each with its effects; conflicts; validation; audit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from delete_client import ClientError, Closed, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.moderation.support import (
    client,
    closed_with,
    error_code,
    login,
    make_report,
    member,
    moderator,
    row,
    scalar,
    ws,
)
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer
from tests.support.users import auth_header


async def event_count(engine: AsyncEngine, person: Person) -> int:
    return int(await scalar(engine, "SELECT count(*) FROM user_events WHERE user_id = :id", id=person.id))


async def resolve(server: RunningServer, mod: Person, report_id: Any, action: str, note: str = "seen it",
                  **extra: Any) -> dict[str, Any]:
    async with client(ws(server), mod) as c:
        return await c.call("moderation.resolve", {"report_id": str(report_id), "action": action, "note": note,
                                                   **extra})


async def test_dismiss_resolves_and_leaves_the_user_alone(server: RunningServer, engine: AsyncEngine) -> None:
    """Dismissing marks the report resolved, tells the user nothing, and writes the audit row."""
    mod, reporter, target = await moderator(engine), await make_person(engine), await make_person(engine)
    report_id = await make_report(engine, reporter, target)
    events_before = await event_count(engine, target)
    reply = await resolve(server, mod, report_id, "dismiss", note="  no evidence  ")
    assert reply["report"]["status"] == "resolved" and reply["report"]["resolution"] == "dismiss"
    assert reply["report"]["resolution_note"] == "no evidence"
    assert reply["report"]["resolved_by"] == str(mod.id)
    assert reply["user"] == {"id": str(target.id), "status": "active", "suspended_until": None}
    assert reply["action"]["action"] == "dismiss" and reply["action"]["note"] == "no evidence"
    assert await event_count(engine, target) == events_before
    status = await scalar(engine, "SELECT status FROM users WHERE id = :id", id=target.id)
    assert status == "active"


async def test_warn_sends_a_durable_warning(server: RunningServer, engine: AsyncEngine) -> None:
    """A warned user's open socket gets a stored moderation.warning with a seq, and stays open."""
    mod, reporter, target = await moderator(engine), await make_person(engine), await make_person(engine)
    report_id = await make_report(engine, reporter, target, reason="spam")
    async with client(ws(server), target) as user:
        seq_before = user.last_seq
        await resolve(server, mod, report_id, "warn", note="spammy openers")
        event = await user.next_event("moderation.warning")
        assert event["data"] == {"reason": "spam"}
        assert event["seq"] == seq_before + 1
        await user.call("ping")  # still connected
    stored = await row(engine, "SELECT type, payload FROM user_events WHERE user_id = :id AND seq = :seq",
                       id=target.id, seq=event["seq"])
    assert tuple(stored) == ("moderation.warning", {"reason": "spam"})


async def logged_in(http: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    resp = await login(http, person)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def assert_locked_out(server: RunningServer, http: httpx.AsyncClient, person: Person,
                            tokens: dict[str, Any], status: str) -> None:
    """Access and refresh tokens stop working at once, a new socket is refused, and login says suspended."""
    resp = await http.get("/v1/profile/photos", headers=auth_header(tokens["access_token"]))
    assert resp.status_code in (401, 403), resp.text
    resp = await http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert resp.status_code == 401, resp.text
    with pytest.raises(Closed) as caught:
        async with DeleteClient(ws(server), tokens["access_token"], auto_resume=False):
            pass
    assert caught.value.code in (4401, 4403)
    resp = await login(http, person)
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"]["code"] == "account_suspended"
    assert resp.json()["error"]["details"]["status"] == status


async def test_suspend_closes_sockets_revokes_tokens_and_blocks_login(server: RunningServer, engine: AsyncEngine,
                                                                      http: httpx.AsyncClient) -> None:
    """Suspension: account.suspended then close 4403, tokens refused at once, login refused, until = now+days."""
    mod, reporter, target = await moderator(engine), await make_person(engine), await member(engine)
    report_id = await make_report(engine, reporter, target, reason="harassment")
    tokens = await logged_in(http, target)
    async with DeleteClient(ws(server), tokens["access_token"], auto_resume=False) as user:
        started = datetime.now(UTC)
        reply = await resolve(server, mod, report_id, "suspend", note="threats", days=3)
        event = await user.next_event()
        assert event["type"] == "account.suspended" and isinstance(event["seq"], int)
        assert event["data"]["reason"] == "harassment"
        until = datetime.fromisoformat(event["data"]["until"])
        assert await closed_with(user) == 4403
    assert started + timedelta(days=3) - timedelta(seconds=5) <= until <= datetime.now(UTC) + timedelta(days=3)
    assert reply["user"] == {"id": str(target.id), "status": "suspended", "suspended_until": event["data"]["until"]}
    status, stored_until = await row(engine, "SELECT status, suspended_until FROM users WHERE id = :id", id=target.id)
    assert status == "suspended" and stored_until == until
    assert reply["action"]["days"] == 3
    await assert_locked_out(server, http, target, tokens, "suspended")


async def test_ban_closes_sockets_revokes_tokens_and_blocks_login(server: RunningServer, engine: AsyncEngine,
                                                                  http: httpx.AsyncClient) -> None:
    """Ban: account.suspended without until, then close 4403 on every socket; tokens and login refused."""
    mod, reporter, target = await moderator(engine), await make_person(engine), await member(engine)
    report_id = await make_report(engine, reporter, target, reason="underage")
    tokens = await logged_in(http, target)
    async with DeleteClient(ws(server), tokens["access_token"], auto_resume=False) as phone, \
            client(ws(server), target) as tablet:  # a second login's socket goes too
        reply = await resolve(server, mod, report_id, "ban", note="is 16")
        for device in (phone, tablet):
            event = await device.next_event()
            assert event["type"] == "account.suspended"
            assert event["data"] == {"reason": "underage"}
            assert await closed_with(device) == 4403
    assert reply["user"] == {"id": str(target.id), "status": "banned", "suspended_until": None}
    assert await scalar(engine, "SELECT status FROM users WHERE id = :id", id=target.id) == "banned"
    live = await scalar(engine, "SELECT count(*) FROM token_families WHERE user_id = :id AND revoked_at IS NULL",
                        id=target.id)
    assert live == 0
    await assert_locked_out(server, http, target, tokens, "banned")


async def test_a_suspension_that_has_ended_lets_the_user_back(server: RunningServer, engine: AsyncEngine,
                                                              http: httpx.AsyncClient) -> None:
    """Once suspended_until has passed the user logs in again and the queue shows them as active."""
    target = await member(engine)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET status = 'suspended', suspended_until = now() - interval '1 minute'"
                                " WHERE id = :id"), {"id": target.id})
    report_id = await make_report(engine, await make_person(engine), target)
    async with client(ws(server), await moderator(engine)) as c:
        snap = await c.call("moderation.subscribe")
        dossier = await c.call("moderation.user", {"user_id": str(target.id)})
    entry = next(e for e in snap["reports"] if e["id"] == str(report_id))
    assert entry["reported"]["status"] == "active" and entry["reported"]["suspended_until"] is None
    assert dossier["user"]["status"] == "active"
    resp = await login(http, target)
    assert resp.status_code == 200, resp.text


async def test_resolving_twice_is_a_conflict(server: RunningServer, engine: AsyncEngine) -> None:
    """A report resolved once cannot be resolved again, whatever the action."""
    mod, reporter, target = await moderator(engine), await make_person(engine), await make_person(engine)
    report_id = await make_report(engine, reporter, target)
    async with client(ws(server), mod) as c:
        await c.call("moderation.resolve", {"report_id": str(report_id), "action": "dismiss", "note": "fine"})
        with pytest.raises(ClientError) as caught:
            await c.call("moderation.resolve", {"report_id": str(report_id), "action": "ban", "note": "oops"})
    assert caught.value.code == "conflict"
    assert caught.value.details == {"resolution": "dismiss", "resolved_by": str(mod.id)}
    assert await scalar(engine, "SELECT status FROM users WHERE id = :id", id=target.id) == "active"


async def test_two_moderators_resolving_at_once_one_wins(server: RunningServer, engine: AsyncEngine) -> None:
    """Two moderators resolving the same report at the same instant: one succeeds, the other gets conflict."""
    mods = [await moderator(engine, f"M{i}") for i in range(2)]
    reporter, target = await make_person(engine), await make_person(engine)
    report_id = await make_report(engine, reporter, target)
    async with client(ws(server), mods[0]) as a, client(ws(server), mods[1]) as b:
        results = await asyncio.gather(
            a.call("moderation.resolve", {"report_id": str(report_id), "action": "warn", "note": "a"}),
            b.call("moderation.resolve", {"report_id": str(report_id), "action": "suspend", "note": "b", "days": 2}),
            return_exceptions=True)
    errors = [r for r in results if isinstance(r, ClientError)]
    assert len(errors) == 1 and errors[0].code == "conflict", results
    assert await scalar(engine, "SELECT count(*) FROM moderation_actions WHERE report_id = :id", id=report_id) == 1


async def test_unknown_report_is_not_found(server: RunningServer, engine: AsyncEngine) -> None:
    """Resolving a report id that does not exist answers not_found."""
    async with client(ws(server), await moderator(engine)) as c:
        code = await error_code(c, "moderation.resolve", {"report_id": "00000000-0000-4000-8000-000000000000",
                                                          "action": "dismiss", "note": "x"})
    assert code == "not_found"


@pytest.mark.parametrize(("extra", "field"), [
    ({"action": "suspend"}, "days"),
    ({"action": "suspend", "days": 0}, "days"),
    ({"action": "suspend", "days": 3651}, "days"),
    ({"action": "warn", "days": 3}, "days"),
    ({"action": "ban", "days": 30}, "days"),
    ({"action": "dismiss", "note": "   "}, "note"),
    ({"action": "mute"}, "action"),
    ({"action": "dismiss", "colour": "red"}, "colour"),
])
async def test_invalid_input_is_a_validation_error(server: RunningServer, engine: AsyncEngine,
                                                   extra: dict[str, Any], field: str) -> None:
    """days only and always with suspend (1-3650), a real note, a known action; the report stays open."""
    reporter, target = await make_person(engine), await make_person(engine)
    report_id = await make_report(engine, reporter, target)
    async with client(ws(server), await moderator(engine)) as c:
        with pytest.raises(ClientError) as caught:
            await c.call("moderation.resolve", {"report_id": str(report_id), "note": "why", **extra})
    assert caught.value.code == "validation_error"
    assert field in caught.value.details["fields"]
    assert await scalar(engine, "SELECT status FROM reports WHERE id = :id", id=report_id) == "open"


async def test_suspending_a_banned_user_is_a_conflict(server: RunningServer, engine: AsyncEngine) -> None:
    """A ban is not weakened by a later suspension of the same person (another report about them)."""
    mod, target = await moderator(engine), await make_person(engine)
    first = await make_report(engine, await make_person(engine), target)
    second = await make_report(engine, await make_person(engine), target)
    await resolve(server, mod, first, "ban")
    async with client(ws(server), mod) as c:
        code = await error_code(c, "moderation.resolve", {"report_id": str(second), "action": "suspend",
                                                          "note": "x", "days": 1})
        assert code == "conflict"
        reply = await c.call("moderation.resolve", {"report_id": str(second), "action": "ban", "note": "again"})
    assert reply["user"]["status"] == "banned"
    assert await scalar(engine, "SELECT status FROM users WHERE id = :id", id=target.id) == "banned"
