"""The verification of ``python -m bench load``: every durable event committed for a connected user after its
device first connected reached that device exactly once, live or through ``sync``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from bench.harness import (
    say,
)
from bench.load_context import Ctx
from bench.load_world import (
    Device,
)
from tests.support.simulated_users import wait_caught_up

DRAIN_TIMEOUT_S = 30.0


# -- verification -----------------------------------------------------------------------------------------

_EVENTS = text("SELECT user_id::text, seq, type, payload FROM user_events WHERE user_id = ANY(:ids)").bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


def _event_id(kind: str, payload: dict[str, Any]) -> str | None:
    """The id a person would look for: the message, match, like or report the event is about."""
    for path in (("message", "id"), ("match", "id"), ("like_id",), ("match_id",)):
        value: Any = payload
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value
    return None


async def devices_caught_up(ctx: Ctx, devices: list[Device], timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
    """Wait until every device has the newest seq stored for its user (the last events still in flight)."""
    owners = [(uuid.UUID(d.user.id), d) for d in devices]
    behind = await wait_caught_up(ctx.engine, lambda: [(user, d.last_seq) for user, d in owners],
                                  timeout_s=timeout_s, poll_s=0.5)
    if behind:
        say(f"{behind} devices still behind after {timeout_s:g}s")
    return not behind


async def verify(ctx: Ctx, devices: list[Device], caught_up: bool) -> dict[str, Any]:
    """Every durable event committed for a device's user after it first connected, received exactly once."""
    ids = sorted({uuid.UUID(d.user.id) for d in devices})
    async with ctx.sessions() as session:
        rows = (await session.execute(_EVENTS, {"ids": ids})).all()
    stored: dict[str, dict[int, tuple[str, dict[str, Any]]]] = {}
    for user_id, seq, kind, payload in rows:
        stored.setdefault(user_id, {})[int(seq)] = (kind, payload)
    committed = expected = live = replayed = lost = unexpected = duplicates = 0
    lost_ids: list[dict[str, Any]] = []
    unexpected_ids: list[dict[str, Any]] = []
    counted_users: set[str] = set()
    for k, device in enumerate(devices):
        if device.start_seq is None:
            continue
        events = stored.get(device.user.id, {})
        wanted = {s for s in events if s > device.start_seq}
        if device.user.id not in counted_users:
            counted_users.add(device.user.id)
            committed += len(wanted)
        got = set(device.seqs)
        expected += len(wanted)
        duplicates += len(device.seqs) - len(got)
        live += device.live
        replayed += device.replayed
        for seq in sorted(wanted - got):
            lost += 1
            if len(lost_ids) < 200:
                kind, payload = events[seq]
                lost_ids.append({"user_id": device.user.id, "device": k, "seq": seq, "type": kind,
                                 "id": _event_id(kind, payload)})
        for seq in sorted(got - set(events)):
            unexpected += 1
            if len(unexpected_ids) < 200:
                unexpected_ids.append({"user_id": device.user.id, "device": k, "seq": seq})
    return {"committed_events": committed, "devices": sum(1 for d in devices if d.start_seq is not None),
            "expected_deliveries": expected, "delivered_live": live, "recovered_by_sync": replayed, "lost": lost,
            "lost_ids": lost_ids, "unexpected": unexpected, "unexpected_ids": unexpected_ids,
            "duplicates": duplicates, "caught_up": caught_up}
