"""Per-request access to the process resources and the authenticated caller."""

from __future__ import annotations

from starlette.requests import Request

from delete_api.resources import Resources
from domain.auth import service as auth
from domain.errors import Unauthorized
from domain.transaction import unit_of_work


def resources(request: Request) -> Resources:
    """The resources created by the lifespan."""
    res: Resources = request.state.resources
    return res


def bearer_token(request: Request) -> str:
    """The token of an ``Authorization: Bearer`` header, or ``Unauthorized``."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


async def principal(request: Request) -> auth.Principal:
    """Authenticate the request's access token (login live, account active)."""
    token = bearer_token(request)
    res = resources(request)
    async with unit_of_work(res.sessions) as session:
        return await auth.authenticate(session, res.auth, token)
