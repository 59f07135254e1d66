"""moderation.search (email prefix, display name, id; at most 20) and moderation.act (warn, suspend, ban,
reinstate without a report): the same effects and audit trail as a resolution."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.resources import random_prefix
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
from tests.moderation.test_resolve import assert_locked_out, logged_in
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings


async def search(server: RunningServer, mod: Person, query: str) -> list[dict[str, Any]]:
    async with client(ws(server), mod) as c:
        users: list[dict[str, Any]] = (await c.call("moderation.search", {"query": query}))["users"]
        return users


async def act(server: RunningServer, mod: Person, target: Person, action: str, note: str = "seen it",
              **extra: Any) -> dict[str, Any]:
    async with client(ws(server), mod) as c:
        return await c.call("moderation.act", {"user_id": str(target.id), "action": action, "note": note, **extra})


def unique_name(stem: str = "Zq") -> str:
    """A display-name prefix no other test uses (letters only: display names refuse digits-only noise)."""
    return stem + "".join(secrets.choice("bcdfghjkmnpqrstvwxz") for _ in range(8))


async def set_email(engine: AsyncEngine, person: Person, email: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET email = :e WHERE id = :id"), {"e": email, "id": person.id})


# -- search ----------------------------------------------------------------------------------------------------------

async def test_search_by_email_prefix_is_case_insensitive(server: RunningServer, engine: AsyncEngine) -> None:
    """An email prefix in any case finds the account, with its status, role, signup time and reports received."""
    mod, target = await moderator(engine), await make_person(engine, name="Robin")
    stem = "Px" + secrets.token_hex(5)
    await set_email(engine, target, f"{stem}.Robin@Example.test")
    for reporter in (await make_person(engine), await make_person(engine)):
        await make_report(engine, reporter, target, reason="spam")
    async with client(ws(server), mod) as c:
        created = (await c.call("moderation.user", {"user_id": str(target.id)}))["user"]["created_at"]
    for query in (stem.upper(), stem.lower() + ".robin@", f"  {stem}.ROBIN@example.TEST "):
        assert await search(server, mod, query) == [{
            "id": str(target.id), "email": f"{stem}.Robin@Example.test", "display_name": "Robin",
            "status": "active", "role": "user", "created_at": created,
            "reports_received": 2}], query
    assert await search(server, mod, stem + "robinx") == []


async def test_search_by_display_name_prefix(server: RunningServer, engine: AsyncEngine) -> None:
    """A display-name prefix (any case) finds every account whose name starts with it, by name; not the middle."""
    mod, stem = await moderator(engine), unique_name()
    people = {name: await make_person(engine, name=name) for name in (stem + "b", stem + "a", stem.upper() + "c")}
    await make_person(engine, name="X" + stem)  # contains the stem, does not start with it
    found = await search(server, mod, stem.lower())
    assert [u["display_name"] for u in found] == [stem + "a", stem + "b", stem.upper() + "c"]
    assert {u["id"] for u in found} == {str(p.id) for p in people.values()}
    assert all(u["reports_received"] == 0 and u["status"] == "active" for u in found)


async def test_search_by_id_finds_exactly_that_account(server: RunningServer, engine: AsyncEngine) -> None:
    """A user id finds that account only (whatever its status); an unknown id finds nothing."""
    mod = await moderator(engine)
    target = await make_person(engine, status="banned")
    found = await search(server, mod, str(target.id).upper())
    assert [(u["id"], u["status"]) for u in found] == [(str(target.id), "banned")]
    assert await search(server, mod, str(uuid.uuid4())) == []


async def test_search_returns_at_most_20(server: RunningServer, engine: AsyncEngine) -> None:
    """22 accounts share a name prefix: the first 20 by name come back."""
    mod, stem = await moderator(engine), unique_name()
    names = sorted(stem + chr(ord("a") + i) for i in range(22))
    for name in names:
        await make_person(engine, name=name)
    found = await search(server, mod, stem)
    assert [u["display_name"] for u in found] == names[:20]


async def test_search_shows_a_suspension_that_ended_as_active(server: RunningServer, engine: AsyncEngine) -> None:
    """Status is the account's status right now, as in the dossier."""
    mod, stem = await moderator(engine), unique_name()
    person = await make_person(engine, name=stem, status="suspended")
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET suspended_until = now() - interval '1 minute' WHERE id = :id"),
                           {"id": person.id})
    assert [u["status"] for u in await search(server, mod, stem)] == ["active"]


