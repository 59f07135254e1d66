"""``like`` in two round trips: the two people's cards, then ``delete_like`` (``domain/social/like_function.py``).

Both run alone, in autocommit, on a kept lane connection (``ReadSessions.fetch_alone``): the cards are read
first because the events carry them and the function stores the events with the like. They are the cards
the transactional path would build (``load_cards_for_pairs``), read a moment earlier: nothing locks a card's
photos or prompts there either. A like whose comment the word filter has something to say about (a report to
file beside it, or a refusal) takes the transactional path (``likes.like``), as does a like for or from an
account with no card (gone: that path says which error); ``like_alone`` returns None for those. The reply,
the errors (in the contract's order) and the events are the same on either path.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from domain.cards import cards_for_pairs_alone
from domain.errors import Conflict, NotFound, Unauthorized
from domain.events import wire
from domain.events.log import EventLog
from domain.photos.storage import MediaStorage
from domain.raw_statements import Fetch, Row
from domain.safety.patterns import WordList
from domain.safety.screen import needs_screening
from domain.social import like_function, locks, rules
from domain.social.like_store import LikeCounts
from domain.social.likes import check_liker, check_rules
from domain.social.person_store import Target
from domain.wire.events import LikeReceived, MatchCreated
from domain.wire.objects import Card, Match
from domain.wire.replies import LikeReply
from domain.wire.scalars import rfc3339


def _explain(row: Row, comment: str | None) -> None:
    """Raise the error the transactional path would raise for what the function read (``refused``)."""
    now = row.clock_at
    check_liker(row.liker_status, row.liker_until, now)
    target = Target(row.target_status, row.target_until, row.target_blocked, row.target_passed, row.target_liked)
    counts = LikeCounts(int(row.count_today), int(row.count_ever), int(row.count_same), list(row.recent_at or ()))
    check_rules((target, counts), comment, now)
    raise AssertionError("delete_like refused a like the rules allow: the function and domain.social.rules part")


@dataclass(frozen=True, slots=True)
class _Draft:
    """What the function stores: the like's and the match's ids and the events' payloads; a ``match.created``
    payload as the JSON before and after the match's time, which the function writes (``wire.around``)."""

    like_id: uuid.UUID
    match_id: uuid.UUID
    received: str  # like.received
    for_liker: Match  # the liker's match (the reply's), its time still to be written
    liker_payload: tuple[str, str]  # match.created for each member, with the other's card
    target_payload: tuple[str, str]


def _draft(liker_id: uuid.UUID, target_id: uuid.UUID, comment: str | None,
           cards: dict[tuple[uuid.UUID, uuid.UUID], Card]) -> _Draft:
    like_id, match_id, marker = uuid.uuid4(), uuid.uuid4(), secrets.token_hex(16)  # the marker: unguessable
    received: LikeReceived = {"like_id": str(like_id), "from": cards[(target_id, liker_id)], "comment": comment}

    def match(card: Card) -> Match:
        return {"id": str(match_id), "state": "active", "matched_at": marker, "user": card}

    def created(card: Card) -> tuple[str, str]:
        data: MatchCreated = {"match": match(card)}
        return wire.around(data, marker)

    return _Draft(like_id, match_id, wire.dumps(received), match(cards[(liker_id, target_id)]),
                  created(cards[(liker_id, target_id)]), created(cards[(target_id, liker_id)]))


async def like_alone(fetch: Fetch, events: EventLog, storage: MediaStorage, words: WordList, liker_id: uuid.UUID,
                     target_id: uuid.UUID, comment: str | None) -> LikeReply | None:
    """Like as ``likes.like`` does, in two calls; None when ``likes.like`` must do it (see the module)."""
    if needs_screening(words, {"comment": comment}):  # first, as the transactional path screens first
        return None
    comment = rules.clean_comment(comment)
    if target_id == liker_id:
        raise NotFound("no such person")
    cards = await cards_for_pairs_alone(fetch, [(liker_id, target_id), (target_id, liker_id)], storage)
    if len(cards) != 2:
        return None
    draft = _draft(liker_id, target_id, comment, cards)
    [row] = await fetch(like_function.CALL, {
        "liker": liker_id, "target": target_id, "user_key": locks.user_lock_key(target_id),
        "pair_key": locks.pair_lock_key(liker_id, target_id), "like_id": draft.like_id,
        "match_id": draft.match_id, "comment": comment,
        "norm": rules.normalise_comment(comment) if comment is not None else None,
        "fits": rules.comment_fits(comment), "daily_cap": rules.DAILY_LIKE_LIMIT,
        "ever_cap": rules.FIRST_LIKES_NEEDING_COMMENT, "same_cap": rules.SAME_COMMENT_MAX,
        "recent_cap": rules.VELOCITY_LIMIT, "window": timedelta(seconds=rules.VELOCITY_WINDOW_S),
        "received": draft.received, "liker_head": draft.liker_payload[0], "liker_tail": draft.liker_payload[1],
        "target_head": draft.target_payload[0], "target_tail": draft.target_payload[1]})
    _refuse(row, comment)
    return await _publish(row, events, liker_id, target_id, draft)


def _refuse(row: Row, comment: str | None) -> None:
    """The error the function's outcome stands for, if any."""
    if row.outcome == "no_liker":
        raise Unauthorized("this account cannot like anyone")
    if row.outcome == "no_target":
        raise NotFound("no such person")
    if row.outcome == "refused":
        _explain(row, comment)
    if row.outcome == "taken":
        raise Conflict("you already liked this person")


async def _publish(row: Row, events: EventLog, liker_id: uuid.UUID, target_id: uuid.UUID,
                   draft: _Draft) -> LikeReply:
    """Publish the events the function appended; the like's reply."""
    match: Match | None = None
    if row.event_type == "match.created":
        at = rfc3339(row.clock_at)
        match = {**draft.for_liker, "matched_at": at}
        (liker_head, liker_tail), (target_head, target_tail) = draft.liker_payload, draft.target_payload
        await events.publish_appended([  # the texts the function stored
            (liker_id, "match.created", liker_head + wire.dumps(at) + liker_tail, row.liker_seq),
            (target_id, "match.created", target_head + wire.dumps(at) + target_tail, row.target_seq)])
    elif row.event_type == "like.received":
        await events.publish_appended([(target_id, "like.received", draft.received, row.target_seq)])
    return {"like_id": str(draft.like_id), "match": match, "likes_left_today": rules.likes_left(int(row.likes_today))}
