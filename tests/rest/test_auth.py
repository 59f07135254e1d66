"""CONTRACT section 1: signup, login, refresh and logout."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.rest import assert_error
from tests.support.settings import TEST_JWT_SECRET
from tests.support.users import PASSWORD, auth_header, new_email, signup, years_ago


async def test_signup_returns_profile_and_tokens(http: httpx.AsyncClient) -> None:
    """Signup answers 201 with the caller's own profile, a token pair, bearer type and 1800 s lifetime."""
    email = new_email()
    resp = await http.post("/v1/auth/signup", json={"email": email, "password": PASSWORD,
                                                    "display_name": "Ada", "birthdate": "1995-05-17"})
    assert resp.status_code == 201
    body = resp.json()
    assert set(body) == {"user", "access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800
    user = body["user"]
    uuid.UUID(user["id"])
    assert user["email"] == email and user["display_name"] == "Ada" and user["birthdate"] == "1995-05-17"
    assert "password" not in str(user) and "hash" not in str(user)
    assert user["role"] == "user" and user["status"] == "active"
    assert user["created_at"].endswith("Z")


async def test_tokens_carry_the_contract_claims(http: httpx.AsyncClient) -> None:
    """Access and refresh tokens are HS256 JWTs with sub, type, exp, iat, jti; refresh carries the family."""
    body = await signup(http)
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    access = jwt.decode(body["access_token"], TEST_JWT_SECRET, algorithms=["HS256"])
    refresh = jwt.decode(body["refresh_token"], TEST_JWT_SECRET, algorithms=["HS256"])
    assert access["sub"] == body["user"]["id"] and access["type"] == "access"
    assert refresh["type"] == "refresh" and refresh["fam"] == access["fam"]
    assert access["exp"] - access["iat"] == 1800
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 3600
    assert access["jti"] != refresh["jti"]


async def test_signup_refuses_under_18_and_accepts_18_today(http: httpx.AsyncClient) -> None:
    """Someone a day short of 18 gets 422 naming birthdate; someone turning 18 today can sign up."""
    almost = years_ago(18) + timedelta(days=1)
    resp = await http.post("/v1/auth/signup", json={"email": new_email(), "password": PASSWORD,
                                                    "display_name": "Kid", "birthdate": almost.isoformat()})
    err = assert_error(resp, 422, "validation_error")
    assert "birthdate" in err["details"]["fields"]
    await signup(http, birthdate=years_ago(18).isoformat())


async def test_signup_taken_email_is_409_case_insensitive(http: httpx.AsyncClient) -> None:
    """An email already used, in any letter case, is 409 email_taken."""
    email = new_email()
    await signup(http, email=email)
    resp = await http.post("/v1/auth/signup", json={"email": email.upper(), "password": PASSWORD,
                                                    "display_name": "B", "birthdate": "1990-01-01"})
    assert_error(resp, 409, "email_taken")


@pytest.mark.parametrize(("payload", "fields"), [
    ({"password": PASSWORD, "display_name": "A", "birthdate": "1990-01-01"}, {"email"}),
    ({"email": "not-an-email", "password": PASSWORD, "display_name": "A", "birthdate": "1990-01-01"}, {"email"}),
    ({"email": "a@b.test", "password": "short", "display_name": "A", "birthdate": "1990-01-01"}, {"password"}),
    ({"email": "a@b.test", "password": "x" * 129, "display_name": "A", "birthdate": "1990-01-01"}, {"password"}),
    ({"email": "a@b.test", "password": 12345678, "display_name": "A", "birthdate": "1990-01-01"}, {"password"}),
    ({"email": "a@b.test", "password": PASSWORD, "display_name": "", "birthdate": "1990-01-01"}, {"display_name"}),
    ({"email": "a@b.test", "password": PASSWORD, "display_name": "A", "birthdate": "01/02/1990"}, {"birthdate"}),
    ({"email": "a@b.test", "password": PASSWORD, "display_name": "A", "birthdate": 631152000}, {"birthdate"}),
    ({"email": "a@b.test", "password": PASSWORD, "display_name": "A", "birthdate": "1990-01-01", "role": "moderator"},
     {"role"}),
])
async def test_signup_bad_fields_are_422_listing_them(http: httpx.AsyncClient, payload: dict, fields: set) -> None:
    """Missing, malformed, wrongly typed and unknown fields give 422 validation_error listing the fields."""
    resp = await http.post("/v1/auth/signup", json=payload)
    err = assert_error(resp, 422, "validation_error")
    assert set(err["details"]["fields"]) == fields


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b"\xff\xfe\x00"])
async def test_malformed_json_is_400(http: httpx.AsyncClient, raw: bytes) -> None:
    """A body that is not a JSON object is 400 bad_request on every JSON endpoint."""
    for path in ("/v1/auth/signup", "/v1/auth/login", "/v1/auth/refresh", "/v1/auth/logout"):
        resp = await http.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert_error(resp, 400, "bad_request")


