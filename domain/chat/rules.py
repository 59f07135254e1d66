"""Chat rules without I/O: what a message may contain and when a match is open for chat.

Where the contract is silent the choices are recorded in ``docs/chat.md``.
"""

from __future__ import annotations

import unicodedata
import uuid

from domain.errors import Conflict, ValidationFailed
from domain.models.chat import MAX_BODY_CHARS, MAX_CLIENT_MSG_ID_CHARS
from domain.text.bidi import refuse_direction_formatting

# Messages only in these states (CONTRACT section 3 "Matches"); unmatched and deleted are closed.
OPEN_STATES = frozenset({"active", "archived", "dating"})
REACTIVATED_BY_MESSAGE = "archived"  # archived -> active when a new message arrives

HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 100

TYPING_INTERVAL_S = 2.0  # at most one typing event per user, match and interval; extras are dropped

# Characters that render as nothing: a body made only of these (and whitespace) is blank.
_INVISIBLE = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def is_blank(text: str) -> bool:
    """True when ``text`` shows nothing: empty, whitespace, zero-width or filler characters only."""
    return all(ch.isspace() or ch in _INVISIBLE or unicodedata.category(ch) == "Cf" for ch in text)


def _storable(text: str) -> bool:
    """PostgreSQL text holds neither NUL nor lone surrogates (which JSON can still carry)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_body(body: str) -> str:
    """The body as sent, if it is 1 to 2,000 characters, not blank and not reordering itself; else ``validation_error``.

    Emoji, zero-width joiners and variation selectors are kept; bidi embeddings, overrides and isolates
    (``domain/text/bidi.py``) are refused.
    """
    if len(body) > MAX_BODY_CHARS:
        raise ValidationFailed.field("body", f"at most {MAX_BODY_CHARS} characters")
    if is_blank(body):
        raise ValidationFailed.field("body", "must not be empty or only whitespace")
    if not _storable(body):
        raise ValidationFailed.field("body", "contains characters that cannot be stored (NUL or lone surrogates)")
    refuse_direction_formatting("body", body)
    return body


def check_client_msg_id(client_msg_id: str) -> str:
    """The client's idempotency key, if it is 1 to 64 storable characters; else ``validation_error``."""
    if not 1 <= len(client_msg_id) <= MAX_CLIENT_MSG_ID_CHARS:
        raise ValidationFailed.field("client_msg_id", f"1 to {MAX_CLIENT_MSG_ID_CHARS} characters")
    if not _storable(client_msg_id):
        raise ValidationFailed.field("client_msg_id", "contains characters that cannot be stored")
    return client_msg_id


def check_limit(limit: int) -> int:
    """A history page size, 1 to 100."""
    if not 1 <= limit <= HISTORY_MAX_LIMIT:
        raise ValidationFailed.field("limit", f"1 to {HISTORY_MAX_LIMIT}")
    return limit


def check_open(state: str, blocked: bool) -> None:
    """Raise ``conflict`` unless the match is open for chat: an open state and no block either way."""
    if blocked:
        raise Conflict("this conversation has ended")
    if state not in OPEN_STATES:
        raise Conflict(f"this match is {state}; its conversation is closed", {"state": state})


def check_retry(stored_match_id: uuid.UUID, stored_body: str, match_id: uuid.UUID, body: str) -> None:
    """A reused ``client_msg_id`` is a retry only for the same match and body; anything else is ``conflict``."""
    if stored_match_id != match_id:
        raise Conflict("client_msg_id was already used for another match", {"field": "client_msg_id"})
    if stored_body != body:
        raise Conflict("client_msg_id was already used for a different message", {"field": "client_msg_id"})


def partner(user_a: uuid.UUID, user_b: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
    """The other member of a match."""
    return user_b if user_id == user_a else user_a
