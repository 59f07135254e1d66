"""Email verification (CONTRACT section 1, "accounts"): the mail signup sends, verify, resend and its limit."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import httpx
import pytest
from delete_client import DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.accounts.support import (
    MAIL_FROM,
    bearer,
    latest_token,
    link_in,
    mails_to,
    new_account,
    token_of,
    wait_for_mails,
)
from tests.support.factory import make_person
from tests.support.rest import assert_error
from tests.support.server import RunningServer
from tests.support.smtp import SmtpSink


async def test_signup_mails_a_link_that_verifies_the_address_once(
        client: httpx.AsyncClient, sink: SmtpSink, accounts_engine: AsyncEngine,
        caplog: pytest.LogCaptureFixture) -> None:
    """Signup's mail (text and HTML, from MAIL_FROM) links to <APP_BASE_URL>/verify-email#token=…; following it
    verifies the address and answers the user; the link then no longer works. Only the token's SHA-256 is
    stored, and no log line carries the token."""
    caplog.set_level(logging.DEBUG)
    body = await new_account(client, display_name="Vera")
    email = body["user"]["email"]
    assert body["user"]["email_verified"] is False
    [mail] = await wait_for_mails(sink, email)
    assert mail["From"] == MAIL_FROM and "Confirm" in str(mail["Subject"])
    assert mail.get_body(("plain",)).get_content().startswith("Hi Vera,")  # type: ignore[union-attr]
    token = token_of(link_in(mail, "verify-email"))
    assert len(token) >= 43

    async with accounts_engine.connect() as conn:
        stored = (await conn.execute(text("SELECT token_hash FROM account_tokens WHERE user_id = :u"),
                                     {"u": body["user"]["id"]})).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).digest()]

    verified = await client.post("/v1/auth/email/verify", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert set(verified.json()) == {"user"}
    assert verified.json()["user"]["id"] == body["user"]["id"] and verified.json()["user"]["email_verified"] is True
    again = await client.post("/v1/auth/email/verify", json={"token": token})
    assert_error(again, 400, "invalid_token")
    login = await client.post("/v1/auth/login", json={"email": email, "password": "correct horse battery"})
    assert login.json()["user"]["email_verified"] is True
    assert token not in caplog.text


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 200])
async def test_unknown_tokens_are_invalid(client: httpx.AsyncClient, token: str) -> None:
    assert_error(await client.post("/v1/auth/email/verify", json={"token": token}), 400, "invalid_token")


async def test_an_expired_link_is_invalid(client: httpx.AsyncClient, sink: SmtpSink,
                                          accounts_engine: AsyncEngine) -> None:
    """A verification link works for 48 hours: one whose expiry has passed is ``invalid_token``."""
    body = await new_account(client)
    token = await latest_token(sink, body["user"]["email"], "verify-email")
    async with accounts_engine.begin() as conn:
        expiry = (await conn.execute(text("SELECT expires_at - created_at FROM account_tokens WHERE user_id = :u"),
                                     {"u": body["user"]["id"]})).scalar_one()
        assert expiry.total_seconds() == 48 * 3600
        await conn.execute(text("UPDATE account_tokens SET expires_at = now() - interval '1 second' "
                                "WHERE user_id = :u"), {"u": body["user"]["id"]})
    assert_error(await client.post("/v1/auth/email/verify", json={"token": token}), 400, "invalid_token")


async def test_resend_supersedes_earlier_links_and_allows_three_an_hour(client: httpx.AsyncClient,
                                                                       sink: SmtpSink) -> None:
    """Each resend mails a new link and the earlier ones stop working; the fourth within the hour is 429 with
    Retry-After; a verified address gets no more mail."""
    body = await new_account(client)
    email, auth = body["user"]["email"], bearer(body["access_token"])
    first = await latest_token(sink, email, "verify-email")
    for n in range(2, 5):
        resp = await client.post("/v1/auth/email/resend", headers=auth)
        assert resp.status_code == 202 and resp.json() == {}, resp.text
        await wait_for_mails(sink, email, n)
    tokens = [token_of(link_in(m, "verify-email")) for m in mails_to(sink, email)]
    assert len(set(tokens)) == 4 and tokens[0] == first
    limited = await client.post("/v1/auth/email/resend", headers=auth)
    error = assert_error(limited, 429, "rate_limited")
    assert 3500 <= int(limited.headers["retry-after"]) <= 3600
    assert error["details"]["retry_after_s"] == int(limited.headers["retry-after"])

    for old in tokens[:3]:
        assert_error(await client.post("/v1/auth/email/verify", json={"token": old}), 400, "invalid_token")
    assert (await client.post("/v1/auth/email/verify", json={"token": tokens[3]})).status_code == 200
    await asyncio.sleep(0.3)
    assert len(mails_to(sink, email)) == 4  # the refused resend sent nothing


async def test_resend_needs_a_login_and_sends_nothing_once_verified(client: httpx.AsyncClient,
                                                                     sink: SmtpSink) -> None:
    assert_error(await client.post("/v1/auth/email/resend"), 401, "unauthorized")
    body = await new_account(client)
    email = body["user"]["email"]
    token = await latest_token(sink, email, "verify-email")
    assert (await client.post("/v1/auth/email/verify", json={"token": token})).status_code == 200
    resp = await client.post("/v1/auth/email/resend", headers=bearer(body["access_token"]))
    assert resp.status_code == 202
    await asyncio.sleep(0.3)
    assert len(mails_to(sink, email)) == 1


async def test_moderators_see_whether_the_address_is_verified(client: httpx.AsyncClient, sink: SmtpSink,
                                                              accounts_server: RunningServer,
                                                              accounts_engine: AsyncEngine) -> None:
    """The dossier's account (``moderation.user``) carries ``email_verified``."""
    body = await new_account(client)
    mo = await make_person(accounts_engine, name="Mo", role="moderator")
    async with DeleteClient(accounts_server.ws_url + "/v1/ws", mo.token, auto_resume=False) as moderator:
        before = await moderator.call("moderation.user", {"user_id": body["user"]["id"]})
        token = await latest_token(sink, body["user"]["email"], "verify-email")
        assert (await client.post("/v1/auth/email/verify", json={"token": token})).status_code == 200
        after = await moderator.call("moderation.user", {"user_id": body["user"]["id"]})
    assert before["user"]["email_verified"] is False and after["user"]["email_verified"] is True
