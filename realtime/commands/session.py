"""Commands about the socket itself: ping, token renewal, sync."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.auth import service as auth
from domain.errors import Unauthorized
from domain.profiles.view import rfc3339
from realtime.connection import SyncJob
from realtime.context import CommandContext
from realtime.registry import DEFERRED, REGISTRY, CommandInput, NoInput


class PingReply(BaseModel):
    time: str


class AuthIn(CommandInput):
    token: str = Field(max_length=4096, description="a fresh access token for the same user")


class AuthReply(BaseModel):
    expires_at: str


class SyncIn(CommandInput):
    after: int = Field(ge=0, le=2**63 - 1,
                       description="the highest seq the client has; every later durable event is replayed")


class SyncReply(BaseModel):
    last_seq: int


@REGISTRY.command("ping", NoInput, summary="Round trip check; replies with the server time.", reply=PingReply)
async def ping(ctx: CommandContext, data: NoInput) -> dict[str, Any]:
    return {"time": rfc3339(datetime.now(UTC))}


@REGISTRY.command("auth", AuthIn, summary="Renew the socket's access token before it expires.", reply=AuthReply)
async def renew(ctx: CommandContext, data: AuthIn) -> dict[str, Any]:
    async with ctx.transaction() as session:
        principal = await auth.authenticate(session, ctx.deps.auth, data.token)
    if principal.user_id != ctx.principal.user_id:
        raise Unauthorized("that token belongs to another user")
    ctx.connection.set_principal(principal)
    return {"expires_at": rfc3339(principal.expires_at)}


@REGISTRY.command("sync", SyncIn, summary="Replay every durable event after `after`, in order, then reply.",
                  reply=SyncReply)
async def sync(ctx: CommandContext, data: SyncIn) -> dict[str, Any] | None:
    ctx.connection.push(SyncJob(ctx.ref, data.after))
    return DEFERRED
