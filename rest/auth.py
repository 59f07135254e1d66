"""POST /v1/auth/{signup,login,refresh,logout}."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from domain.auth import service as auth
from domain.photos.storage import MediaStorage
from domain.profiles.service import get_me
from domain.safety.screen import check, file_flags
from domain.transaction import unit_of_work
from domain.wire.http import Tokens
from rest.body import read_json
from rest.client_address import client_address
from rest.context import deps
from rest.schemas import LoginIn, RefreshIn, SignupIn

NO_STORE = {"Cache-Control": "no-store"}


async def tokens_body(session: AsyncSession, storage: MediaStorage, issued: auth.IssuedTokens) -> Tokens:
    """The token body with the caller's full own profile (the same ``user`` as ``me.get``)."""
    me = await get_me(session, storage, issued.user.id)
    return {
        "user": me["user"],
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "token_type": "bearer",
        "expires_in": issued.expires_in,
    }


async def signup(request: Request) -> Response:
    body = await read_json(request, SignupIn)
    res = deps(request)
    flags = check(res.content_filter.words, {"display_name": body.display_name})  # content_blocked stores nothing
    async with unit_of_work(res.sessions) as session:
        issued = await auth.signup(session, res.auth, email=body.email, password=body.password,
                                   display_name=body.display_name, birthdate=body.birthdate)
        await file_flags(session, res.events, issued.user.id, flags)
        reply = await tokens_body(session, res.storage, issued)
    return JSONResponse(reply, status_code=201, headers=NO_STORE)


async def login(request: Request) -> Response:
    body = await read_json(request, LoginIn)
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        issued = await auth.login(session, res.auth, email=body.email, password=body.password,
                                  address=client_address(request, res.config.trusted_proxy_header))
        reply = await tokens_body(session, res.storage, issued)
    return JSONResponse(reply, headers=NO_STORE)


async def refresh(request: Request) -> Response:
    body = await read_json(request, RefreshIn)
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        issued = await auth.refresh(session, res.auth, body.refresh_token)
        reply = await tokens_body(session, res.storage, issued)
    return JSONResponse(reply, headers=NO_STORE)


async def logout(request: Request) -> Response:
    body = await read_json(request, RefreshIn)
    res = deps(request)
    async with unit_of_work(res.sessions) as session:
        await auth.logout(session, res.auth, body.refresh_token)
    return Response(status_code=204)
