"""Social rules without I/O: like checks, comment folding, pass limits and the match state machine.

Callers pass the clock and the counts; nothing here touches the database.
Where the contract is silent the choices are recorded in ``docs/social.md``.
"""

from __future__ import annotations

import base64
import math
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from domain.errors import CommentRequired, Conflict, DailyLimitReached, RateLimited, SpamDetected, ValidationFailed
from domain.models.social import MAX_COMMENT_CHARS
from domain.text.bidi import refuse_direction_formatting
from domain.wire.enums import MatchState
from domain.wire.scalars import rfc3339

# -- likes (CONTRACT section 3 "Likes") -------------------------------------------------------------------------
DAILY_LIKE_LIMIT = 10  # per UTC day
FIRST_LIKES_NEEDING_COMMENT = 5  # a user's first likes ever carry a comment
COMMENT_MIN_CHARS = 10
COMMENT_MAX_CHARS = MAX_COMMENT_CHARS  # 500
SAME_COMMENT_MAX = 2  # the same (folded) comment text may be sent twice; the third is spam
VELOCITY_LIMIT = 5  # likes in any ...
VELOCITY_WINDOW_S = 60  # ... window of this many seconds

# -- passes (CONTRACT section 3 "Passes") -----------------------------------------------------------------------
PASS_DAYS = 30
PASS_UNDO_INTERVAL = timedelta(days=7)

# -- matches ---------------------------------------------------------------------------------------------------
ARCHIVE_IDLE_AFTER = timedelta(days=7)  # active matches without messages this long are archived
DEFAULT_LIST_STATES = ("active", "dating", "archived")  # matches.list without ``states``: the open ones
LIST_DEFAULT_LIMIT = 20
LIST_MAX_LIMIT = 50
PENDING_LIMIT = 100  # likes.pending returns the newest this many

# ``reason`` of match.updated when no unmatch reason applies
REASON_BLOCKED = "blocked"
REASON_ACCOUNT_DELETED = "account_deleted"
REASON_INACTIVE = "inactive"

Action = Literal["unmatch", "archive", "confirm_dating", "delete", "message", "end_dating", "block"]

# The whole state machine. The first six rows are CONTRACT section 3 "Matches"; the rest are the two product
# rules that end a match whatever its open state is: a block ("ends any match") and an account deletion
# ("every match -> deleted"). Unmatched and deleted are final. Anything not listed is ``conflict``.
TRANSITIONS: dict[tuple[str, Action], MatchState] = {
    ("active", "unmatch"): "unmatched",
    ("active", "archive"): "archived",  # the scheduled job: 7 days without messages
    ("active", "confirm_dating"): "dating",  # once both members confirmed
    ("active", "delete"): "deleted",
    ("archived", "message"): "active",
    ("dating", "end_dating"): "archived",
    ("active", "block"): "unmatched",
    ("archived", "block"): "unmatched",
    ("dating", "block"): "unmatched",
    ("archived", "delete"): "deleted",
    ("dating", "delete"): "deleted",
}
OPEN_STATES = frozenset({"active", "archived", "dating"})
# A partner's card shows a distance only while the match is active (or dating): an unmatched, archived or
# deleted match's card carries distance_km null, so a former partner cannot follow someone's moves.
DISTANCE_STATES = frozenset({"active", "dating"})


def next_state(state: str, action: Action) -> MatchState:
    """The state ``action`` moves a match in ``state`` to; ``conflict`` if the move is not allowed."""
    target = TRANSITIONS.get((state, action))
    if target is None:
        raise Conflict(f"a {state} match cannot be changed by {action.replace('_', ' ')}", {"state": state})
    return target


def allows(state: str, action: Action) -> bool:
    """True if ``action`` may move a match in ``state``."""
    return (state, action) in TRANSITIONS


# -- comment folding -------------------------------------------------------------------------------------------
# Look-alikes mapped before case folding, so capitals map to the Latin capital they resemble (Greek "Eta"
# looks like H, its small letter like n). Escapes keep the source readable for every reviewer's font.
_CONFUSABLES = str.maketrans({
    # Cyrillic capitals
    "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u0401": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H",
    "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0423": "Y", "\u0425": "X", "\u0405": "S",
    "\u0406": "I", "\u0408": "J", "\u04c0": "I", "\u051a": "Q", "\u051c": "W",
    # Cyrillic small letters
    "\u0430": "a", "\u0435": "e", "\u0451": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0443": "y",
    "\u0445": "x", "\u0455": "s", "\u0456": "i", "\u0457": "i", "\u0458": "j", "\u04cf": "l", "\u0501": "d",
    "\u051b": "q", "\u051d": "w", "\u044c": "b", "\u0432": "b", "\u043a": "k", "\u043c": "m", "\u043d": "h",
    "\u0442": "t", "\u04bb": "h", "\u0261": "g",
    # Greek capitals
    "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I", "\u039a": "K",
    "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T", "\u03a5": "Y", "\u03a7": "X",
    # Greek small letters
    "\u03b1": "a", "\u03b2": "b", "\u03b3": "y", "\u03b5": "e", "\u03b7": "n", "\u03b9": "i", "\u03ba": "k",
    "\u03bd": "v", "\u03bf": "o", "\u03c1": "p", "\u03c4": "t", "\u03c5": "u", "\u03c7": "x", "\u03c9": "w",
    "\u03bc": "u", "\u03c2": "s",
})
# Digits and symbols written for letters, applied after case folding.
_LEETSPEAK = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                            "|": "l"})


def normalise_comment(text: str) -> str:
    """Fold a comment for the same-text check: case, spaces, accents, look-alike letters and digits-for-letters.

    "Hello  THERE friend", "h\u0435llo there friend" (Cyrillic e) and "HELL0 there friend" fold alike.
    """
    text = fold_letters(text).translate(_LEETSPEAK)
    return " ".join(text.split())


