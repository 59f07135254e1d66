"""Single-use tokens mailed as links (email verification, password reset): issue, use, supersede, count.

A token is ``secrets.token_urlsafe(32)`` (256 random bits). Only its SHA-256 is stored, so a copy of the
database opens no account; the token itself exists in the mail (in the link's fragment) and nowhere else,
never in a log. Using a token marks it used in the same statement that checks it (unused, unexpired, account
not deleted, and for a reset: issued after the password last changed), so of two concurrent uses exactly one
wins. Times are the database's ``now()``.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import and_, delete, extract, func, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import AccountToken, User, table
from domain.models.account_tokens import Purpose

VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(minutes=30)
MAX_TOKEN_CHARS = 200  # ours are 43; anything much longer is not one of ours
KEEP = timedelta(days=3)  # a user's finished tokens older than this are deleted when the next one is issued

_token = table(AccountToken).c
_user = table(User).c


def token_hash(token: str) -> bytes:
    """The SHA-256 of the token string: what the database holds."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


async def issue(session: AsyncSession, user_id: uuid.UUID, purpose: Purpose, ttl: timedelta, *,
                requested: bool) -> str:
    """Store a new token of ``purpose`` for the user, valid for ``ttl``; return the token (to mail, never log)."""
    await session.execute(delete(AccountToken).where(
        _token.user_id == user_id, _token.created_at < func.now() - KEEP,
        or_(_token.used_at.is_not(None), _token.expires_at < func.now())))
    token = secrets.token_urlsafe(32)
    await session.execute(insert(AccountToken).values(
        id=uuid.uuid4(), user_id=user_id, purpose=purpose, token_hash=token_hash(token), requested=requested,
        expires_at=func.now() + ttl))
    return token


async def supersede(session: AsyncSession, user_id: uuid.UUID, purpose: Purpose) -> None:
    """Every unused token of ``purpose`` of the user stops working (a newer mail, a new password)."""
    await session.execute(update(AccountToken)
                          .where(_token.user_id == user_id, _token.purpose == purpose, _token.used_at.is_(None))
                          .values(used_at=func.now()))


async def use(session: AsyncSession, token: str, purpose: Purpose) -> uuid.UUID | None:
    """Mark ``token`` used if it is a live token of ``purpose``; return its user's id, or None.

    Live: unused and not superseded, unexpired, its account not deleted, and a reset token issued after the
    password last changed (a token issued before a later reset or password change no longer works).
    """
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    newer_than_password = (or_(_user.password_changed_at.is_(None), _token.created_at > _user.password_changed_at)
                           if purpose == "reset_password" else true())
    result = await session.execute(
        update(AccountToken)
        .where(_token.token_hash == token_hash(token), _token.purpose == purpose, _token.used_at.is_(None),
               _token.expires_at > func.now(), _user.id == _token.user_id, _user.status != "deleted",
               newer_than_password)
        .values(used_at=func.now())
        .returning(_token.user_id))
    user_id: uuid.UUID | None = result.scalar_one_or_none()
    return user_id


async def recent_requests(session: AsyncSession, user_id: uuid.UUID, purpose: Purpose,
                          window: timedelta) -> tuple[int, float]:
    """How many tokens of ``purpose`` the user asked for within ``window``, and the seconds until the oldest of
    them leaves it (0 when there is none)."""
    row = (await session.execute(
        select(func.count(), extract("epoch", func.min(_token.created_at) + window - func.now()))
        .where(and_(_token.user_id == user_id, _token.purpose == purpose, _token.requested.is_(True),
                    _token.created_at > func.now() - window)))).one()
    return int(row[0]), max(0.0, float(row[1] or 0.0))