async def test_oversize_json_body_is_413(http: httpx.AsyncClient) -> None:
    """A JSON body over 64 KiB is refused with 413 in the error shape, declared or streamed."""
    big = b'{"email": "' + b"a" * 70_000 + b'"}'
    assert_error(await http.post("/v1/auth/login", content=big), 413, "bad_request")

    async def chunks():
        yield b'{"email": "'
        for _ in range(20):
            yield b"a" * 8192

    assert_error(await http.post("/v1/auth/login", content=chunks()), 413, "bad_request")


async def test_login_returns_the_same_token_body(http: httpx.AsyncClient) -> None:
    """Login answers 200 with the profile and a fresh token pair."""
    email = new_email()
    created = await signup(http, email=email)
    resp = await http.post("/v1/auth/login", json={"email": email.upper(), "password": PASSWORD})
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"user", "access_token", "refresh_token", "token_type", "expires_in"}
    assert body["user"]["id"] == created["user"]["id"]
    assert body["refresh_token"] != created["refresh_token"]


async def test_wrong_password_and_unknown_email_are_identical(http: httpx.AsyncClient) -> None:
    """Wrong password and unknown email give the same 401 invalid_credentials body."""
    email = new_email()
    await signup(http, email=email)
    wrong = await http.post("/v1/auth/login", json={"email": email, "password": "wrong password!"})
    unknown = await http.post("/v1/auth/login", json={"email": new_email(), "password": "wrong password!"})
    assert_error(wrong, 401, "invalid_credentials")
    assert wrong.status_code == unknown.status_code
    assert wrong.json() == unknown.json()


async def test_repeated_failures_are_throttled_with_retry_after(http: httpx.AsyncClient) -> None:
    """After 5 failures on one account, even the right password gets 429 rate_limited with Retry-After."""
    email = new_email()
    await signup(http, email=email)
    for _ in range(5):
        assert (await http.post("/v1/auth/login", json={"email": email, "password": "nope nope"})).status_code == 401
    resp = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    err = assert_error(resp, 429, "rate_limited")
    assert 0 < int(resp.headers["Retry-After"]) <= 900
    assert err["details"]["retry_after_s"] == int(resp.headers["Retry-After"])
    other = new_email()
    await signup(http, email=other)
    assert (await http.post("/v1/auth/login", json={"email": other, "password": PASSWORD})).status_code == 200


async def test_unknown_emails_are_throttled_too(http: httpx.AsyncClient) -> None:
    """Throttling does not reveal which accounts exist: unknown emails are throttled the same way."""
    email = new_email()
    for _ in range(5):
        await http.post("/v1/auth/login", json={"email": email, "password": "nope nope"})
    assert_error(await http.post("/v1/auth/login", json={"email": email, "password": "nope nope"}),
                 429, "rate_limited")


