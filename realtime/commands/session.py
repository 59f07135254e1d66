"""Commands about the socket itself: ping, token renewal, sync."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field

from domain.auth import service as auth
from domain.errors import Unauthorized
from domain.wire import replies as r
from domain.wire.scalars import rfc3339
from realtime.connection import SyncJob
from realtime.context import CommandContext
from realtime.registry import DEFERRED, REGISTRY, CommandInput, NoInput


class AuthIn(CommandInput):
    token: str = Field(max_length=4096, description="a fresh access token for the same user")


class SyncIn(CommandInput):
    after: int = Field(ge=0, le=2**63 - 1,
                       description="the highest seq the client has; every later durable event is replayed")


@REGISTRY.command("ping", NoInput, summary="Round trip check; replies with the server time.", reply=r.PingReply)
async def ping(ctx: CommandContext, data: NoInput) -> r.PingReply:
    return {"time": rfc3339(datetime.now(UTC))}


@REGISTRY.command("auth", AuthIn, summary="Renew the socket's access token before it expires.", reply=r.AuthReply)
async def renew(ctx: CommandContext, data: AuthIn) -> r.AuthReply:
    async with ctx.transaction() as session:
        principal = await auth.authenticate(session, ctx.deps.auth, data.token)
    if principal.user_id != ctx.principal.user_id:
        raise Unauthorized("that token belongs to another user")
    ctx.connection.set_principal(principal)
    return {"expires_at": rfc3339(principal.expires_at)}


@REGISTRY.command("sync", SyncIn, summary="Replay every durable event after `after`, in order, then reply.",
                  reply=r.SyncReply)
async def sync(ctx: CommandContext, data: SyncIn) -> None:
    ctx.connection.push(SyncJob(ctx.ref, data.after))
    return DEFERRED
