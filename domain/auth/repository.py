"""SQL for accounts, token families and refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import EmailTaken
from domain.models import RefreshToken, TokenFamily, User
from domain.wire.enums import AccountStatus


async def insert_user(session: AsyncSession, values: dict[str, object]) -> User:
    """Insert a user; a taken email (case-insensitive) becomes ``EmailTaken``."""
    user = User(**values)
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if "email" in str(exc.orig):
            raise EmailTaken("an account with this email already exists") from None
        raise
    await session.refresh(user)
    return user


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.execute(select(User).where(User.email == email))).scalar_one_or_none()


async def credentials_by_email(session: AsyncSession, email: str) -> Row[uuid.UUID, str, AccountStatus] | None:
    """``(id, password_hash, status)`` of the account with ``email``: the same narrow row, or none, whether or not
    the email has an account (a whole ``User`` built only when it does would make a wrong password measurably
    slower to answer than an unknown email)."""
    return (await session.execute(select(User.id, User.password_hash, User.status)
                                  .where(User.email == email))).one_or_none()


async def user_by_id(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    stmt = select(User).where(User.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def create_family(session: AsyncSession, user_id: uuid.UUID) -> uuid.UUID:
    family_id = uuid.uuid4()
    await session.execute(insert(TokenFamily).values(id=family_id, user_id=user_id))
    return family_id


async def store_refresh_token(session: AsyncSession, jti: uuid.UUID, family_id: uuid.UUID,
                              token_hash: bytes, expires_at: datetime) -> None:
    await session.execute(insert(RefreshToken).values(id=jti, family_id=family_id, token_hash=token_hash,
                                                      expires_at=expires_at))


async def consume_refresh_token(session: AsyncSession, jti: uuid.UUID, token_hash: bytes) -> bool:
    """Mark the token used if it was unused; exactly one concurrent caller gets True (row lock)."""
    result = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == jti, RefreshToken.token_hash == token_hash, RefreshToken.used_at.is_(None))
        .values(used_at=func.now())
        .returning(RefreshToken.id)
    )
    return result.scalar_one_or_none() is not None


async def refresh_token_was_used(session: AsyncSession, jti: uuid.UUID, token_hash: bytes) -> bool:
    stmt = select(RefreshToken.used_at).where(RefreshToken.id == jti, RefreshToken.token_hash == token_hash)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, reason: str) -> None:
    await session.execute(
        update(TokenFamily)
        .where(TokenFamily.id == family_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_reason=reason)
    )


async def revoke_all_families(session: AsyncSession, user_id: uuid.UUID, reason: str) -> None:
    """Revoke every live login of a user (ban, suspension, account deletion)."""
    await session.execute(
        update(TokenFamily)
        .where(TokenFamily.user_id == user_id, TokenFamily.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_reason=reason)
    )


async def session_state(session: AsyncSession, family_id: uuid.UUID,
                        user_id: uuid.UUID) -> tuple[datetime | None, User] | None:
    """The family's revocation time and its user, in one round trip; None if either is gone."""
    stmt = (
        select(TokenFamily.revoked_at, User)
        .join(User, User.id == TokenFamily.user_id)
        .where(TokenFamily.id == family_id, TokenFamily.user_id == user_id)
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row is not None else None
