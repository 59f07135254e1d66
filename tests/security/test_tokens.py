"""Issue 7, tokens: forgeries are refused on every surface; logout, reuse, ban and deletion stop access at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.moderation.support import make_report, moderator
from tests.security.support import (
    ATTACKER_JWK,
    ATTACKER_KEY,
    FORGERIES,
    HS256,
    NONE,
    OUR_KEY,
    Genuine,
    auth_header,
    claims_of,
    closed_with,
    scalar,
    sign,
    socket_refusal,
    ws_url,
)
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer
from tests.support.users import PASSWORD

FORGED = sorted(FORGERIES)


async def login(http: httpx.AsyncClient, person: Person) -> dict[str, Any]:
    resp = await http.post("/v1/auth/login", json={"email": person.email, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def error_code(resp: httpx.Response) -> str:
    code: str = resp.json()["error"]["code"]
    return code


@pytest.fixture(scope="module")
async def genuine(server: RunningServer, engine: AsyncEngine) -> AsyncIterator[Genuine]:
    """A real login of a victim (never revoked by these tests), and another user to impersonate."""
    victim, other = await make_person(engine, name="Victim"), await make_person(engine, name="Other")
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        body = await login(http, victim)
    yield Genuine(body["access_token"], body["refresh_token"], victim.id, other.id)


# -- forged access tokens on every surface ---------------------------------------------------------------------

async def test_the_genuine_tokens_work_everywhere(server: RunningServer, http: httpx.AsyncClient,
                                                  genuine: Genuine) -> None:
    """Control case: the victim's real access token works over REST, both socket auths and renewal."""
    assert (await http.get("/v1/profile/photos", headers=auth_header(genuine.access))).status_code == 200
    for header_auth in (True, False):
        async with DeleteClient(ws_url(server), genuine.access, header_auth=header_auth, auto_resume=False) as c:
            assert (await c.call("me.get"))["user"]["id"] == str(genuine.user_id)
            assert (await c.call("auth", {"token": genuine.access}))["expires_at"].endswith("Z")


@pytest.mark.parametrize("kind", FORGED)
async def test_forged_access_token_is_401_over_rest(http: httpx.AsyncClient, genuine: Genuine, kind: str) -> None:
    """A forged, expired or wrong-type access token gets 401 unauthorized on GET /v1/profile/photos."""
    resp = await http.get("/v1/profile/photos", headers=auth_header(FORGERIES[kind](genuine)))
    assert resp.status_code == 401, f"{kind} accepted over REST: {resp.status_code} {resp.text}"
    assert error_code(resp) == "unauthorized"


@pytest.mark.parametrize("kind", FORGED)
async def test_forged_access_token_on_the_upgrade_closes_4401(server: RunningServer, genuine: Genuine,
                                                              kind: str) -> None:
    """A forged token in the upgrade's Authorization header closes the socket with 4401 (no hello)."""
    code = await socket_refusal(server, FORGERIES[kind](genuine), header_auth=True)
    assert code == 4401, f"{kind}: {'accepted' if code is None else code}"


@pytest.mark.parametrize("kind", FORGED)
async def test_forged_access_token_in_the_first_frame_closes_4401(server: RunningServer, genuine: Genuine,
                                                                  kind: str) -> None:
    """A forged token in the browser's first auth frame closes the socket with 4401 (no hello)."""
    code = await socket_refusal(server, FORGERIES[kind](genuine), header_auth=False)
    assert code == 4401, f"{kind}: {'accepted' if code is None else code}"


@pytest.mark.parametrize("kind", FORGED)
async def test_forged_token_renewal_is_refused_and_the_socket_keeps_its_identity(
        server: RunningServer, genuine: Genuine, kind: str) -> None:
    """`auth` with a forged token on a live socket is an error reply; the socket stays the victim's, and open."""
    async with DeleteClient(ws_url(server), genuine.access, auto_resume=False) as c:
        with pytest.raises(ClientError) as caught:
            await c.call("auth", {"token": FORGERIES[kind](genuine)})
        assert caught.value.code == "unauthorized"
        assert (await c.call("me.get"))["user"]["id"] == str(genuine.user_id)
        assert "time" in await c.call("ping")


async def test_our_own_tokens_carry_no_key_lookup_headers(genuine: Genuine) -> None:
    """Issued tokens name only their algorithm and type, so no header of a presented token is ever needed."""
    for token in (genuine.access, genuine.refresh):
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


# -- refresh and logout with the wrong tokens ---------------------------------------------------------------------

REFRESH_FORGERIES: dict[str, Callable[[Genuine], str]] = {
    "access_token_as_refresh": lambda g: g.access,
    "alg_none": lambda g: sign(NONE, claims_of(g.refresh), None),
    "signed_with_another_key": lambda g: sign(HS256, claims_of(g.refresh), ATTACKER_KEY),
    "missing_type": lambda g: sign(HS256, {k: v for k, v in claims_of(g.refresh).items() if k != "type"}, OUR_KEY),
    "jwk_header_embedding_another_key": lambda g: sign({**HS256, "jwk": ATTACKER_JWK}, claims_of(g.refresh),
                                                       ATTACKER_KEY),
}


