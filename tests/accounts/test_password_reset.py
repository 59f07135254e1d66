"""A forgotten password (CONTRACT section 1, "accounts"): forgot mails a link, reset uses it once."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.accounts.support import (
    bearer,
    latest_token,
    link_in,
    login,
    mails_to,
    new_account,
    token_of,
    unknown_email,
    wait_for_mails,
)
from tests.support.rest import assert_error
from tests.support.smtp import SmtpSink
from tests.support.users import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


async def forgot(http: httpx.AsyncClient, email: str) -> None:
    resp = await http.post("/v1/auth/password/forgot", json={"email": email})
    assert resp.status_code == 202 and resp.json() == {}, resp.text


async def flush(http: httpx.AsyncClient, sink: SmtpSink) -> None:
    """Wait until every earlier forgot request was worked through: the worker takes them in order, so once a
    fresh account's reset mail arrived, everything asked before it was handled."""
    body = await new_account(http)
    await forgot(http, body["user"]["email"])
    await wait_for_mails(sink, body["user"]["email"], 2)


async def reset_token(http: httpx.AsyncClient, sink: SmtpSink, email: str, count: int = 1) -> str:
    """Ask for a reset and return the token of the ``count``-th reset mail (the first mail is signup's)."""
    await forgot(http, email)
    mails = await wait_for_mails(sink, email, 1 + count)
    return token_of(link_in(mails[count], "reset-password"))


async def test_the_reset_link_sets_a_new_password_once_and_signs_out_everywhere(
        client: httpx.AsyncClient, sink: SmtpSink, caplog: pytest.LogCaptureFixture) -> None:
    """forgot → a mail linking <APP_BASE_URL>/reset-password#token=…; reset → the token body of a new login;
    the new password works, the old one does not, the old logins' refresh and access tokens are refused,
    the token works once, and no log line carries it."""
    caplog.set_level(logging.DEBUG)
    body = await new_account(client, display_name="Rosa")
    email = body["user"]["email"]
    second = (await login(client, email)).json()
    token = await reset_token(client, sink, email)
    mail = mails_to(sink, email)[1]
    assert "Reset" in str(mail["Subject"]) and "30 minutes" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    resp = await client.post("/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert resp.status_code == 200, resp.text
    fresh = resp.json()
    assert set(fresh) == {"user", "access_token", "refresh_token", "token_type", "expires_in"}
    assert fresh["user"]["id"] == body["user"]["id"]
    assert fresh["user"]["email_verified"] is True  # the link reached the mailbox
    assert_error(await login(client, email), 401, "invalid_credentials")
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200
    for old in (body, second):
        assert_error(await client.post("/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}), 401,
                     "unauthorized")
        assert_error(await client.get("/v1/profile/photos", headers=bearer(old["access_token"])), 401, "unauthorized")
    assert (await client.get("/v1/profile/photos", headers=bearer(fresh["access_token"]))).status_code == 200
    assert (await client.post("/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})).status_code == 200
    again = await client.post("/v1/auth/password/reset", json={"token": token, "password": "yet another one"})
    assert_error(again, 400, "invalid_token")
    assert token not in caplog.text and NEW_PASSWORD not in caplog.text


async def test_an_unknown_email_gets_the_same_answer_and_no_mail(client: httpx.AsyncClient, sink: SmtpSink,
                                                                 accounts_engine: AsyncEngine) -> None:
    nobody = unknown_email()
    await forgot(client, nobody)
    await flush(client, sink)
    assert mails_to(sink, nobody) == []
    async with accounts_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM mail_outbox WHERE recipient = :r"),
                                   {"r": nobody})).scalar_one() == 0


async def test_at_most_three_reset_mails_an_hour_the_rest_silently_dropped(client: httpx.AsyncClient,
                                                                           sink: SmtpSink) -> None:
    body = await new_account(client)
    email = body["user"]["email"]
    for _ in range(5):
        await forgot(client, email)  # asserts the same 202 {} each time
    await wait_for_mails(sink, email, 4)
    await flush(client, sink)
    await asyncio.sleep(0.2)
    resets = [m for m in mails_to(sink, email) if "reset-password" in m.get_body(("plain",)).get_content()]  # type: ignore[union-attr]
    assert len(resets) == 3


async def test_a_reset_token_issued_before_a_later_reset_no_longer_works(client: httpx.AsyncClient,
                                                                         sink: SmtpSink) -> None:
    body = await new_account(client)
    email = body["user"]["email"]
    earlier = await reset_token(client, sink, email, 1)
    later = await reset_token(client, sink, email, 2)
    assert (await client.post("/v1/auth/password/reset",
                              json={"token": later, "password": NEW_PASSWORD})).status_code == 200
    assert_error(await client.post("/v1/auth/password/reset", json={"token": earlier, "password": "other pass 1"}),
                 400, "invalid_token")
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200


async def test_a_reset_token_issued_before_a_password_change_no_longer_works(
        client: httpx.AsyncClient, sink: SmtpSink, accounts_engine: AsyncEngine) -> None:
    """Changed while signed in, the password outdates every earlier reset link: the link is superseded, and
    even un-superseded (as a request racing the change would leave it) it is older than the password."""
    body = await new_account(client)
    email = body["user"]["email"]
    token = await reset_token(client, sink, email)
    changed = await client.post("/v1/auth/password/change", headers=bearer(body["access_token"]),
                                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 200, changed.text
    assert_error(await client.post("/v1/auth/password/reset", json={"token": token, "password": "other pass 1"}),
                 400, "invalid_token")
    async with accounts_engine.begin() as conn:
        await conn.execute(text("UPDATE account_tokens SET used_at = NULL WHERE user_id = :u "
                                "AND purpose = 'reset_password'"), {"u": body["user"]["id"]})
    assert_error(await client.post("/v1/auth/password/reset", json={"token": token, "password": "other pass 1"}),
                 400, "invalid_token")
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200


async def test_a_bad_new_password_leaves_the_link_usable(client: httpx.AsyncClient, sink: SmtpSink) -> None:
    body = await new_account(client)
    token = await reset_token(client, sink, body["user"]["email"])
    short = await client.post("/v1/auth/password/reset", json={"token": token, "password": "short"})
    assert assert_error(short, 422, "validation_error")["details"]["fields"] == {
        "password": "must be 8 to 128 characters"}
    assert (await client.post("/v1/auth/password/reset",
                              json={"token": token, "password": NEW_PASSWORD})).status_code == 200


async def test_a_reset_link_expires_after_30_minutes(client: httpx.AsyncClient, sink: SmtpSink,
                                                     accounts_engine: AsyncEngine) -> None:
    body = await new_account(client)
    token = await reset_token(client, sink, body["user"]["email"])
    async with accounts_engine.begin() as conn:
        lifetime = (await conn.execute(text("SELECT expires_at - created_at FROM account_tokens WHERE user_id = :u "
                                            "AND purpose = 'reset_password'"), {"u": body["user"]["id"]})).scalar_one()
        assert lifetime.total_seconds() == 30 * 60
        await conn.execute(text("UPDATE account_tokens SET expires_at = now() - interval '1 second' "
                                "WHERE user_id = :u"), {"u": body["user"]["id"]})
    assert_error(await client.post("/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}),
                 400, "invalid_token")


async def test_a_verification_token_is_no_reset_token(client: httpx.AsyncClient, sink: SmtpSink) -> None:
    body = await new_account(client)
    verify = await latest_token(sink, body["user"]["email"], "verify-email")
    assert_error(await client.post("/v1/auth/password/reset", json={"token": verify, "password": NEW_PASSWORD}),
                 400, "invalid_token")
