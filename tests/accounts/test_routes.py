"""The account endpoints are routes like any other: CORS preflights list their methods (rest/cors.py)."""

from __future__ import annotations

import httpx
import pytest

from rest.cors import route_methods
from rest.routes import rest_routes
from tests.accounts.support import new_account
from tests.support.rest import assert_error

PATHS = {"/v1/auth/email/verify": ["POST"], "/v1/auth/email/resend": ["POST"],
         "/v1/auth/password/forgot": ["POST"], "/v1/auth/password/reset": ["POST"],
         "/v1/auth/password/change": ["POST"], "/v1/account/export": ["GET", "HEAD"]}


@pytest.mark.parametrize(("path", "methods"), sorted(PATHS.items()))
def test_preflights_cover_the_account_routes(path: str, methods: list[str]) -> None:
    scope = {"type": "http", "method": "OPTIONS", "path": path, "root_path": "", "headers": []}
    assert route_methods(rest_routes(), scope) == methods


@pytest.mark.parametrize("email", ['a"b@example.test', "a,b@example.test", "a(b)@example.test", "<a@example.test>"])
async def test_signup_refuses_an_address_no_mail_can_go_to(client: httpx.AsyncClient, email: str) -> None:
    resp = await client.post("/v1/auth/signup", json={"email": email, "password": "long enough pass",
                                                      "display_name": "Ada", "birthdate": "1990-01-01"})
    assert "email" in assert_error(resp, 422, "validation_error")["details"]["fields"]


async def test_forgot_refuses_only_a_malformed_body(client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/v1/auth/password/forgot", json={"email": "x" * 255}), 422, "validation_error")
    assert_error(await client.post("/v1/auth/password/forgot", json={}), 422, "validation_error")
    for email in ("not an email", "", "\u0000@example.test"):
        resp = await client.post("/v1/auth/password/forgot", json={"email": email})
        assert resp.status_code == 202 and resp.json() == {}
    body = await new_account(client)
    assert (await client.post("/v1/auth/password/forgot", json={"email": body["user"]["email"].upper()})
            ).status_code == 202
