"""The personal-data export: everything stored about the caller as one JSON document, at most once an hour.

Included (docs/accounts.md "Personal-data export"): the profile as ``me.get`` shows it (photos with URLs, prompts,
badges, quiz answers, the location's grid cell), the account's other columns, the trait scores, likes sent and
received, passes made, matches with the other person's card (no distance) and every message of them, blocks
and reports made, the durable event stream, moderation decisions about the caller (no note, no moderator, no
report), logins and the daily like counters. Other people appear only as user ids and, for matches, as cards.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from domain.accounts import export_store as store
from domain.cards import load_cards
from domain.chat.repository import StoredMessage
from domain.chat.service import message_view
from domain.compatibility.traits import TRAIT_KEYS
from domain.errors import NotFound, RateLimited
from domain.models import Match, User
from domain.photos.storage import MediaStorage
from domain.profiles.service import get_me
from domain.wire import export as wire
from domain.wire.objects import Card, Message
from domain.wire.scalars import rfc3339, rfc3339_or_none

EXPORT_EVERY = timedelta(hours=1)


def _account(user: User) -> wire.ExportAccount:
    return {
        "last_active_at": rfc3339(user.last_active_at),
        "updated_at": rfc3339(user.updated_at),
        "suspended_until": rfc3339_or_none(user.suspended_until),
        "password_changed_at": rfc3339_or_none(user.password_changed_at),
        "last_pass_undo_at": rfc3339_or_none(user.last_pass_undo_at),
        "location_changes": [rfc3339(moment) for moment in user.location_moves or []],
    }


def _likes(rows: store.Rows) -> list[wire.ExportLike]:
    return [{"id": str(r.id), "user_id": str(r.other), "comment": r.comment, "created_at": rfc3339(r.created_at)}
            for r in rows]


def _message(row: Any) -> Message:
    """The contract's message object, as the chat builds it."""
    return message_view(StoredMessage(id=row.id, match_id=row.match_id, sender_id=row.sender_id, body=row.body,
                                      client_msg_id=row.client_msg_id, created_at=row.created_at,
                                      safety=row.safety))


def _match(match: Match, user_id: uuid.UUID, card: Card | None, messages: list[Message],
           read_up_to: uuid.UUID | None) -> wire.ExportMatch:
    mine_a = match.user_a == user_id
    return {
        "id": str(match.id),
        "user_id": str(match.user_b if mine_a else match.user_a),
        "user": card,
        "state": match.state,
        "matched_at": rfc3339(match.matched_at),
        "state_changed_at": rfc3339(match.state_changed_at),
        "last_message_at": rfc3339_or_none(match.last_message_at),
        "dating_confirmed_by_me": (match.a_dating_confirmed_at if mine_a else match.b_dating_confirmed_at) is not None,
        "dating_confirmed_by_them": (match.b_dating_confirmed_at if mine_a else match.a_dating_confirmed_at)
        is not None,
        "unmatched_by": str(match.unmatched_by) if match.unmatched_by else None,
        "unmatch_reason": match.unmatch_reason,  # type: ignore[typeddict-item]  # the column's CHECK: UnmatchReason
        "read_up_to": str(read_up_to) if read_up_to else None,
        "messages": messages,
    }


async def _matches(session: AsyncSession, storage: MediaStorage, user_id: uuid.UUID) -> list[wire.ExportMatch]:
    """Every match of the user with the partner's card (no distance) and all messages, in three queries."""
    rows = await store.matches(session, user_id)
    partners = [m.user_b if m.user_a == user_id else m.user_a for m in rows]
    cards = await load_cards(session, user_id, partners, storage, no_distance=partners)
    by_match: dict[uuid.UUID, list[Message]] = defaultdict(list)
    for row in await store.messages(session, [m.id for m in rows]):
        by_match[row.match_id].append(_message(row))
    reads = await store.read_positions(session, user_id)
    return [_match(m, user_id, cards.get(partner), by_match[m.id], reads.get(m.id))
            for m, partner in zip(rows, partners, strict=True)]


async def _passes(session: AsyncSession, user_id: uuid.UUID) -> list[wire.ExportPass]:
    return [{"user_id": str(r.passee_id), "created_at": rfc3339(r.created_at), "expires_at": rfc3339(r.expires_at)}
            for r in await store.passes(session, user_id)]


async def _blocks(session: AsyncSession, user_id: uuid.UUID) -> list[wire.ExportBlock]:
    return [{"user_id": str(r.blocked_id), "created_at": rfc3339(r.created_at)}
            for r in await store.blocks(session, user_id)]


async def _reports(session: AsyncSession, user_id: uuid.UUID) -> list[wire.ExportReport]:
    return [{"id": str(r.id), "user_id": str(r.reported_id), "reason": r.reason, "details": r.details,
             "created_at": rfc3339(r.created_at), "status": r.status} for r in await store.reports(session, user_id)]


async def _events(session: AsyncSession, user_id: uuid.UUID) -> list[wire.ExportEvent]:
    return [{"seq": r.seq, "type": r.type, "data": r.payload, "created_at": rfc3339(r.created_at)}
            for r in await store.events(session, user_id)]


async def _moderation(session: AsyncSession, user_id: uuid.UUID) -> list[wire.ExportModerationAction]:
    return [{"id": str(r.id), "action": r.action, "days": r.days, "details": r.details,
             "created_at": rfc3339(r.created_at)} for r in await store.moderation_actions(session, user_id)]


async def _logins(session: AsyncSession, user_id: uuid.UUID) -> list[wire.ExportLogin]:
    return [{"created_at": rfc3339(r.created_at), "revoked_at": rfc3339_or_none(r.revoked_at),
             "revoked_reason": r.revoked_reason} for r in await store.logins(session, user_id)]


async def _daily_likes(session: AsyncSession, user_id: uuid.UUID) -> list[wire.ExportLikeCount]:
    return [{"day": r.day.isoformat(), "count": int(r[1])} for r in await store.daily_likes(session, user_id)]


async def export_account(session: AsyncSession, storage: MediaStorage, user_id: uuid.UUID) -> wire.AccountExport:
    """The caller's export; ``rate_limited`` (with the wait) within an hour of the previous one."""
    wait_s = await store.claim_export(session, user_id, EXPORT_EVERY)
    if wait_s > 0:
        raise RateLimited("one export an hour; try again later", wait_s)
    me = await get_me(session, storage, user_id)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    traits = await store.traits_of(session, user_id)
    return {
        "format": "delete-export/1",
        "exported_at": rfc3339(datetime.now(UTC)),
        "user": me["user"],
        "account": _account(user),
        "traits": dict(zip(TRAIT_KEYS, traits, strict=True)) if traits is not None else None,
        "likes_sent": _likes(await store.likes(session, user_id, sent=True)),
        "likes_received": _likes(await store.likes(session, user_id, sent=False)),
        "passes": await _passes(session, user_id),
        "matches": await _matches(session, storage, user_id),
        "blocks": await _blocks(session, user_id),
        "reports": await _reports(session, user_id),
        "events": await _events(session, user_id),
        "moderation_actions": await _moderation(session, user_id),
        "logins": await _logins(session, user_id),
        "daily_likes": await _daily_likes(session, user_id),
    }