@pytest.mark.parametrize("status", ["suspended", "banned"])
async def test_suspended_or_banned_login_is_403(http: httpx.AsyncClient, engine: AsyncEngine, status: str) -> None:
    """A suspended or banned account with the right password gets 403 account_suspended."""
    email = new_email()
    await signup(http, email=email)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET status = :s, suspended_until = :u WHERE email = :e"),
                           {"s": status, "e": email, "u": datetime.now(UTC) + timedelta(days=3)})
    resp = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    err = assert_error(resp, 403, "account_suspended")
    if status == "suspended":
        assert err["details"]["until"].endswith("Z")


async def test_suspension_that_ended_lets_the_user_back_in(http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """A suspension whose days are over no longer blocks login."""
    email = new_email()
    await signup(http, email=email)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET status = 'suspended', suspended_until = :u WHERE email = :e"),
                           {"e": email, "u": datetime.now(UTC) - timedelta(minutes=1)})
    resp = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 200
    assert resp.json()["user"]["status"] == "active"


async def test_refresh_rotates_and_each_token_works_once(http: httpx.AsyncClient) -> None:
    """Refresh gives a new pair; the new refresh token works; the old one presented again is token_reused."""
    body = await signup(http)
    first = await http.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != body["refresh_token"] and rotated["access_token"] != body["access_token"]
    second = await http.post("/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert second.status_code == 200
    reused = await http.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert_error(reused, 401, "token_reused")


async def test_reuse_revokes_the_whole_family(http: httpx.AsyncClient) -> None:
    """After a reuse, the newest refresh token and the family's access tokens stop working; other logins don't."""
    email = new_email()
    body = await signup(http, email=email)
    other_login = (await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD})).json()
    rotated = (await http.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})).json()
    assert_error(await http.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}),
                 401, "token_reused")
    assert_error(await http.post("/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}),
                 401, "unauthorized")
    assert_error(await http.get("/v1/profile/photos", headers=auth_header(rotated["access_token"])),
                 401, "unauthorized")
    ok = await http.get("/v1/profile/photos", headers=auth_header(other_login["access_token"]))
    assert ok.status_code == 200


async def test_concurrent_refreshes_make_exactly_one_new_token(http: httpx.AsyncClient) -> None:
    """10 simultaneous refreshes of one token: exactly one succeeds, the rest are token_reused."""
    body = await signup(http)
    results = await asyncio.gather(*[
        http.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}) for _ in range(10)])
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 1, statuses
    assert all(r.json()["error"]["code"] == "token_reused" for r in results if r.status_code != 200)


async def test_token_types_are_not_interchangeable(http: httpx.AsyncClient) -> None:
    """A refresh token is refused as an access token, and an access token as a refresh token."""
    body = await signup(http)
    assert_error(await http.get("/v1/profile/photos", headers=auth_header(body["refresh_token"])),
                 401, "unauthorized")
    assert_error(await http.post("/v1/auth/refresh", json={"refresh_token": body["access_token"]}),
                 401, "unauthorized")


async def test_logout_revokes_its_family(http: httpx.AsyncClient) -> None:
    """Logout answers 204; that login's refresh and access tokens stop working at once."""
    body = await signup(http)
    resp = await http.post("/v1/auth/logout", json={"refresh_token": body["refresh_token"]})
    assert resp.status_code == 204 and resp.content == b""
    assert_error(await http.post("/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}),
                 401, "unauthorized")
    assert_error(await http.get("/v1/profile/photos", headers=auth_header(body["access_token"])),
                 401, "unauthorized")


async def test_logout_with_a_garbage_token_is_401(http: httpx.AsyncClient) -> None:
    """Logout with something that is not our refresh token is 401 unauthorized."""
    assert_error(await http.post("/v1/auth/logout", json={"refresh_token": "abc.def.ghi"}), 401, "unauthorized")


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "bearer x.y.z"])
async def test_missing_or_invalid_bearer_is_401(http: httpx.AsyncClient, header: str | None) -> None:
    """Missing or invalid Authorization gives 401 unauthorized in the error shape."""
    headers = {"Authorization": header} if header else {}
    assert_error(await http.get("/v1/profile/photos", headers=headers), 401, "unauthorized")


