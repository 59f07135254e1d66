"""Chat's busiest writes in one round trip: ``delete_send_message`` and ``delete_mark_read``.

With them ``delete_append_to_members`` (both members' events, counters in ascending order) and
``delete_rfc3339`` (a time as the wire writes it). Called alone in autocommit, a send is one round trip where it
took five, a read receipt one where it took four. The definitions are a copy of
``domain/chat/server_functions.py``'s ``definitions()``; a test fails when the two part (then write a migration
that replaces the functions with the new definitions).

Revision ID: 0015_chat_functions
Revises: 0014_pass_function
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015_chat_functions"
down_revision: str | None = "0014_pass_function"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RFC3339 = """CREATE OR REPLACE FUNCTION delete_rfc3339(p_at timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT AS $function$
SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN to_char(p_at AT TIME ZONE 'UTC', 'US') = '000000' THEN ''
            ELSE to_char(p_at AT TIME ZONE 'UTC', '.US') END
    || 'Z'
$function$"""

APPEND = """CREATE OR REPLACE FUNCTION delete_append_to_members(p_a uuid, p_b uuid, p_type text, p_payload jsonb,
    OUT seq_a bigint, OUT seq_b bigint)
LANGUAGE sql VOLATILE AS $function$
WITH next AS (
    INSERT INTO user_event_counters AS c (user_id, last_seq)
    SELECT t.u, 1 FROM unnest(ARRAY[p_a, p_b]) WITH ORDINALITY AS t(u, n) ORDER BY t.n
    ON CONFLICT (user_id) DO UPDATE SET last_seq = c.last_seq + 1
    RETURNING c.user_id, c.last_seq),
appended AS (
    INSERT INTO user_events (user_id, seq, type, payload)
    SELECT next.user_id, next.last_seq, p_type, p_payload FROM next
    RETURNING user_events.user_id AS member, user_events.seq AS seq)
SELECT max(appended.seq) FILTER (WHERE appended.member = p_a),
       max(appended.seq) FILTER (WHERE appended.member = p_b)
  FROM appended
$function$"""

SEND = """CREATE OR REPLACE FUNCTION delete_send_message(p_sender uuid, p_match uuid, p_id uuid, p_body text, p_client_msg_id text, p_head text, p_tail text)
RETURNS TABLE (outcome text, match_state varchar, match_blocked boolean, match_at timestamptz, member_a uuid, member_b uuid, stored_id uuid, stored_match uuid, stored_body text, stored_at timestamptz, stored_safety text[], seq_a bigint, seq_b bigint)
LANGUAGE plpgsql VOLATILE AS $function$
DECLARE
    v_match record;
    v_at timestamptz;
BEGIN
    SELECT m.user_a, m.user_b, m.state, m.matched_at,
           EXISTS (SELECT 1 FROM blocks b
                    WHERE b.blocker_id = m.user_a AND b.blocked_id = m.user_b
                       OR b.blocker_id = m.user_b AND b.blocked_id = m.user_a) AS blocked
      INTO v_match
      FROM matches m
     WHERE m.id = p_match AND (m.user_a = p_sender OR m.user_b = p_sender)
       FOR NO KEY UPDATE OF m;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    match_state := v_match.state;
    match_blocked := v_match.blocked;
    match_at := v_match.matched_at;
    member_a := v_match.user_a;
    member_b := v_match.user_b;
    -- a fresh snapshot, taken with the lock held: a retry that committed while this waited is seen
    SELECT msg.id, msg.match_id, msg.body, msg.created_at, msg.safety
      INTO stored_id, stored_match, stored_body, stored_at, stored_safety
      FROM messages msg
     WHERE msg.sender_id = p_sender AND msg.client_msg_id = p_client_msg_id;
    IF FOUND THEN
        outcome := 'stored';
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_match.blocked OR v_match.state NOT IN ('active', 'dating') THEN
        outcome := 'not_open';
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO messages (id, match_id, sender_id, body, client_msg_id, created_at, safety)
    VALUES (p_id, p_match, p_sender, p_body, p_client_msg_id, clock_timestamp(), '{}')
    ON CONFLICT (sender_id, client_msg_id) DO NOTHING
    RETURNING messages.created_at INTO v_at;
    IF v_at IS NULL THEN
        outcome := 'taken';
        RETURN NEXT;
        RETURN;
    END IF;
    UPDATE matches m SET last_message_at = greatest(coalesce(m.last_message_at, v_at), v_at) WHERE m.id = p_match;
    SELECT appended.seq_a, appended.seq_b INTO seq_a, seq_b
      FROM delete_append_to_members(v_match.user_a, v_match.user_b, 'message.created',
                                    CAST(p_head || to_json(delete_rfc3339(v_at))::text || p_tail AS jsonb)) appended;
    outcome := 'sent';
    stored_id := p_id;
    stored_match := p_match;
    stored_body := p_body;
    stored_at := v_at;
    stored_safety := '{}';
    RETURN NEXT;
END
$function$"""

MARK_READ = """CREATE OR REPLACE FUNCTION delete_mark_read(p_reader uuid, p_match uuid, p_message uuid, p_payload text)
RETURNS TABLE (outcome text, match_state varchar, match_blocked boolean, member_a uuid, member_b uuid, seq_a bigint, seq_b bigint)
LANGUAGE plpgsql VOLATILE AS $function$
DECLARE
    v_match record;
    v_message record;
BEGIN
    SELECT m.user_a, m.user_b, m.state,
           EXISTS (SELECT 1 FROM blocks b
                    WHERE b.blocker_id = m.user_a AND b.blocked_id = m.user_b
                       OR b.blocker_id = m.user_b AND b.blocked_id = m.user_a) AS blocked
      INTO v_match
      FROM matches m
     WHERE m.id = p_match AND (m.user_a = p_reader OR m.user_b = p_reader)
       FOR SHARE OF m;
    IF NOT FOUND THEN
        outcome := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    member_a := v_match.user_a;
    member_b := v_match.user_b;
    IF v_match.blocked OR v_match.state NOT IN ('active', 'archived', 'dating') THEN
        outcome := 'not_open';
        match_state := v_match.state;
        match_blocked := v_match.blocked;
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT msg.id, msg.created_at INTO v_message FROM messages msg WHERE msg.id = p_message AND msg.match_id = p_match;
    IF NOT FOUND THEN
        outcome := 'no_message';
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO match_reads AS r (match_id, user_id, up_to_message_id, up_to_at)
    VALUES (p_match, p_reader, v_message.id, v_message.created_at)
    ON CONFLICT (match_id, user_id) DO UPDATE
       SET up_to_message_id = excluded.up_to_message_id, up_to_at = excluded.up_to_at, updated_at = now()
     WHERE (r.up_to_at, r.up_to_message_id) < (excluded.up_to_at, excluded.up_to_message_id);
    IF NOT FOUND THEN
        outcome := 'unchanged';
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT appended.seq_a, appended.seq_b INTO seq_a, seq_b
      FROM delete_append_to_members(v_match.user_a, v_match.user_b, 'message.read', CAST(p_payload AS jsonb)) appended;
    outcome := 'read';
    RETURN NEXT;
END
$function$"""

DEFINITIONS = (RFC3339, APPEND, SEND, MARK_READ)


def upgrade() -> None:
    for definition in DEFINITIONS:
        op.execute(definition)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS delete_mark_read(uuid, uuid, uuid, text)")
    op.execute("DROP FUNCTION IF EXISTS delete_send_message(uuid, uuid, uuid, text, text, text, text)")
    op.execute("DROP FUNCTION IF EXISTS delete_append_to_members(uuid, uuid, text, jsonb)")
    op.execute("DROP FUNCTION IF EXISTS delete_rfc3339(timestamptz)")
