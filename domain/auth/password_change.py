"""Changing the password while signed in (``password/change``).

The current password is checked like a login: the login throttle (``LoginGuard``) may refuse the attempt
(``rate_limited``), and a wrong password counts as a failed login for the account's email and the client's
address before ``invalid_credentials``. Then ``new_password.replace_password`` revokes every login of the
account, the caller's too, and logs the caller in afresh. Sockets of the other logins close with 4401 on
every node; the caller's own sockets (the login that made the change) stay open until their access token
expires, or move to the new login with an ``auth`` frame carrying the new access token (docs/accounts.md).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth import repository as repo
from domain.auth.new_password import replace_password
from domain.auth.service import AuthDeps, IssuedTokens, Principal, password_problem
from domain.errors import InvalidCredentials, Unauthorized, ValidationFailed


async def change_password(session: AsyncSession, deps: AuthDeps, principal: Principal, *, current_password: str,
                          new_password: str, address: str) -> IssuedTokens:
    """Check ``current_password`` (throttled as a login), then set ``new_password``; fresh tokens."""
    problem = password_problem(new_password)
    if problem:
        raise ValidationFailed.field("new_password", problem)
    user = await repo.user_by_id(session, principal.user_id)
    if user is None or user.status == "deleted":
        raise Unauthorized("this account was deleted")
    await deps.throttle.check(user.email, address)
    if not await deps.hasher.verify(current_password, user.password_hash):
        await deps.throttle.failed(user.email, address)
        raise InvalidCredentials("the current password is wrong")
    await deps.throttle.succeeded(user.email, address)
    return await replace_password(session, deps, user, new_password, reason="password_change",
                                  keep={principal.family_id})