async def test_expired_and_forged_access_tokens_are_401(http: httpx.AsyncClient) -> None:
    """An expired token, one signed with another key, and alg=none are all refused."""
    body = await signup(http)
    claims = jwt.decode(body["access_token"], TEST_JWT_SECRET, algorithms=["HS256"])
    past = dict(claims, iat=int(datetime.now(UTC).timestamp()) - 4000, exp=int(datetime.now(UTC).timestamp()) - 10)
    for token in (
        jwt.encode(past, TEST_JWT_SECRET, algorithm="HS256"),
        jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256"),
        jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS512"),
        jwt.encode(claims, None, algorithm="none"),
    ):
        assert_error(await http.get("/v1/profile/photos", headers=auth_header(token)), 401, "unauthorized")


async def test_long_passwords_are_not_truncated(http: httpx.AsyncClient) -> None:
    """Two passwords equal in their first 72 bytes are different passwords (no bcrypt truncation)."""
    email = new_email()
    base = "p" * 80
    await signup(http, email=email, password=base + "-one")
    wrong = await http.post("/v1/auth/login", json={"email": email, "password": base + "-two"})
    assert_error(wrong, 401, "invalid_credentials")
    assert (await http.post("/v1/auth/login", json={"email": email, "password": base + "-one"})).status_code == 200


async def test_non_ascii_passwords_work_in_any_normal_form(http: httpx.AsyncClient) -> None:
    """37 × 'é' (74 UTF-8 bytes) signs up and logs in, also typed in decomposed form."""
    email = new_email()
    await signup(http, email=email, password="é" * 37)
    decomposed = "e\u0301" * 37
    assert (await http.post("/v1/auth/login", json={"email": email, "password": decomposed})).status_code == 200


async def test_passwords_are_stored_as_bcrypt_at_the_configured_cost(http: httpx.AsyncClient,
                                                                     engine: AsyncEngine) -> None:
    """The stored hash is bcrypt at the server's configured cost, never the password."""
    email = new_email()
    await signup(http, email=email)
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT password_hash FROM users WHERE email = :e"), {"e": email})).scalar()
    assert stored.startswith("$2b$04$") and PASSWORD not in stored


async def test_refresh_tokens_are_stored_hashed(http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """No refresh token is stored raw: the database holds a 32-byte digest."""
    body = await signup(http)
    jti = jwt.decode(body["refresh_token"], TEST_JWT_SECRET, algorithms=["HS256"])["jti"]
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT token_hash FROM refresh_tokens WHERE id = :j"), {"j": jti})).scalar()
    assert len(stored) == 32 and body["refresh_token"].encode() not in stored


def test_birthdate_rule_is_about_whole_years() -> None:
    """A 29 February birthday turns 18 on 1 March in non-leap years."""
    from domain.profiles.age import age_on

    assert age_on(date(2004, 2, 29), date(2022, 2, 28)) == 17
    assert age_on(date(2004, 2, 29), date(2022, 3, 1)) == 18


async def test_rest_user_is_the_same_full_profile_as_me_get(http: httpx.AsyncClient, server) -> None:
    """The user object of signup and login is the caller's full own profile, exactly as me.get returns it."""
    from delete_client import DeleteClient

    body = await signup(http)
    login = (await http.post("/v1/auth/login", json={"email": body["user"]["email"], "password": PASSWORD})).json()
    async with DeleteClient(server.ws_url + "/v1/ws", body["access_token"]) as client:
        me = (await client.call("me.get"))["user"]
    assert set(body["user"]) == set(me) == set(login["user"])
    assert {k: v for k, v in login["user"].items()} == me
