"""The match lifecycle: listing, unmatch, dating, and the transitions other parts of the system cause.

Every state change goes through ``rules.next_state`` (the transition table) under the
match's row lock, and sends durable ``match.updated`` to both members. Only the two
members may act on a match; anyone else gets ``not_found``.

For other areas:
- chat calls ``reactivate_on_message`` when a message arrives in an archived match;
- blocks call ``end_for_block``, account deletion ``end_for_deletion``, the archive job ``archive_idle``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from domain.cards import load_cards
from domain.errors import NotFound
from domain.events.log import EventLog
from domain.photos.storage import MediaStorage
from domain.social import match_store, rules
from domain.social.match_store import ListedMatch, MatchRow
from domain.social.notify import EventBatch
from domain.social.store_common import clock
from domain.wire.objects import Card, MatchItem
from domain.wire.replies import DatingReply, MatchesReply, StateReply
from domain.wire.scalars import rfc3339, rfc3339_or_none


async def _member_match(session: AsyncSession, match_id: uuid.UUID, user_id: uuid.UUID) -> MatchRow:
    match = await match_store.member_match(session, match_id, user_id, for_update=True)
    if match is None:
        raise NotFound("no such match")
    return match


async def list_matches(session: AsyncSession, storage: MediaStorage, user_id: uuid.UUID,
                       states: Sequence[str] | None, cursor: str | None,
                       limit: int = rules.LIST_DEFAULT_LIMIT) -> MatchesReply:
    """One page of the user's matches, newest first: ``{"matches": [...], "next_cursor": str or null}``."""
    rules.check_list_limit(limit)
    after = rules.decode_cursor(cursor) if cursor is not None else None
    wanted = list(dict.fromkeys(states)) if states else list(rules.DEFAULT_LIST_STATES)
    rows = await match_store.list_matches(session, user_id, wanted, after, limit + 1)
    page = rows[:limit]
    hidden = {r.match.partner(user_id) for r in page if r.match.state not in rules.DISTANCE_STATES}
    cards = await load_cards(session, user_id, [r.match.partner(user_id) for r in page], storage,
                             no_distance=hidden)
    items = [_item(r, user_id, cards[r.match.partner(user_id)]) for r in page if r.match.partner(user_id) in cards]
    more = len(rows) > limit
    last = page[-1].match if page else None
    return {"matches": items,
            "next_cursor": rules.encode_cursor(last.matched_at, last.id) if more and last is not None else None}


def _item(listed: ListedMatch, user_id: uuid.UUID, card: Card) -> MatchItem:
    """One ``matches.list`` entry: the match with ``card``, its timeline, the dating confirmations, the inbox."""
    m, last = listed.match, listed.last_message
    return {
        "id": str(m.id), "state": m.state, "matched_at": rfc3339(m.matched_at),
        "user": card,
        "last_message_at": rfc3339_or_none(m.last_message_at),
        "state_changed_at": rfc3339(m.state_changed_at),
        "dating_confirmed_by_me": m.confirmed(user_id),
        "dating_confirmed_by_them": m.confirmed(m.partner(user_id)),
        "unread_count": listed.unread_count,
        "last_message": None if last is None else {
            "id": str(last.id), "sender_id": str(last.sender_id), "body": last.body,
            "created_at": rfc3339(last.created_at)},
    }


async def unmatch(session: AsyncSession, events: EventLog, user_id: uuid.UUID, match_id: uuid.UUID,
                  reason: str) -> StateReply:
    """active -> unmatched, with one of the contract's reasons (only the unmatcher's devices see it)."""
    match = await _member_match(session, match_id, user_id)
    state = rules.next_state(match.state, "unmatch")
    now = await clock(session)
    await match_store.set_state(session, match.id, state, now, unmatched_by=user_id, unmatch_reason=reason)
    batch = EventBatch(events)
    batch.state_change(match, state, by=user_id, reason=reason, reason_to_partner=False)
    await batch.flush(session)
    return {"match_id": str(match.id), "state": state}


