"""``messages.send`` and ``messages.read`` in one round trip each, for the common case.

Each runs its server-side function (``domain/chat/server_functions.py``) alone, in autocommit (``fetch``, as
``ReadSessions.fetch_alone`` runs one: the call is its own transaction), then publishes the two events it
appended. ``send_alone`` returns None when the message needs the transactional path of ``service.send``: a
message the content filter or contact shielding flags (their reports and flags are written beside it), a
match to reactivate (``archived``), or a key another match's send took meanwhile. Those are rare; the reply
and the events are the same on either path. A read receipt always fits in one call.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from domain.chat import rules
from domain.chat.repository import StoredMessage
from domain.chat.server_functions import MARK_READ_CALL, SEND_CALL
from domain.chat.service import message_view
from domain.errors import NotFound
from domain.events import wire
from domain.events.log import EventLog
from domain.raw_statements import Fetch, Row
from domain.safety import screen
from domain.safety.contacts import contact_flags
from domain.safety.patterns import WordList
from domain.wire.events import MessageRead
from domain.wire.replies import Empty, SendReply
from domain.wire.scalars import rfc3339


def _flagged(body: str, words: WordList) -> bool:
    """True if the filters have something to say about ``body`` (a flag, a block, a contact detail)."""
    return screen.needs_screening(words, {"body": body}) or bool(contact_flags(body))


def _payload_around_time(message: StoredMessage) -> tuple[str, str]:
    """The ``message.created`` payload's JSON before and after the message's time (the database sets it)."""
    view = message_view(message)
    marker = secrets.token_hex(16)  # unguessable: the body cannot hold it
    view["created_at"] = marker
    return wire.around({"message": view}, marker)


def _stored(row: Row, sender_id: uuid.UUID, client_msg_id: str) -> StoredMessage:
    return StoredMessage(row.stored_id, row.stored_match, sender_id, row.stored_body, client_msg_id,
                         row.stored_at, list(row.stored_safety))


async def send_alone(fetch: Fetch, events: EventLog, sender_id: uuid.UUID, match_id: uuid.UUID, body: str,
                     client_msg_id: str, words: WordList) -> SendReply | None:
    """Send as ``service.send`` does, in one call; None when ``service.send`` must do it (see the module)."""
    rules.check_body(body)
    rules.check_client_msg_id(client_msg_id)
    if _flagged(body, words):
        return None
    draft = StoredMessage(uuid.uuid4(), match_id, sender_id, body, client_msg_id, datetime.now(UTC), [])
    head, tail = _payload_around_time(draft)
    [row] = await fetch(SEND_CALL, {"sender": sender_id, "match": match_id, "id": draft.id, "body": body,
                                    "client_msg_id": client_msg_id, "head": head, "tail": tail})
    if row.outcome == "not_found":
        raise NotFound("no such match")
    if row.outcome == "stored":  # a retry: the stored message as it was, no second event
        stored = _stored(row, sender_id, client_msg_id)
        rules.check_retry(stored.match_id, stored.body, match_id, body)
        return {"message": message_view(stored)}
    if row.outcome != "sent":  # not open (raise), archived (reactivate) or the key taken: the other path
        rules.check_open(row.match_state, row.match_blocked)
        return None
    stored = _stored(row, sender_id, client_msg_id)
    data_json = head + wire.dumps(rfc3339(stored.created_at)) + tail  # the text the function stored
    await events.publish_appended([(row.member_a, "message.created", data_json, row.seq_a),
                                   (row.member_b, "message.created", data_json, row.seq_b)])
    return {"message": message_view(stored)}


async def mark_read_alone(fetch: Fetch, events: EventLog, reader_id: uuid.UUID, match_id: uuid.UUID,
                          up_to: uuid.UUID) -> Empty:
    """Move the reader's position forward to ``up_to``, a message of the match, and tell both members' devices
    (nothing if not forward), in one call."""
    data: MessageRead = {"match_id": str(match_id), "reader_id": str(reader_id), "up_to": str(up_to)}
    data_json = wire.dumps(data)
    [row] = await fetch(MARK_READ_CALL, {"reader": reader_id, "match": match_id, "message": up_to,
                                         "payload": data_json})
    if row.outcome == "not_found":
        raise NotFound("no such match")
    if row.outcome == "not_open":
        rules.check_open(row.match_state, row.match_blocked)
    if row.outcome == "no_message":
        raise NotFound("no such message in this match")
    if row.outcome == "read":
        await events.publish_appended([(row.member_a, "message.read", data_json, row.seq_a),
                                       (row.member_b, "message.read", data_json, row.seq_b)])
    return {}