@pytest.mark.parametrize("query", ["%", "_", "\\", "f%", "f_"])
async def test_search_wildcards_are_literal(server: RunningServer, engine: AsyncEngine, query: str) -> None:
    """LIKE wildcards in the query match themselves, so "%" does not list everybody."""
    mod = await moderator(engine)
    await make_person(engine)  # emails start with "f" followed by hex digits
    assert await search(server, mod, query) == []


@pytest.mark.parametrize("query", ["", "   ", "x" * 255])
async def test_search_query_must_be_1_to_254_characters(server: RunningServer, engine: AsyncEngine,
                                                        query: str) -> None:
    async with client(ws(server), await moderator(engine)) as c:
        assert await error_code(c, "moderation.search", {"query": query}) == "validation_error"


# -- act: warn, suspend, ban ----------------------------------------------------------------------------------------

async def test_act_warn_sends_a_durable_warning_and_is_audited(server: RunningServer, engine: AsyncEngine) -> None:
    """warn without a report: a stored moderation.warning with the category given; the audit row has no report."""
    mod, target = await moderator(engine), await make_person(engine)
    async with client(ws(server), target) as user:
        seq_before = user.last_seq
        reply = await act(server, mod, target, "warn", note="  rude openers  ", reason="harassment")
        event = await user.next_event("moderation.warning")
        assert event["data"] == {"reason": "harassment"} and event["seq"] == seq_before + 1
        await user.call("ping")  # still connected
    assert reply["user"] == {"id": str(target.id), "status": "active", "suspended_until": None}
    audit = reply["action"]
    assert (audit["action"], audit["note"], audit["report_id"], audit["moderator_id"], audit["details"]) == (
        "warn", "rude openers", None, str(mod.id), {"reason": "harassment"})
    async with client(ws(server), mod) as c:
        dossier = await c.call("moderation.user", {"user_id": str(target.id)})
    assert dossier["actions"] == [audit]


async def test_act_warn_tells_other_by_default(server: RunningServer, engine: AsyncEngine) -> None:
    mod, target = await moderator(engine), await make_person(engine)
    async with client(ws(server), target) as user:
        await act(server, mod, target, "warn")
        assert (await user.next_event("moderation.warning"))["data"] == {"reason": "other"}


async def test_act_suspend_locks_out_and_reinstate_lets_the_user_back(server: RunningServer, engine: AsyncEngine,
                                                                      http: httpx.AsyncClient) -> None:
    """suspend: account.suspended with until, close 4403, tokens and login refused; reinstate: login works again,
    and both decisions are in the dossier, newest first."""
    mod, target = await moderator(engine), await member(engine)
    report_id = await make_report(engine, await make_person(engine), target)  # stays open: act resolves nothing
    tokens = await logged_in(http, target)
    async with DeleteClient(ws(server), tokens["access_token"], auto_resume=False) as user:
        started = datetime.now(UTC)
        reply = await act(server, mod, target, "suspend", note="cooling off", days=2, reason="spam")
        event = await user.next_event()
        assert event["type"] == "account.suspended" and event["data"]["reason"] == "spam"
        assert await closed_with(user) == 4403
    until = datetime.fromisoformat(event["data"]["until"])
    assert started + timedelta(days=2) - timedelta(seconds=5) <= until <= datetime.now(UTC) + timedelta(days=2)
    assert reply["user"] == {"id": str(target.id), "status": "suspended", "suspended_until": event["data"]["until"]}
    assert reply["action"]["days"] == 2
    await assert_locked_out(server, http, target, tokens, "suspended")
    assert await scalar(engine, "SELECT status FROM reports WHERE id = :id", id=report_id) == "open"

    lifted = await act(server, mod, target, "reinstate", note="appeal accepted")
    assert lifted["user"] == {"id": str(target.id), "status": "active", "suspended_until": None}
    assert (lifted["action"]["action"], lifted["action"]["details"], lifted["action"]["days"]) == (
        "reinstate", None, None)
    assert tuple(await row(engine, "SELECT status, suspended_until FROM users WHERE id = :id", id=target.id)) == (
        "active", None)
    resp = await login(http, target)
    assert resp.status_code == 200, resp.text
    async with DeleteClient(ws(server), resp.json()["access_token"], auto_resume=False) as back:
        await back.call("ping")
    async with client(ws(server), mod) as c:
        dossier = await c.call("moderation.user", {"user_id": str(target.id)})
    assert [a["action"] for a in dossier["actions"]] == ["reinstate", "suspend"]
    assert dossier["actions"][0] == lifted["action"] and dossier["actions"][1] == reply["action"]


