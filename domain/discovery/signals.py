"""Telling every node that someone may have become discoverable (to fill open card credits live)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from domain.events import wire
from domain.events.log import EventLog
from domain.transaction import after_commit


def discovery_channel(prefix: str) -> str:
    """Channel on which nodes hear about newly eligible profiles."""
    return f"{prefix}discovery"


def profile_changed(session: AsyncSession, events: EventLog, user_id: uuid.UUID) -> None:
    """After commit, announce that ``user_id``'s profile changed (it may now be eligible for others)."""

    async def announce() -> None:
        await events.publisher.publish(discovery_channel(events.prefix),
                                       wire.control("profile_changed", user_id=str(user_id)))

    after_commit(session, announce)