async def confirm_dating(session: AsyncSession, events: EventLog, user_id: uuid.UUID,
                         match_id: uuid.UUID) -> DatingReply:
    """Confirm "we are dating"; once both members have, active -> dating (confirming twice changes nothing)."""
    match = await _member_match(session, match_id, user_id)
    rules.next_state(match.state, "confirm_dating")  # conflict unless active
    now = await clock(session)
    match = await match_store.confirm_dating(session, match, user_id, now)
    state = match.state
    if match.confirmed(match.user_a) and match.confirmed(match.user_b):
        state = rules.next_state(match.state, "confirm_dating")
        await match_store.set_state(session, match.id, state, now)
        batch = EventBatch(events)
        batch.state_change(match, state, by=user_id)
        await batch.flush(session)
    return {"match_id": str(match.id), "state": state, "dating_confirmed_by_me": match.confirmed(user_id),
            "dating_confirmed_by_them": match.confirmed(match.partner(user_id))}


async def end_dating(session: AsyncSession, events: EventLog, user_id: uuid.UUID,
                     match_id: uuid.UUID) -> StateReply:
    """dating -> archived."""
    match = await _member_match(session, match_id, user_id)
    state = rules.next_state(match.state, "end_dating")
    now = await clock(session)
    await match_store.set_state(session, match.id, state, now)
    batch = EventBatch(events)
    batch.state_change(match, state, by=user_id)
    await batch.flush(session)
    return {"match_id": str(match.id), "state": state}


async def reactivate_on_message(session: AsyncSession, events: EventLog, match_id: uuid.UUID,
                                sender_id: uuid.UUID) -> bool:
    """archived -> active because ``sender_id`` sent a message; True if the match changed.

    For chat's send, inside its transaction and before it appends ``message.created`` (so both members
    see ``match.updated {"state":"active","by": sender}`` first). Dating confirmations start over.
    """
    match = await match_store.member_match(session, match_id, sender_id, for_update=True)
    if match is None or not rules.allows(match.state, "message"):
        return False
    state = rules.next_state(match.state, "message")
    await match_store.set_state(session, match.id, state, await clock(session))
    batch = EventBatch(events)
    batch.state_change(match, state, by=sender_id)
    await batch.flush(session)
    return True


async def end_for_block(session: AsyncSession, batch: EventBatch, blocker_id: uuid.UUID, blocked_id: uuid.UUID,
                        now: datetime) -> None:
    """A block ends the pair's match if it is still open: -> unmatched (call under the pair lock)."""
    match = await match_store.pair_match(session, blocker_id, blocked_id)
    if match is None or not rules.allows(match.state, "block"):
        return
    state = rules.next_state(match.state, "block")
    await match_store.set_state(session, match.id, state, now, unmatched_by=blocker_id)
    # the blocked person sees an unmatch by the blocker, never the word "blocked"
    batch.state_change(match, state, by=blocker_id, reason=rules.REASON_BLOCKED, reason_to_partner=False)


async def end_for_deletion(session: AsyncSession, batch: EventBatch, user_id: uuid.UUID, now: datetime) -> int:
    """Every open match of a deleted account -> deleted, told to the partner; returns how many."""
    matches = await match_store.open_matches_of(session, user_id, sorted(rules.OPEN_STATES))
    for match in matches:
        state = rules.next_state(match.state, "delete")
        await match_store.set_state(session, match.id, state, now)
        batch.state_change(match, state, by=user_id, reason=rules.REASON_ACCOUNT_DELETED,
                            members=(match.partner(user_id),))
    return len(matches)


async def archive_idle(session: AsyncSession, events: EventLog, now: datetime, limit: int) -> int:
    """Archive up to ``limit`` active matches idle for 7 days (rows locked elsewhere are skipped); how many."""
    matches = await match_store.idle_matches(session, now - rules.ARCHIVE_IDLE_AFTER, limit)
    batch = EventBatch(events)
    for match in matches:
        state = rules.next_state(match.state, "archive")
        await match_store.set_state(session, match.id, state, now)
        batch.state_change(match, state, reason=rules.REASON_INACTIVE)
    await batch.flush(session)
    return len(matches)