async def test_act_ban_closes_every_socket_and_reinstate_lifts_it(server: RunningServer, engine: AsyncEngine,
                                                                 http: httpx.AsyncClient) -> None:
    """ban: every socket gets account.suspended (no until) then 4403, every login is revoked; reinstate lifts it."""
    mod, target = await moderator(engine), await member(engine)
    tokens = await logged_in(http, target)
    async with DeleteClient(ws(server), tokens["access_token"], auto_resume=False) as phone, \
            client(ws(server), target) as tablet:
        reply = await act(server, mod, target, "ban", note="scammer", reason="fake_profile")
        for device in (phone, tablet):
            event = await device.next_event()
            assert event["type"] == "account.suspended" and event["data"] == {"reason": "fake_profile"}
            assert await closed_with(device) == 4403
    assert reply["user"] == {"id": str(target.id), "status": "banned", "suspended_until": None}
    live = await scalar(engine, "SELECT count(*) FROM token_families WHERE user_id = :id AND revoked_at IS NULL",
                        id=target.id)
    assert live == 0
    await assert_locked_out(server, http, target, tokens, "banned")
    await act(server, mod, target, "reinstate", note="mistaken identity")
    assert (await login(http, target)).status_code == 200


async def test_a_reinstated_user_is_discoverable_again(server: RunningServer, engine: AsyncEngine) -> None:
    """Banned: out of discovery; reinstated: a viewer's next request shows the person again."""
    mod = await moderator(engine)
    viewer = await make_person(engine, name="Viewer", gender="man", interested_in=("woman",),
                               location=(-33.87, 151.21))
    target = await make_person(engine, name="Target", gender="woman", interested_in=("man",),
                               location=(-33.87, 151.21))

    async def shown() -> set[str]:
        async with client(ws(server), viewer) as c:
            await c.call("discovery.request", {"count": 20})
            ids: set[str] = set()
            while True:
                event = await c.next_event()
                if event["type"] == "discovery.empty":
                    return ids
                ids.add(event["data"]["card"]["user_id"])
                if len(ids) >= 20:
                    return ids

    await act(server, mod, target, "ban", note="check")
    assert str(target.id) not in await shown()
    await act(server, mod, target, "reinstate", note="fine after all")
    assert str(target.id) in await shown()


# -- act: what is refused ---------------------------------------------------------------------------------------------

async def test_reinstate_needs_a_suspension_or_ban(server: RunningServer, engine: AsyncEngine) -> None:
    """Nothing to lift (active, a suspension already over, deleted) is a conflict, and nothing is audited."""
    mod = await moderator(engine)
    active, deleted = await make_person(engine), await make_person(engine, status="deleted")
    ended = await make_person(engine, status="suspended")
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET suspended_until = now() - interval '1 hour' WHERE id = :id"),
                           {"id": ended.id})
    async with client(ws(server), mod) as c:
        for person in (active, ended, deleted):
            code = await error_code(c, "moderation.act", {"user_id": str(person.id), "action": "reinstate",
                                                          "note": "n"})
            assert code == "conflict"
    audited = await scalar(engine, "SELECT count(*) FROM moderation_actions WHERE target_user_id IN (:a, :b, :c)",
                           a=active.id, b=ended.id, c=deleted.id)
    assert audited == 0


