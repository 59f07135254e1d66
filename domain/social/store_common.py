"""What the social area's stores share: the bind parameters, the database clock and two common conditions.

Statements that run on every like, pass, match or chat command are built once, with bound parameters, on
the tables rather than the mapped classes: building one per call costs CPU (construction and its cache
key), and CTEs, aliases and EXISTS clauses leave reference cycles that only the cyclic garbage collector
frees, pausing the event loop (docs/load.md); an ORM statement would run the ORM's result loading (and,
for an INSERT given parameters, its bulk path), which these plain rows do not need. Rarer statements are
built where they run, on the mapped classes. A writing statement's own parameters are named
unlike any column of its table ("p_..."): INSERT and UPDATE take a parameter named like a column as a value
for that column.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, DateTime, Exists, Uuid, and_, bindparam, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.models import Block, Pass, table

ACTOR, TARGET, USER = bindparam("actor", type_=Uuid), bindparam("target", type_=Uuid), bindparam("user", type_=Uuid)
NOW = bindparam("now", type_=DateTime(timezone=True))

_CLOCK = select(func.clock_timestamp())


async def clock(session: AsyncSession) -> datetime:
    """The database's clock now (not the transaction start): one clock for every node."""
    now: datetime = (await session.execute(_CLOCK)).scalar_one()
    return now


Who = uuid.UUID | ColumnElement[uuid.UUID]
_block, _pass = table(Block).c, table(Pass).c


def blocked_between(a: Who, b: Who) -> Exists:
    """A block between ``a`` and ``b``, either way."""
    return exists().where(or_(and_(_block.blocker_id == a, _block.blocked_id == b),
                              and_(_block.blocker_id == b, _block.blocked_id == a)))


def active_pass(passer: Who, passee: Who, now: datetime | ColumnElement[datetime]) -> Exists:
    """The passer's pass on the passee, still running at ``now``."""
    return exists().where(_pass.passer_id == passer, _pass.passee_id == passee, _pass.expires_at > now)