@pytest.mark.parametrize("kind", sorted(REFRESH_FORGERIES))
async def test_wrong_tokens_neither_refresh_nor_log_out(http: httpx.AsyncClient, engine: AsyncEngine,
                                                        kind: str) -> None:
    """An access token or a forged refresh token is 401 on refresh and logout, and signs nobody out."""
    person, other = await make_person(engine), await make_person(engine)
    body = await login(http, person)
    g = Genuine(body["access_token"], body["refresh_token"], person.id, other.id)
    token = REFRESH_FORGERIES[kind](g)
    for path in ("/v1/auth/refresh", "/v1/auth/logout"):
        resp = await http.post(path, json={"refresh_token": token})
        assert resp.status_code == 401, f"{kind} on {path}: {resp.status_code} {resp.text}"
        assert error_code(resp) == "unauthorized"
    assert (await http.get("/v1/profile/photos", headers=auth_header(g.access))).status_code == 200
    assert (await http.post("/v1/auth/refresh", json={"refresh_token": g.refresh})).status_code == 200


async def test_an_expired_refresh_token_cannot_refresh(http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """A genuinely signed refresh token whose exp has passed gets 401 on refresh."""
    person = await make_person(engine)
    claims = claims_of((await login(http, person))["refresh_token"])
    expired = sign(HS256, {**claims, "exp": claims["iat"] - 1}, OUR_KEY)
    resp = await http.post("/v1/auth/refresh", json={"refresh_token": expired})
    assert resp.status_code == 401 and error_code(resp) == "unauthorized"


# -- rotation: concurrency and reuse -------------------------------------------------------------------------------

async def test_ten_concurrent_refreshes_make_one_new_token_and_no_fork(http: httpx.AsyncClient,
                                                                       engine: AsyncEngine) -> None:
    """10 simultaneous refreshes of one token: one 200, nine token_reused, and the family holds exactly 2 tokens."""
    person = await make_person(engine)
    body = await login(http, person)
    family = uuid.UUID(claims_of(body["refresh_token"])["fam"])
    families_before = await scalar(engine, "SELECT count(*) FROM token_families WHERE user_id = :u", u=person.id)
    async with asyncio.timeout(30):
        results = await asyncio.gather(*[
            http.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}) for _ in range(10)])
    winners = [r for r in results if r.status_code == 200]
    assert len(winners) == 1, [r.status_code for r in results]
    assert sorted(error_code(r) for r in results if r.status_code != 200) == ["token_reused"] * 9
    assert await scalar(engine, "SELECT count(*) FROM refresh_tokens WHERE family_id = :f", f=family) == 2
    assert await scalar(engine, "SELECT count(*) FROM token_families WHERE user_id = :u",
                        u=person.id) == families_before
    new_refresh = winners[0].json()["refresh_token"]
    assert uuid.UUID(claims_of(new_refresh)["fam"]) == family
    # the nine reuses revoked the login: the winner's tokens are dead as well (CONTRACT: every token of the family)
    assert (await http.post("/v1/auth/refresh", json={"refresh_token": new_refresh})).status_code == 401
    resp = await http.get("/v1/profile/photos", headers=auth_header(winners[0].json()["access_token"]))
    assert resp.status_code == 401


