"""Setting a new password (reset and change share it): every login ends, every socket but the kept ones closes.

In the caller's transaction: the new hash and ``password_changed_at`` are written, every login (refresh-token
family) of the account is revoked, outstanding reset links are superseded (and a reset token issued before
``password_changed_at`` fails anyway), and a new login is created for the caller. After commit one control
message (``revoke_logins``) reaches every node holding sockets of the account: each socket whose login is not
in ``keep`` closes with 4401.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth import account_tokens
from domain.auth import repository as repo
from domain.auth.service import AuthDeps, IssuedTokens, issue_tokens
from domain.models import User


async def replace_password(session: AsyncSession, deps: AuthDeps, user: User, password: str, *, reason: str,
                           keep: Collection[uuid.UUID] = (), verified: bool = False) -> IssuedTokens:
    """Store ``password`` for ``user``, revoke every login (``reason``), and log the caller in afresh.

    ``verified``: the change came through a mailed link, so the address is verified too.

    Sockets of the logins in ``keep`` (and of the new one) stay open; every other socket of the account, on
    every node, closes with 4401 once the transaction commits.
    """
    password_hash = await deps.hasher.hash(password)
    values: dict[str, object] = {"password_hash": password_hash, "password_changed_at": func.now()}
    if verified:
        values["email_verified"] = True
    await session.execute(update(User).where(User.id == user.id).values(values))
    await repo.revoke_all_families(session, user.id, reason)
    await account_tokens.supersede(session, user.id, "reset_password")
    family_id = await repo.create_family(session, user.id)
    if deps.events is not None:
        kept = sorted({str(family) for family in (*keep, family_id)})
        deps.events.control_after_commit(session, user.id, "revoke_logins", keep=kept)
    await session.refresh(user)
    return await issue_tokens(session, deps, user, family_id)