def fold_letters(text: str) -> str:
    """Case, compatibility forms, look-alike letters and accents folded; zero-width characters dropped.

    The first half of ``normalise_comment``; the content filter (``domain/safety/normalise.py``) continues
    from here with its own treatment of digits and separators.
    """
    text = unicodedata.normalize("NFKC", text)  # full-width and compatibility forms to their plain letters
    text = text.translate(_CONFUSABLES).casefold()
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))  # accents, zero-widths


def clean_comment(comment: str | None) -> str | None:
    """The comment as stored: surrounding whitespace removed; blank means none.

    Unstorable text, and text that reorders itself on screen (bidi overrides, ``domain/text/bidi.py``), is refused.
    """
    if comment is None:
        return None
    comment = comment.strip()
    if not comment:
        return None
    if "\x00" in comment or any(0xD800 <= ord(ch) <= 0xDFFF for ch in comment):
        raise ValidationFailed.field("comment", "contains characters that cannot be stored (NUL or lone surrogates)")
    refuse_direction_formatting("comment", comment)
    return comment


def comment_fits(comment: str | None) -> bool:
    """A comment of 10-500 characters."""
    return comment is not None and COMMENT_MIN_CHARS <= len(comment) <= COMMENT_MAX_CHARS


def check_comment(comment: str | None, likes_ever: int) -> None:
    """A user's first five likes ever need a 10-500 character comment; a later comment, if any, is 10-500 too."""
    fits = comment_fits(comment)
    if likes_ever < FIRST_LIKES_NEEDING_COMMENT and not fits:
        raise CommentRequired(
            f"your first {FIRST_LIKES_NEEDING_COMMENT} likes need a comment of {COMMENT_MIN_CHARS} to "
            f"{COMMENT_MAX_CHARS} characters",
            {"min_chars": COMMENT_MIN_CHARS, "max_chars": COMMENT_MAX_CHARS,
             "likes_needing_comment": FIRST_LIKES_NEEDING_COMMENT - likes_ever})
    if comment is not None and not fits:
        raise ValidationFailed.field("comment", f"{COMMENT_MIN_CHARS} to {COMMENT_MAX_CHARS} characters")


def check_daily(count_today: int, now: datetime) -> None:
    """At most ten likes per UTC day."""
    if count_today >= DAILY_LIKE_LIMIT:
        raise DailyLimitReached(f"you have used your {DAILY_LIKE_LIMIT} likes for today",
                                {"limit": DAILY_LIKE_LIMIT, "resets_at": rfc3339(next_utc_midnight(now))})


def check_spam(same_text_sent: int) -> None:
    """The same folded comment at most twice; the third time is spam."""
    if same_text_sent >= SAME_COMMENT_MAX:
        raise SpamDetected("you already sent this comment twice; write something personal")


def velocity_wait(recent: Sequence[datetime], now: datetime) -> float:
    """Seconds until another like fits "at most 5 in any 60 s" given the likes of the last minute (0: now)."""
    inside = sorted(t for t in recent if t > now - timedelta(seconds=VELOCITY_WINDOW_S))
    if len(inside) < VELOCITY_LIMIT:
        return 0.0
    oldest = inside[-VELOCITY_LIMIT]  # the oldest of the last five must leave the window
    return max(0.0, (oldest + timedelta(seconds=VELOCITY_WINDOW_S) - now).total_seconds())


def check_velocity(recent: Sequence[datetime], now: datetime) -> None:
    """Raise ``rate_limited`` with whole ``retry_after_s`` (rounded up) when the window is full."""
    wait = velocity_wait(recent, now)
    if wait > 0:
        raise RateLimited(f"at most {VELOCITY_LIMIT} likes per {VELOCITY_WINDOW_S} seconds", math.ceil(wait))


def likes_left(count_today: int) -> int:
    return max(0, DAILY_LIKE_LIMIT - count_today)


def utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def next_utc_midnight(now: datetime) -> datetime:
    return datetime.combine(utc_day(now) + timedelta(days=1), time(0), tzinfo=UTC)


# -- passes ----------------------------------------------------------------------------------------------------
PASS_LASTS = timedelta(days=PASS_DAYS)


def check_pass_undo(last_undo_at: datetime | None, now: datetime) -> None:
    """``pass.undo`` at most once per 7 days."""
    if last_undo_at is None:
        return
    wait = (last_undo_at + PASS_UNDO_INTERVAL - now).total_seconds()
    if wait > 0:
        raise RateLimited("you can undo a pass once every 7 days", math.ceil(wait))


# -- accounts --------------------------------------------------------------------------------------------------
def is_active(status: str, suspended_until: datetime | None, now: datetime) -> bool:
    """Active, or suspended with the suspension over."""
    return status == "active" or (status == "suspended" and suspended_until is not None and suspended_until <= now)


# -- matches.list cursor -----------------------------------------------------------------------------------------
def encode_cursor(matched_at: datetime, match_id: uuid.UUID) -> str:
    """An opaque keyset position: the last match of a page, by ``(matched_at, id)``."""
    raw = f"{matched_at.astimezone(UTC).isoformat()}|{match_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position ``encode_cursor`` made; anything else is ``validation_error`` on ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, match_id = raw.partition("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None:
            raise ValueError("naive time")
        return at, uuid.UUID(match_id)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed.field("cursor", "not a cursor this server gave out") from None


def check_list_limit(limit: int) -> int:
    if not 1 <= limit <= LIST_MAX_LIMIT:
        raise ValidationFailed.field("limit", f"1 to {LIST_MAX_LIMIT}")
    return limit
