"""Per-request access to the REST dependencies and the authenticated caller."""

from __future__ import annotations

from starlette.requests import Request

from domain.auth import service as auth
from domain.errors import Unauthorized
from domain.transaction import unit_of_work
from rest.deps import RestDeps


def deps(request: Request) -> RestDeps:
    """The dependencies the composition root's lifespan created."""
    rest: RestDeps = request.state.rest
    return rest


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
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        return await auth.authenticate(session, res.auth, token)
