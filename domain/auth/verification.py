"""Email verification: the mail signup sends, ``email/verify`` (the link's token) and ``email/resend``.

A verification token works once, for 48 hours; a newer mail supersedes every earlier link. ``email/resend``
sends at most ``RESEND_MAX`` mails per hour (``rate_limited`` with the wait beyond), counted in the database
under the user's row lock, so the limit holds across nodes. An address already verified gets no mail.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth import account_tokens
from domain.auth import repository as repo
from domain.auth.account_mail import AccountMail, send, verification_mail
from domain.errors import InvalidToken, RateLimited, Unauthorized
from domain.models import User
from domain.models.account_tokens import Purpose

RESEND_MAX = 3
RESEND_WINDOW = timedelta(hours=1)
PURPOSE: Purpose = "verify_email"


async def send_verification(session: AsyncSession, mail: AccountMail | None, user: User, *,
                            requested: bool) -> None:
    """Supersede the user's earlier links and mail a new one, in the caller's transaction (no mail configured:
    nothing, as in the command-line tools)."""
    if mail is None:
        return
    await account_tokens.supersede(session, user.id, PURPOSE)
    token = await account_tokens.issue(session, user.id, PURPOSE, account_tokens.VERIFY_TTL, requested=requested)
    await send(session, mail, user.email, verification_mail(mail.app_url, user.display_name, token))


async def verify_email(session: AsyncSession, token: str) -> uuid.UUID:
    """Use a verification token: the address is verified. Returns the account's id; ``invalid_token`` for an
    unknown, used, superseded or expired token."""
    user_id = await account_tokens.use(session, token, PURPOSE)
    if user_id is None:
        raise InvalidToken("this link is unknown, was used already or has expired; ask for a new one")
    await account_tokens.supersede(session, user_id, PURPOSE)
    await session.execute(update(User).where(User.id == user_id).values(email_verified=True))
    return user_id


async def resend(session: AsyncSession, mail: AccountMail | None, user_id: uuid.UUID) -> None:
    """Mail a new verification link (earlier ones stop working); at most ``RESEND_MAX`` an hour."""
    user = await repo.user_by_id(session, user_id, for_update=True)  # concurrent resends count one at a time
    if user is None:
        raise Unauthorized("invalid token")
    if user.email_verified:
        return
    count, retry_after_s = await account_tokens.recent_requests(session, user_id, PURPOSE, RESEND_WINDOW)
    if count >= RESEND_MAX:
        raise RateLimited(f"at most {RESEND_MAX} verification mails an hour; try again later", retry_after_s)
    await send_verification(session, mail, user, requested=True)
