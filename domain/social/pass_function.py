"""A pass in one round trip: a PL/pgSQL function that takes the passer's row lock, then passes.

A pass used to travel as four messages (BEGIN, the passer's row lock, the pass statement, COMMIT), and passes
are over half of what the app sends (``bench load``): on a 2-core machine the system calls of those round
trips were a large share of a node's CPU (docs/load.md). The two statements cannot become one: the pass's
snapshot must be taken once the lock is held, or a like committed while the pass waited for the lock would go
unseen and both would stand. A VOLATILE function runs each of its statements with a fresh snapshot (READ
COMMITTED), so ``delete_pass_on`` locks, then passes with a snapshot that sees that like, and called alone
in autocommit it is its own transaction: one round trip.

The pass statement is built here with SQLAlchemy (it shares ``target_columns`` with likes) and the migration
that creates the function holds a copy of the SQL it compiles to: ``function_body()`` is that SQL as the
function runs it, and ``tests/social/test_pass_function.py`` fails when the two part. A change to the
statement then needs a migration that replaces the function with the new ``definition()``.
"""

from __future__ import annotations

from sqlalchemy import Interval, bindparam, not_, select, true
from sqlalchemy.dialects.postgresql import insert

from domain.models import Pass, table
from domain.plpgsql import inline
from domain.raw_statements import RawStatement
from domain.social.person_store import CLOCK_NOW, target_columns
from domain.social.store_common import ACTOR, TARGET

NAME = "delete_pass_on"
SIGNATURE = "p_actor uuid, p_target uuid, p_lasts interval"  # $1, $2 and $3 in the body, in this order
RESULT = ("status varchar, suspended_until timestamptz, blocked boolean, passed_by_actor boolean, "
          "liked_by_actor boolean, expires_at timestamptz")

_passes = table(Pass)
_EXCLUDED = insert(_passes).excluded  # the row an upsert proposed

# The clock read, the target as the passer relates to it, and the pass upserted only when the target may be
# passed on (exists, not deleted, no block, not liked); the caller raises from the target's facts, which also
# tell why nothing was written
_PASS_TARGET = target_columns(CLOCK_NOW.c.now).add_columns(CLOCK_NOW.c.now).join(CLOCK_NOW, true()).cte("target")
_PASS_IF_ALLOWED = (
    insert(_passes)
    .from_select(["passer_id", "passee_id", "created_at", "expires_at"],
                 select(ACTOR, TARGET, _PASS_TARGET.c.now,
                        _PASS_TARGET.c.now + bindparam("p_lasts", type_=Interval))
                 .where(_PASS_TARGET.c.status != "deleted", not_(_PASS_TARGET.c.blocked),
                        not_(_PASS_TARGET.c.liked_by_actor)))
    .on_conflict_do_update(index_elements=[_passes.c.passer_id, _passes.c.passee_id],
                           set_={"created_at": _EXCLUDED.created_at, "expires_at": _EXCLUDED.expires_at})
    .returning(_passes.c.expires_at)
    .cte("passed"))
PASS_IF_ALLOWED = RawStatement.of(
    select(_PASS_TARGET.c.status, _PASS_TARGET.c.suspended_until, _PASS_TARGET.c.blocked,
           _PASS_TARGET.c.passed_by_actor, _PASS_TARGET.c.liked_by_actor, _PASS_IF_ALLOWED.c.expires_at)
    .select_from(_PASS_TARGET.outerjoin(_PASS_IF_ALLOWED, true())))
_ARGUMENTS = ("actor", "target", "p_lasts")  # the function's parameters, as the statement names them

# the call: the passer's row lock and the pass, one statement in autocommit
CALL = RawStatement(f"SELECT * FROM {NAME}(:actor, :target, :p_lasts)")  # noqa: S608 - a constant name


def _pass_sql() -> str:
    """The pass statement with the function's ``$1``-``$3`` and its written-in values as literals."""
    return inline(PASS_IF_ALLOWED, {name: f"${n}" for n, name in enumerate(_ARGUMENTS, start=1)})


def function_body() -> str:
    """The function's body: the lock, then the pass with a snapshot taken after it (a statement of its own)."""
    return ("\n#variable_conflict use_column\nBEGIN\n"
            "PERFORM 1 FROM users WHERE users.id = $1 FOR NO KEY UPDATE;\n"
            f"RETURN QUERY {_pass_sql()};\nEND\n")


def definition() -> str:
    """``CREATE OR REPLACE FUNCTION`` for the current statement (what a migration would hold)."""
    return (f"CREATE OR REPLACE FUNCTION {NAME}({SIGNATURE})\nRETURNS TABLE ({RESULT})\n"
            f"LANGUAGE plpgsql VOLATILE AS $function${function_body()}$function$")
