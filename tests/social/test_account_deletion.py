"""`account.delete` through the real socket: matches end, sockets close with 1000, logins stop, data goes."""

from __future__ import annotations

import uuid

import httpx
import pytest
from delete_client import Closed, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.social.support import error_code, online, scalar
from tests.support.factory import Person, make_match, make_person
from tests.support.server import RunningServer
from tests.support.users import PASSWORD, signup


async def test_deletion_ends_matches_closes_sockets_and_stops_login(server: RunningServer, engine: AsyncEngine,
                                                                    http: httpx.AsyncClient) -> None:
    """Every open match becomes deleted (partners told), all sockets close with 1000 and the login is refused."""
    body = await signup(http, display_name="Leaving")  # a real password, to log in with
    me = Person(uuid.UUID(body["user"]["id"]), body["user"]["email"], body["access_token"])
    partners = [await make_person(engine) for _ in range(4)]
    states = ["active", "archived", "dating", "unmatched"]
    match_ids = [str(await make_match(engine, me, p, state=s)) for p, s in zip(partners, states, strict=True)]
    assert (await http.post("/v1/auth/login", json={"email": me.email, "password": PASSWORD})).status_code == 200

    url = server.ws_url + "/v1/ws"
    async with online(server, *partners) as clients:
        phone, tablet = DeleteClient(url, me.token), DeleteClient(url, me.token)
        await phone.connect()
        await tablet.connect()
        try:
            assert await phone.call("account.delete") == {}
            for device in (phone, tablet):
                with pytest.raises(Closed) as info:
                    await device.next_event("never.sent", timeout=5)
                assert info.value.code == 1000 and device.close_code == 1000
        finally:
            await phone.close()
            await tablet.close()
        for client, match_id in zip(clients[:3], match_ids[:3], strict=True):
            assert (await client.next_event("match.updated"))["data"] == {
                "match_id": match_id, "state": "deleted", "by": me.key, "reason": "account_deleted"}
        # the partners can no longer like or find the deleted person
        assert (await error_code(clients[3], "block", {"user_id": me.key})).code == "not_found"

    for match_id, state in zip(match_ids, ["deleted", "deleted", "deleted", "unmatched"], strict=True):
        assert await scalar(engine, "SELECT state FROM matches WHERE id = :m", m=uuid.UUID(match_id)) == state
    resp = await http.post("/v1/auth/login", json={"email": me.email, "password": PASSWORD})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "invalid_credentials"
    with pytest.raises(Closed) as info:  # the old access token is dead too
        async with DeleteClient(url, me.token, auto_resume=False):
            pass
    assert info.value.code == 4401


async def test_deletion_erases_the_profile_and_frees_the_email(server: RunningServer, engine: AsyncEngine,
                                                               http: httpx.AsyncClient) -> None:
    """Photos (files too), prompts, quiz, badges, passes and the event inbox go; the email can sign up again."""
    me = await make_person(engine, photos=2)
    other = await make_person(engine)
    keys = [key for row in await _rows(engine, "SELECT storage_key, thumb_key FROM photos WHERE user_id = :u", me.id)
            for key in row]
    media = server.settings.media_path
    media.mkdir(parents=True, exist_ok=True)
    for key in keys:
        (media / key).write_bytes(b"jpeg")
    async with online(server, me) as (c,):
        await c.call("pass", {"user_id": other.key})
        await c.call("account.delete")
    for table, column in [("photos", "user_id"), ("quiz_responses", "user_id"), ("user_traits", "user_id"),
                          ("user_badges", "user_id"), ("passes", "passer_id"), ("user_events", "user_id")]:
        assert await scalar(engine, f"SELECT count(*) FROM {table} WHERE {column} = :u", u=me.id) == 0, table  # noqa: S608
    assert not any((media / key).exists() for key in keys)
    row = (await _rows(engine, "SELECT status, deleted_at IS NOT NULL, email, display_name, lat, "
                               "extract(doy FROM birthdate) FROM users WHERE id = :u", me.id))[0]
    assert row[:2] == ("deleted", True)
    assert row[2] != me.email and row[2].endswith("@deleted.invalid")
    assert row[3] == "Deleted user" and row[4] is None and int(row[5]) == 1
    assert await scalar(engine, "SELECT count(*) FROM token_families WHERE user_id = :u AND revoked_at IS NULL",
                        u=me.id) == 0
    await signup(http, email=me.email)  # 201: the address is free again


async def _rows(engine: AsyncEngine, sql: str, user_id: uuid.UUID) -> list[tuple[object, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql), {"u": user_id})).all()]
