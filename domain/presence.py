"""Who should hear about a user's presence: their current match partners."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from domain.batch_connection import BatchConnection
from domain.raw_statements import RawStatement

PRESENCE_STATES = ("active", "dating", "archived")

_STATES = ", ".join(f"'{state}'" for state in PRESENCE_STATES)
# both sides of the pair, each by its own index (ix_matches_user_a_state, ix_matches_user_b_state), for several
# users in one statement: it runs on every connect and disconnect, and a reconnect storm brings thousands at once
_PARTNERS = RawStatement(
    f"SELECT user_a, user_b FROM matches WHERE user_a = ANY(CAST(:users AS uuid[])) AND state IN ({_STATES}) "  # noqa: S608 - constants
    f"UNION ALL SELECT user_b, user_a FROM matches WHERE user_b = ANY(CAST(:users AS uuid[])) AND state IN ({_STATES})"
)


async def partner_ids_of(reads: BatchConnection, users: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each user's partners in a live match (active, dating or archived), in one statement."""
    found: dict[uuid.UUID, list[uuid.UUID]] = {user: [] for user in users}
    for user, partner in await reads.fetch(_PARTNERS, {"users": list(found)}):
        found[uuid.UUID(bytes=user.bytes)].append(uuid.UUID(bytes=partner.bytes))
    return found
