"""Access-token checks for sockets that connect together: one query per batch, the rules of ``authenticate``.

Every socket upgrade verifies its token and then that the token's login is not revoked and its account
is active (``service.authenticate``). When a node restarts, its sockets reconnect to the others all at
once; ``AccessChecker`` answers the logins asked about at about the same time with one statement
(``domain.coalescing``), reading only the four columns the rule needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import cast

from domain.auth import tokens
from domain.auth.service import Principal, check_login_live, status_at
from domain.batch_connection import BatchConnection
from domain.coalescing import Coalescer
from domain.errors import Unauthorized
from domain.raw_statements import RawStatement
from domain.wire.enums import AccountStatus

_LOGINS = RawStatement(
    "SELECT r.k, f.revoked_at, u.status, u.suspended_until, u.role "
    "FROM unnest(CAST(:families AS uuid[]), CAST(:users AS uuid[])) WITH ORDINALITY AS r(family_id, user_id, k) "
    "JOIN token_families f ON f.id = r.family_id AND f.user_id = r.user_id "
    "JOIN users u ON u.id = f.user_id"
)

# (revoked_at, status, suspended_until, role) of a login, or None when the login or its account is gone
LoginState = tuple[datetime | None, AccountStatus, datetime | None, str] | None


class AccessChecker:
    """``authenticate`` for many sockets at once."""

    def __init__(self, reads: BatchConnection, config: tokens.TokenConfig, max_batch: int = 500) -> None:
        self._reads = reads
        self._config = config
        self._logins: Coalescer[tuple[uuid.UUID, uuid.UUID], LoginState] = Coalescer(self._fetch, max_batch)

    @property
    def queries(self) -> int:
        """Statements run so far (each answered a batch)."""
        return self._logins.batches

    async def authenticate(self, access_token: str) -> Principal:
        """The token's principal; ``Unauthorized`` or ``AccountSuspended`` as ``service.authenticate`` raises."""
        claims = tokens.decode(self._config, access_token, "access")
        state = await self._logins.get((claims.family_id, claims.user_id))
        if state is None:
            raise Unauthorized("invalid token")
        revoked_at, status, suspended_until, role = state
        check_login_live(revoked_at, status_at(status, suspended_until, datetime.now(UTC)))
        return Principal(user_id=claims.user_id, family_id=claims.family_id, role=role,
                         expires_at=claims.expires_at)

    async def _fetch(self, logins: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> list[LoginState]:
        params = {"families": [f for f, _ in logins], "users": [u for _, u in logins]}
        rows = await self._reads.fetch(_LOGINS, params)
        found: list[LoginState] = [None] * len(logins)
        for k, revoked_at, status, suspended_until, role in rows:
            found[int(k) - 1] = (revoked_at, cast(AccountStatus, status), suspended_until, str(role))
        return found
