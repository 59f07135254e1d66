"""POST /v1/auth/email/verify (the mailed link's token) and POST /v1/auth/email/resend."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.auth import verification
from domain.profiles.service import get_me
from domain.transaction import unit_of_work
from rest.auth import NO_STORE
from rest.body import read_json
from rest.context import deps, principal
from rest.schemas import TokenIn


async def verify(request: Request) -> Response:
    """200 ``{"user"}`` with ``email_verified: true``; 400 ``invalid_token`` for an unknown, used or expired token."""
    body = await read_json(request, TokenIn)
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        user_id = await verification.verify_email(session, body.token)
        reply = await get_me(session, res.storage, user_id)
    return JSONResponse(reply, headers=NO_STORE)


async def resend(request: Request) -> Response:
    """202 ``{}``: a new verification mail (earlier links stop working); 429 past 3 an hour."""
    me = await principal(request)
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        await verification.resend(session, res.auth.mail, me.user_id)
    return JSONResponse({}, status_code=202)
