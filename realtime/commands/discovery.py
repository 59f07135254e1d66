"""Socket commands: discovery (CONTRACT section 2 "Commands")."""

from __future__ import annotations

from pydantic import Field

from domain.discovery import service as discovery
from domain.wire import replies as r
from realtime import discovery_live
from realtime.context import CommandContext
from realtime.registry import REGISTRY, CommandInput


class RequestIn(CommandInput):
    count: int = Field(ge=discovery.MIN_COUNT, le=discovery.MAX_COUNT,
                       description="how many cards to push now (1-20); what cannot be filled stays open")


@REGISTRY.command("discovery.request", RequestIn, reply=r.DiscoveryReply,
                  summary="Push up to `count` ranked discovery.card events, then discovery.empty if nobody is "
                          "left; credits left open are filled live as people become eligible.")
async def request(ctx: CommandContext, data: RequestIn) -> r.DiscoveryReply:
    live = ctx.deps.discovery  # listening since the process started: no change is missed
    state = discovery_live.socket_state(ctx.connection)
    live.track(state)  # a fill arriving while this runs waits for the lock, then sees the new credits
    async with state.lock:
        state.credits = 0  # a new request replaces the open credits, also when it fails
        async with ctx.ranked_read() as (session, read):  # pure reads: no transaction without a replica
            batch = await discovery.next_batch(session, ctx.deps.storage, ctx.principal.user_id,
                                               data.count, state.sent, read=read)
        for card in batch.cards:
            state.push_card(card)
        if batch.exhausted:
            ctx.connection.push(discovery_live.EMPTY_FRAME)
            state.credits = data.count - len(batch.cards)
        live.track(state)
    return {"sent": len(batch.cards)}
