"""POST /v1/auth/password/{forgot,reset,change}."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.auth import password_change, password_reset
from domain.transaction import unit_of_work
from rest.auth import NO_STORE, tokens_body
from rest.body import read_json
from rest.client_address import client_address
from rest.context import deps, principal
from rest.schemas import ChangePasswordIn, EmailIn, ResetIn


async def forgot(request: Request) -> Response:
    """202 ``{}`` whatever the email: the lookup and the mail happen after the answer (``ResetRequests``)."""
    body = await read_json(request, EmailIn)
    deps(request).resets.submit(body.email)
    return JSONResponse({}, status_code=202, headers=NO_STORE)


async def reset(request: Request) -> Response:
    """The token body of a new login; every other login revoked and its sockets closed (4401)."""
    body = await read_json(request, ResetIn)
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        issued = await password_reset.reset_password(session, res.auth, body.token, body.password)
        reply = await tokens_body(session, res.storage, issued)
    return JSONResponse(reply, headers=NO_STORE)


async def change(request: Request) -> Response:
    """The token body of a new login; 401 ``invalid_credentials`` for a wrong current password (throttled)."""
    me = await principal(request)
    body = await read_json(request, ChangePasswordIn)
    res = deps(request)
    address = client_address(request, res.config.trusted_proxy_header)
    async with unit_of_work(res.sessions) as session:
        issued = await password_change.change_password(session, res.auth, me, current_password=body.current_password,
                                                       new_password=body.new_password, address=address)
        reply = await tokens_body(session, res.storage, issued)
    return JSONResponse(reply, headers=NO_STORE)
