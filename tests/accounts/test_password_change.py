"""Changing the password while signed in (CONTRACT section 1, "accounts")."""

from __future__ import annotations

import httpx

from tests.accounts.support import bearer, login, new_account
from tests.support.nodes import connect_device
from tests.support.rest import assert_error
from tests.support.server import RunningServer
from tests.support.users import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def ws_url(server: RunningServer) -> str:
    return server.ws_url + "/v1/ws"


async def test_change_signs_out_every_other_login_and_closes_its_sockets(client: httpx.AsyncClient,
                                                                         accounts_server: RunningServer) -> None:
    """The caller gets a new login; the other login's socket closes with 4401 and its tokens stop working; the
    caller's own socket stays and moves to the new login with an auth frame; the old password is gone."""
    body = await new_account(client)
    email = body["user"]["email"]
    other = (await login(client, email)).json()
    mine = await connect_device(ws_url(accounts_server), body["access_token"])
    theirs = await connect_device(ws_url(accounts_server), other["access_token"])
    try:
        resp = await client.post("/v1/auth/password/change", headers=bearer(body["access_token"]),
                                 json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
        assert resp.status_code == 200, resp.text
        fresh = resp.json()
        assert set(fresh) == {"user", "access_token", "refresh_token", "token_type", "expires_in"}
        assert await theirs.wait_closed() == 4401

        assert (await mine.command("ping", {})).frame["ok"] is True  # the caller's device was not cut off
        renewed = await mine.command("auth", {"token": fresh["access_token"]})
        assert renewed.frame["ok"] is True, renewed.frame
        assert not mine.closed

        for old in (body, other):
            assert_error(await client.post("/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}),
                         401, "unauthorized")
            assert_error(await client.get("/v1/profile/photos", headers=bearer(old["access_token"])), 401,
                         "unauthorized")
        assert (await client.get("/v1/profile/photos", headers=bearer(fresh["access_token"]))).status_code == 200
        assert (await client.post("/v1/auth/refresh",
                                  json={"refresh_token": fresh["refresh_token"]})).status_code == 200
        assert_error(await login(client, email), 401, "invalid_credentials")
        assert (await login(client, email, NEW_PASSWORD)).status_code == 200
    finally:
        await mine.close()
        await theirs.close()


async def test_a_wrong_current_password_counts_toward_the_login_throttle(client: httpx.AsyncClient) -> None:
    """Five wrong current passwords are five failed logins: the sixth attempt, and a login with the right
    password from the same address, are 429; the caller's login itself is not revoked."""
    body = await new_account(client)
    auth = bearer(body["access_token"])
    for _ in range(5):
        wrong = await client.post("/v1/auth/password/change", headers=auth,
                                  json={"current_password": "not my password", "new_password": NEW_PASSWORD})
        assert_error(wrong, 401, "invalid_credentials")
    limited = await client.post("/v1/auth/password/change", headers=auth,
                                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) > 0
    assert_error(await login(client, body["user"]["email"]), 429, "rate_limited")
    assert (await client.get("/v1/profile/photos", headers=auth)).status_code == 200


async def test_change_needs_a_login_and_a_valid_new_password(client: httpx.AsyncClient) -> None:
    body = await new_account(client)
    payload = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert_error(await client.post("/v1/auth/password/change", json=payload), 401, "unauthorized")
    short = await client.post("/v1/auth/password/change", headers=bearer(body["access_token"]),
                              json={"current_password": PASSWORD, "new_password": "short"})
    assert assert_error(short, 422, "validation_error")["details"]["fields"] == {
        "new_password": "must be 8 to 128 characters"}
    assert (await login(client, body["user"]["email"])).status_code == 200
