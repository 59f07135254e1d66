"""The social area's durable events (``match.created``, ``match.updated``, ``like.received``) and their payloads.

Events of one transaction are collected and appended last, in ascending user id
order: every transaction takes the per-user event counters in the same order, so
two transactions that notify the same people cannot deadlock on them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.cards import load_cards, load_cards_for_pairs
from domain.events.log import EventLog
from domain.photos.storage import MediaStorage
from domain.social.match_store import MatchRow
from domain.wire.enums import MatchState
from domain.wire.events import MatchCreated, MatchUpdated
from domain.wire.objects import Card, Match
from domain.wire.scalars import rfc3339


def match_out(match_id: uuid.UUID, state: MatchState, matched_at: datetime, card: Card) -> Match:
    """The contract's match object: ``{"id","state","matched_at","user": card of the other person}``."""
    return {"id": str(match_id), "state": state, "matched_at": rfc3339(matched_at), "user": card}


def match_updated(match_id: uuid.UUID, state: MatchState, *, by: uuid.UUID | None = None,
                  reason: str | None = None) -> MatchUpdated:
    """``match.updated`` data; ``by`` and ``reason`` only when they apply."""
    data: MatchUpdated = {"match_id": str(match_id), "state": state}
    if by is not None:
        data["by"] = str(by)
    if reason is not None:
        data["reason"] = reason
    return data


async def card_for(session: AsyncSession, storage: MediaStorage, viewer_id: uuid.UUID,
                   user_id: uuid.UUID) -> Card:
    """One person's card as ``viewer_id`` sees it."""
    return (await load_cards(session, viewer_id, [user_id], storage))[user_id]


@dataclass
class EventBatch:
    """The durable events of one command, collected as it runs and appended together at its end (``flush``)."""

    events: EventLog
    pending: list[tuple[uuid.UUID, str, Mapping[str, Any]]] = field(default_factory=list)

    def add(self, user_id: uuid.UUID, event_type: str, data: Mapping[str, Any]) -> None:
        self.pending.append((user_id, event_type, data))

    def state_change(self, match: MatchRow, state: MatchState, *, by: uuid.UUID | None = None,
                     reason: str | None = None, reason_to_partner: bool = True,
                     members: tuple[uuid.UUID, ...] | None = None) -> None:
        """``match.updated`` to the match's members (or ``members``).

        With ``reason_to_partner=False`` only ``by`` sees the reason: nobody is told why the other unmatched.
        """
        for member in members if members is not None else (match.user_a, match.user_b):
            show = reason_to_partner or member == by
            self.add(member, "match.updated", match_updated(match.id, state, by=by, reason=reason if show else None))

    async def flush(self, session: AsyncSession) -> None:
        """Append everything collected, by ascending user id (order per user kept)."""
        await self.events.append_many(session, sorted(self.pending, key=lambda item: item[0].bytes))
        self.pending.clear()


async def add_match_created(session: AsyncSession, storage: MediaStorage, batch: EventBatch, match: MatchRow,
                            liker_id: uuid.UUID) -> Match:
    """``match.created`` for both members of a new match, each with the other's card as they see it.

    Both cards come from one query. Returns the liker's match object (the like's reply carries it).
    """
    partner = match.partner(liker_id)
    pairs = [(liker_id, partner), (partner, liker_id)]
    cards = await load_cards_for_pairs(session, pairs, storage)
    out = {viewer: match_out(match.id, match.state, match.matched_at, cards[(viewer, other)])
           for viewer, other in pairs}
    for viewer, data in out.items():
        created: MatchCreated = {"match": data}
        batch.add(viewer, "match.created", created)
    return out[liker_id]
