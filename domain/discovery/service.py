"""Discovery: ranked batches of cards for a viewer, and the live check of newly eligible people.

A batch is one ranked read (``repository.candidates``: every filter, the rank, the
best ``count + 1`` plus the best-ranked opposite, one query per tier of
``rank_bound``, most batches one or two) and one batched card load.
The extra row tells whether anyone is left after this batch, so the caller
can say ``discovery.empty`` without asking again. Services never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.cards import load_cards, load_cards_for_pairs
from domain.compatibility.scoring import score_from_distance
from domain.discovery import ranking, rechecked
from domain.discovery import repository as repo
from domain.errors import NotFound, ValidationFailed
from domain.photos.storage import MediaStorage
from domain.wire.objects import Card

MIN_COUNT = 1
MAX_COUNT = 20


@dataclass(frozen=True, slots=True)
class Batch:
    """Cards in rank order; ``exhausted`` when nobody else is left to show right now."""

    cards: list[Card]
    exhausted: bool


def _ranked(row: repo.CandidateRow, now: datetime) -> ranking.Ranked:
    score = score_from_distance(row.l1)
    points = ranking.rank(score, ranking.completeness(row.photos, row.prompts, row.has_bio),
                          ranking.recency(row.last_active_at, now), ranking.newness(row.created_at, now))
    return ranking.Ranked(row.user_id, score, points)


async def next_batch(session: AsyncSession, storage: MediaStorage, viewer_id: uuid.UUID, count: int,
                     sent: Collection[uuid.UUID], now: datetime | None = None,
                     read: AsyncSession | None = None) -> Batch:
    """Up to ``count`` cards for the viewer, best first, leaving out ``sent`` (already shown on this socket).

    With ``read`` (a read replica session) the ranking and the cards are read there, and every candidate is
    checked again on the primary ``session`` first (``rechecked``): replica lag never shows someone blocked
    or passed a moment ago.
    """
    now = now or datetime.now(UTC)
    rows = await rechecked.candidates(session, read, viewer_id, count + 1, sent, now)
    ranked = [_ranked(row, now) for row in rows]
    chosen = ranking.choose_batch(ranked, count)
    if not chosen:
        await _check_viewer(session, viewer_id)
        return Batch([], exhausted=True)
    cards = await load_cards(read or session, viewer_id, [c.user_id for c in chosen], storage, today=now.date())
    left = len({c.user_id for c in ranked}) - len(chosen)
    return Batch([cards[c.user_id] for c in chosen if c.user_id in cards], exhausted=left <= 0)


async def _check_viewer(session: AsyncSession, viewer_id: uuid.UUID) -> None:
    """Explain an empty result that comes from the viewer's own profile, not from a lack of people."""
    state = await repo.viewer_state(session, viewer_id)
    if state is None:
        raise NotFound("no such user")
    fields = {}
    if not state.located:
        fields["location"] = "set your location (me.update) to discover people near you"
    if state.gender is None:
        fields["gender"] = "set your gender (me.update): people choose whom they want to see"
    if not state.interested_in:
        fields["interested_in"] = "choose whom you are interested in (me.update)"
    if fields:
        raise ValidationFailed("your profile needs " + ", ".join(fields) + " before discovery",
                               {"fields": fields})


async def eligible_pairs(session: AsyncSession, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]],
                         now: datetime | None = None) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Which ``(viewer, candidate)`` pairs pass every discovery filter now (the batch's own rules)."""
    return await repo.eligible_pairs(session, pairs, now or datetime.now(UTC))


async def cards_for_pairs(session: AsyncSession, storage: MediaStorage,
                          pairs: Collection[tuple[uuid.UUID, uuid.UUID]]
                          ) -> dict[tuple[uuid.UUID, uuid.UUID], Card]:
    """The card of each candidate as its viewer sees it, every viewer's in one query."""
    return await load_cards_for_pairs(session, sorted(pairs), storage)


async def expired_passes(session: AsyncSession, viewer_ids: Sequence[uuid.UUID], since: datetime,
                         until: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``(viewer, candidate)`` pairs whose pass ended in ``(since, until]``: candidates to check again."""
    return await repo.expired_passes(session, viewer_ids, since, until)
