"""What the one-call commands' tests share: a publisher that keeps what it is given, a kept lane connection, and
each published event checked against the event log's copy."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.raw_statements import RawStatement
from domain.read_lane import ReadLane
from domain.read_sessions import ReadSessions


class Recorder:
    """A publisher that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def publish(self, channel: str, message: bytes) -> None:
        self.sent.append((channel, message))

    async def publish_many(self, messages: list[tuple[str, bytes]]) -> None:
        self.sent.extend(messages)


@asynccontextmanager
async def kept_lane(engine: AsyncEngine) -> AsyncIterator[ReadSessions]:
    """Reads with a lane of one kept connection, leased before the caller counts round trips."""
    lane = ReadLane(make_sessionmaker(engine), width=1)
    reads = ReadSessions(make_sessionmaker(engine), lane=lane)
    try:
        await reads.fetch_alone(RawStatement("SELECT 1"), {})
        yield reads
    finally:
        await lane.close()


async def published_as_logged(engine: AsyncEngine, recorder: Recorder, members: list[uuid.UUID],
                              event_type: str) -> list[object]:
    """The data of each published event, one per member in order, checked against the event log's copy."""
    assert len(recorder.sent) == len(members)
    found = []
    for member, (_, published) in zip(members, recorder.sent, strict=True):
        seq_text, _, frame_text = published.decode().partition(" ")
        async with engine.connect() as conn:
            logged = (await conn.execute(text("SELECT payload::text FROM user_events WHERE user_id = :u AND seq = :s"),
                                         {"u": member, "s": int(seq_text[1:])})).scalar_one()
        frame = json.loads(frame_text)
        assert frame["type"] == event_type and frame["seq"] == int(seq_text[1:]) and frame["data"] == json.loads(logged)
        found.append(frame["data"])
    return found
