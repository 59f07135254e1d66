"""Liking someone, the mutual like that makes a match, and the likes waiting for an answer.

A like is checked in the contract's order, and a refused like leaves nothing
behind (every check runs before the first write, and a refusal rolls back):

1. the target exists, is active, is not oneself, is not blocked either way and
   has no active pass from the liker -> ``not_found``; a like already given -> ``conflict``
2. ten likes per UTC day -> ``daily_limit_reached``
3. the first five likes ever carry a 10-500 character comment -> ``comment_required``
4. the same folded comment at most twice -> ``spam_detected``
5. five likes in any 60 s -> ``rate_limited`` with ``retry_after_s``

Race-free: the liker's row lock serialises their likes (so the counts read are the
counts written), the pair's advisory lock makes the two likes of a pair see each
other (so exactly one of them creates the match), and the unique keys are the
last guard.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.cards import load_cards
from domain.errors import Conflict, NotFound, Unauthorized
from domain.events.log import EventLog
from domain.photos.storage import MediaStorage
from domain.social import like_store, locks, match_store, rules
from domain.social.like_store import LikeCounts
from domain.social.notify import EventBatch, add_match_created, card_for
from domain.social.person_store import Target
from domain.wire.events import LikeReceived
from domain.wire.objects import Match
from domain.wire.replies import LikeReply, PendingReply
from domain.wire.scalars import rfc3339


async def like(session: AsyncSession, events: EventLog, storage: MediaStorage, liker_id: uuid.UUID,
               target_id: uuid.UUID, comment: str | None) -> LikeReply:
    """Like ``target_id``: ``{"like_id","match": match or null,"likes_left_today"}``."""
    comment = rules.clean_comment(comment)
    if target_id == liker_id:
        raise NotFound("no such person")
    locked = await locks.lock_like(session, liker_id, target_id)  # the liker's row, then the target and the pair
    if locked is None:
        raise Unauthorized("this account cannot like anyone")
    liker, now = locked
    check_liker(liker.status, liker.suspended_until, now)

    # the target and the liker's counters, read once under the locks (one round trip), checked in order
    norm = rules.normalise_comment(comment) if comment is not None else None
    day = rules.utc_day(now)
    found = await like_store.target_and_counts(session, liker_id, target_id, now, day, norm,
                                               now - timedelta(seconds=rules.VELOCITY_WINDOW_S),
                                               ever_cap=rules.FIRST_LIKES_NEEDING_COMMENT,
                                               same_cap=rules.SAME_COMMENT_MAX, recent_cap=rules.VELOCITY_LIMIT)
    check_rules(found, comment, now)

    stored = await like_store.store_like(session, liker_id, target_id, comment, norm, now, day)
    if stored is None:
        raise Conflict("you already liked this person")
    like_id, today = stored.id, stored.today

    batch = EventBatch(events)
    match: Match | None = None
    if stored.liked_back and not stored.passed_by_target:
        row = await match_store.insert_match(session, liker_id, target_id, now)
        if row is not None:
            match = await add_match_created(session, storage, batch, row, liker_id)
    elif not stored.passed_by_target:
        # while the target's pass on the liker is active the like is kept silently (docs/social.md)
        received: LikeReceived = {
            "like_id": str(like_id), "from": await card_for(session, storage, target_id, liker_id),
            "comment": comment}
        batch.add(target_id, "like.received", received)
    await batch.flush(session)
    return {"like_id": str(like_id), "match": match, "likes_left_today": rules.likes_left(today)}


def check_liker(status: str, suspended_until: datetime | None, now: datetime) -> None:
    """Only an active account likes (a suspension that is over counts as active)."""
    if not rules.is_active(status, suspended_until, now):
        raise Unauthorized("this account cannot like anyone")


def check_rules(found: tuple[Target, LikeCounts] | None, comment: str | None, now: datetime) -> None:
    """Rules 1-5 of the module, in order, on the target and the liker's counters read under the locks."""
    counts = _check_target(found, now)  # 1. the target
    # 2-5. the liker's counters
    rules.check_daily(counts.today, now)
    rules.check_comment(comment, counts.ever)
    if comment is not None:
        rules.check_spam(counts.same_comment)
    rules.check_velocity(counts.recent, now)


def _check_target(found: tuple[Target, LikeCounts] | None, now: datetime) -> LikeCounts:
    """Rule 1: ``not_found`` unless the target exists, is active, is not blocked either way and has no active pass
    from the liker; ``conflict`` for a like already given. Returns the liker's counters for rules 2-5."""
    if found is None:
        raise NotFound("no such person")
    target, counts = found
    if not rules.is_active(target.status, target.suspended_until, now) or target.blocked or target.passed_by_actor:
        raise NotFound("no such person")
    if target.liked_by_actor:
        raise Conflict("you already liked this person")
    return counts


async def pending(session: AsyncSession, storage: MediaStorage, user_id: uuid.UUID) -> PendingReply:
    """Who liked the user and is still waiting: ``{"likes":[{"like_id","from","comment","created_at"}]}``."""
    rows = await like_store.pending_likes(session, user_id, rules.PENDING_LIMIT)
    cards = await load_cards(session, user_id, [r.liker_id for r in rows], storage)
    return {"likes": [{"like_id": str(r.id), "from": cards[r.liker_id], "comment": r.comment,
                       "created_at": rfc3339(r.created_at)} for r in rows if r.liker_id in cards]}
