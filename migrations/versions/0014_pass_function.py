"""A pass in one round trip: ``delete_pass_on`` locks the passer's row, then passes (one statement each).

Called alone in autocommit, the function is its own transaction: one message to PostgreSQL where a pass took
four (BEGIN, the lock, the pass, COMMIT). Each statement of a VOLATILE function takes a fresh snapshot, so the
pass sees a like that committed while it waited for the lock, as the two statements in one transaction did.
The body is the SQL ``domain/social/pass_function.py`` compiles from the pass statement; a test fails when the
two part (then write a migration that replaces the function with the new ``definition()``).

Revision ID: 0014_pass_function
Revises: 0013_discovery_accepts
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014_pass_function"
down_revision: str | None = "0013_discovery_accepts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFINITION = """CREATE OR REPLACE FUNCTION delete_pass_on(p_actor uuid, p_target uuid, p_lasts interval)
RETURNS TABLE (status varchar, suspended_until timestamptz, blocked boolean, passed_by_actor boolean, liked_by_actor boolean, expires_at timestamptz)
LANGUAGE plpgsql VOLATILE AS $function$
#variable_conflict use_column
BEGIN
PERFORM 1 FROM users WHERE users.id = $1 FOR NO KEY UPDATE;
RETURN QUERY WITH now AS
(SELECT clock_timestamp() AS now),
target AS
(SELECT users.status AS status, users.suspended_until AS suspended_until, EXISTS (SELECT *
FROM blocks
WHERE blocks.blocker_id = $1::UUID AND blocks.blocked_id = users.id OR blocks.blocker_id = users.id AND blocks.blocked_id = $1::UUID) AS blocked, EXISTS (SELECT *
FROM passes
WHERE passes.passer_id = $1::UUID AND passes.passee_id = users.id AND passes.expires_at > now.now) AS passed_by_actor, EXISTS (SELECT *
FROM likes
WHERE likes.liker_id = $1::UUID AND likes.likee_id = users.id) AS liked_by_actor, now.now AS now
FROM users JOIN now ON true
WHERE users.id = $2::UUID),
passed AS
(INSERT INTO passes (passer_id, passee_id, created_at, expires_at) SELECT $1::UUID AS anon_1, $2::UUID AS anon_2, target.now AS now, target.now + $3::INTERVAL AS anon_3
FROM target
WHERE target.status != 'deleted'::VARCHAR AND NOT target.blocked AND NOT target.liked_by_actor ON CONFLICT (passer_id, passee_id) DO UPDATE SET created_at = excluded.created_at, expires_at = excluded.expires_at RETURNING passes.expires_at)
 SELECT target.status, target.suspended_until, target.blocked, target.passed_by_actor, target.liked_by_actor, passed.expires_at
FROM target LEFT OUTER JOIN passed ON true;
END
$function$"""


def upgrade() -> None:
    op.execute(DEFINITION)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS delete_pass_on(uuid, uuid, interval)")
