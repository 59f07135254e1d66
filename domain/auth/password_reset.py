"""A forgotten password: ``password/forgot`` mails a reset link, ``password/reset`` uses it.

``password/forgot`` answers the same 202 whatever the email: the request only hands the address to
``ResetRequests`` (``reset_requests.py``), whose worker calls ``request_reset`` after the answer has gone
out, so the answer's status, body, headers and time cannot depend on the account. ``request_reset`` mails
a link (a token valid 30 minutes, once) to an account at most ``RESET_MAX`` times an hour, and silently
drops requests beyond. ``reset_password`` sets the new password through ``new_password.replace_password``:
every login of the account is revoked, all its sockets close with 4401, and the caller is logged in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth import account_tokens
from domain.auth import repository as repo
from domain.auth.account_mail import AccountMail, reset_mail, send
from domain.auth.new_password import replace_password
from domain.auth.service import CONTROL_RE, AuthDeps, IssuedTokens, effective_status, password_problem
from domain.errors import AccountSuspended, InvalidToken, ValidationFailed
from domain.models.account_tokens import Purpose
from domain.wire.scalars import rfc3339

RESET_MAX = 3
RESET_WINDOW = timedelta(hours=1)
PURPOSE: Purpose = "reset_password"


def _lookup_worthy(email: str) -> bool:
    """Whether ``email`` could be an account's (the login's rule: odd input is an unknown email)."""
    return len(email) <= 254 and not CONTROL_RE.search(email) and email.isprintable()


async def request_reset(session: AsyncSession, mail: AccountMail, email: str) -> bool:
    """Mail a reset link to the account of ``email`` if there is one and it had fewer than ``RESET_MAX`` this
    hour; True when a mail was written. Runs after ``password/forgot`` answered (``ResetRequests``)."""
    email = email.strip()
    user = await repo.user_by_email(session, email) if _lookup_worthy(email) else None
    if user is None or user.status == "deleted":
        return False
    await repo.user_by_id(session, user.id, for_update=True)  # concurrent requests count one at a time
    count, _ = await account_tokens.recent_requests(session, user.id, PURPOSE, RESET_WINDOW)
    if count >= RESET_MAX:
        return False
    token = await account_tokens.issue(session, user.id, PURPOSE, account_tokens.RESET_TTL, requested=True)
    return await send(session, mail, user.email, reset_mail(mail.app_url, user.display_name, token))


async def reset_password(session: AsyncSession, deps: AuthDeps, token: str, password: str) -> IssuedTokens:
    """Use a reset token to set ``password``: every login revoked, every socket closed (4401), fresh tokens.

    A password breaking the rules is ``validation_error`` and leaves the token unused; a suspended or banned
    account is ``account_suspended`` (nothing changes, the token stays unused).
    """
    problem = password_problem(password)
    if problem:
        raise ValidationFailed.field("password", problem)
    user_id = await account_tokens.use(session, token, PURPOSE)
    if user_id is None:
        raise InvalidToken("this link is unknown, was used already or has expired; ask for a new one")
    user = await repo.user_by_id(session, user_id, for_update=True)
    assert user is not None  # the token's row references it (ON DELETE CASCADE)
    status = effective_status(user, datetime.now(UTC))
    if status in ("suspended", "banned"):
        until = rfc3339(user.suspended_until) if status == "suspended" and user.suspended_until else None
        raise AccountSuspended(f"this account is {status}", {"status": status, "until": until})
    return await replace_password(session, deps, user, password, reason="password_reset",
                                  verified=True)  # the link reached the mailbox