async def test_reuse_revokes_the_whole_family_on_rest_and_sockets(server: RunningServer, http: httpx.AsyncClient,
                                                                  engine: AsyncEngine) -> None:
    """A reused refresh token: every refresh and access token of that login is refused, its sockets close 4401."""
    person = await make_person(engine)
    first = await login(http, person)
    other_login = await login(http, person)
    url = ws_url(server)
    async with DeleteClient(url, first["access_token"], auto_resume=False) as old_socket:
        rotated = (await http.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
        async with DeleteClient(url, rotated["access_token"], header_auth=False, auto_resume=False) as new_socket, \
                DeleteClient(url, other_login["access_token"], auto_resume=False) as bystander:
            reused = await http.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
            assert reused.status_code == 401 and error_code(reused) == "token_reused"
            assert await closed_with(old_socket) == 4401
            assert await closed_with(new_socket) == 4401
            assert "time" in await bystander.call("ping")
    for refresh in (first["refresh_token"], rotated["refresh_token"]):
        resp = await http.post("/v1/auth/refresh", json={"refresh_token": refresh})
        assert resp.status_code == 401 and error_code(resp) in ("unauthorized", "token_reused")
    for access in (first["access_token"], rotated["access_token"]):
        assert (await http.get("/v1/profile/photos", headers=auth_header(access))).status_code == 401
        assert await socket_refusal(server, access, header_auth=True) == 4401
    assert (await http.get("/v1/profile/photos", headers=auth_header(other_login["access_token"]))).status_code == 200


# -- logout, ban and deletion stop access at once ---------------------------------------------------------------------

async def test_logout_closes_every_socket_of_the_login_and_its_token_cannot_renew(
        server: RunningServer, http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """After logout: both auth styles' sockets close 4401, REST 401, and the token cannot renew another socket."""
    person = await make_person(engine)
    leaving, staying = await login(http, person), await login(http, person)
    url = ws_url(server)
    async with DeleteClient(url, leaving["access_token"], auto_resume=False) as by_header, \
            DeleteClient(url, leaving["access_token"], header_auth=False, auto_resume=False) as by_frame, \
            DeleteClient(url, staying["access_token"], auto_resume=False) as other:
        assert (await http.post("/v1/auth/logout", json={"refresh_token": leaving["refresh_token"]})).status_code == 204
        assert await closed_with(by_header) == 4401
        assert await closed_with(by_frame) == 4401
        with pytest.raises(ClientError) as caught:
            await other.call("auth", {"token": leaving["access_token"]})
        assert caught.value.code == "unauthorized"
        assert "time" in await other.call("ping")
    assert (await http.get("/v1/profile/photos", headers=auth_header(leaving["access_token"]))).status_code == 401
    assert await socket_refusal(server, leaving["access_token"], header_auth=False) == 4401


async def test_a_renewed_socket_belongs_to_its_new_login(server: RunningServer, http: httpx.AsyncClient,
                                                         engine: AsyncEngine) -> None:
    """A socket renewed with another login's token is closed when that login logs out."""
    person = await make_person(engine)
    first, second = await login(http, person), await login(http, person)
    async with DeleteClient(ws_url(server), first["access_token"], auto_resume=False) as c:
        await c.call("auth", {"token": second["access_token"]})
        assert (await http.post("/v1/auth/logout", json={"refresh_token": second["refresh_token"]})).status_code == 204
        assert await closed_with(c) == 4401


async def test_account_deletion_stops_rest_refresh_and_other_logins_at_once(
        server: RunningServer, http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """After account.delete every login's access token is 401 over REST, refresh and logout are 401, sockets go."""
    person = await make_person(engine)
    phone, laptop = await login(http, person), await login(http, person)
    url = ws_url(server)
    async with DeleteClient(url, phone["access_token"], auto_resume=False) as c, \
            DeleteClient(url, laptop["access_token"], header_auth=False, auto_resume=False) as browser:
        assert await c.call("account.delete") == {}
        assert await closed_with(browser) == 1000  # docs/social.md: deletion closes every socket with 1000
    for tokens in (phone, laptop):
        resp = await http.get("/v1/profile/photos", headers=auth_header(tokens["access_token"]))
        assert resp.status_code == 401 and error_code(resp) == "unauthorized"
        resp = await http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert resp.status_code == 401
        assert (await http.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})).status_code in (
            204, 401)  # logging out a dead login may be acknowledged; it must not revive anything
        assert await socket_refusal(server, tokens["access_token"], header_auth=True) == 4401
        assert await socket_refusal(server, tokens["access_token"], header_auth=False) == 4401
    resp = await http.get("/v1/profile/photos", headers=auth_header(phone["access_token"]))
    assert resp.status_code == 401


async def test_a_ban_refuses_every_rest_endpoint_and_socket_at_once(
        server: RunningServer, http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """After a ban the old access token is 401 on every authenticated endpoint and 4401 on a new socket."""
    mod, reporter, target = await moderator(engine), await make_person(engine), await make_person(engine)
    report_id = await make_report(engine, reporter, target)
    tokens = await login(http, target)
    url = ws_url(server)
    async with DeleteClient(url, tokens["access_token"], header_auth=False, auto_resume=False) as browser, \
            DeleteClient(url, mod.token, auto_resume=False) as desk:
        await desk.call("moderation.resolve", {"report_id": str(report_id), "action": "ban", "note": "spam ring"})
        assert (await browser.next_event("account.suspended"))["data"] == {"reason": "harassment"}
        assert await closed_with(browser) == 4403
    headers = auth_header(tokens["access_token"])
    photo_id = await scalar(engine, "SELECT id FROM photos WHERE user_id = :u", u=target.id)
    for resp in (await http.get("/v1/profile/photos", headers=headers),
                 await http.post("/v1/profile/photos", headers=headers, files={"file": ("a.jpg", b"x")}),
                 await http.delete(f"/v1/profile/photos/{photo_id}", headers=headers)):
        assert resp.status_code == 401 and error_code(resp) == "unauthorized", resp.text
    assert await scalar(engine, "SELECT count(*) FROM photos WHERE id = :p", p=photo_id) == 1
    assert (await http.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    assert await socket_refusal(server, tokens["access_token"], header_auth=True) == 4401