async def test_act_follows_the_resolution_table(server: RunningServer, engine: AsyncEngine) -> None:
    """Banned: warn and suspend are conflicts, ban again is idempotent (audited); deleted: conflict."""
    mod = await moderator(engine)
    banned, deleted = await make_person(engine, status="banned"), await make_person(engine, status="deleted")
    async with client(ws(server), mod) as c:
        for action, extra in (("warn", {}), ("suspend", {"days": 1})):
            data = {"user_id": str(banned.id), "action": action, "note": "n", **extra}
            assert await error_code(c, "moderation.act", data) == "conflict"
        again = await c.call("moderation.act", {"user_id": str(banned.id), "action": "ban", "note": "n"})
        assert again["user"]["status"] == "banned" and again["action"]["action"] == "ban"
        assert await error_code(c, "moderation.act", {"user_id": str(deleted.id), "action": "ban",
                                                      "note": "n"}) == "conflict"


async def test_a_moderator_cannot_act_on_themselves_but_on_another_moderator(server: RunningServer,
                                                                            engine: AsyncEngine) -> None:
    """Acting on one's own account is forbidden; another moderator's account may be acted on (audited)."""
    mod, other = await moderator(engine, "Alice"), await moderator(engine, "Bob")
    async with client(ws(server), mod) as c:
        for action in ("warn", "ban", "reinstate"):
            code = await error_code(c, "moderation.act", {"user_id": str(mod.id), "action": action, "note": "me"})
            assert code == "forbidden"
        reply = await c.call("moderation.act", {"user_id": str(other.id), "action": "warn", "note": "too harsh"})
    assert reply["action"]["target_user_id"] == str(other.id)
    assert await scalar(engine, "SELECT status FROM users WHERE id = :id", id=mod.id) == "active"


@pytest.mark.parametrize(("extra", "field"), [
    ({"action": "suspend"}, "days"),
    ({"action": "suspend", "days": 0}, "days"),
    ({"action": "suspend", "days": 3651}, "days"),
    ({"action": "warn", "days": 2}, "days"),
    ({"action": "reinstate", "days": 2}, "days"),
    ({"action": "reinstate", "reason": "spam"}, "reason"),
    ({"action": "dismiss"}, "action"),
    ({"action": "warn", "note": "   "}, "note"),
    ({"action": "warn", "reason": "auto_flag"}, "reason"),
])
async def test_act_validation(server: RunningServer, engine: AsyncEngine, extra: dict[str, Any],
                              field: str) -> None:
    mod, target = await moderator(engine), await make_person(engine)
    async with client(ws(server), mod) as c:
        with pytest.raises(ClientError) as caught:
            await c.call("moderation.act", {"user_id": str(target.id), "note": "n", **extra})
    error = caught.value
    assert error.details is not None and error.code == "validation_error" and field in error.details["fields"], error
    assert await scalar(engine, "SELECT count(*) FROM moderation_actions WHERE target_user_id = :id",
                        id=target.id) == 0


async def test_act_on_an_unknown_user_is_not_found(server: RunningServer, engine: AsyncEngine) -> None:
    async with client(ws(server), await moderator(engine)) as c:
        code = await error_code(c, "moderation.act", {"user_id": str(uuid.uuid4()), "action": "warn", "note": "n"})
    assert code == "not_found"


# -- two nodes -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def two_nodes(database_url: str, redis_url: str,
                    tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    """Nodes A and B in this process: same database, Redis and prefix, so they are one deployment."""
    prefix = random_prefix()
    media: Path = tmp_path_factory.mktemp("act-media")
    settings = [make_settings(database_url, redis_url, media, extra={"redis_prefix": prefix}) for _ in range(2)]
    async with run_server(settings[0]) as a, run_server(settings[1]) as b:
        yield a, b


async def test_a_suspension_on_node_a_closes_the_users_socket_on_node_b(
        two_nodes: tuple[RunningServer, RunningServer], engine: AsyncEngine) -> None:
    """moderation.act on one node: the user's sockets on both nodes get account.suspended, then 4403."""
    a, b = two_nodes
    mod, target = await moderator(engine), await make_person(engine)
    async with client(ws(a), target) as on_a, client(ws(b), target) as on_b, client(ws(a), mod) as desk:
        await desk.call("moderation.act", {"user_id": str(target.id), "action": "suspend", "days": 7, "note": "n"})
        for device in (on_a, on_b):
            event = await device.next_event()
            assert event["type"] == "account.suspended" and event["data"]["reason"] == "other"
            assert await closed_with(device) == 4403
