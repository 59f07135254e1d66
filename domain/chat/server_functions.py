"""Chat's two busiest writes in one round trip each: PL/pgSQL functions run alone, in autocommit (each call is
its own transaction), where a send took five round trips and a read receipt four, plus a pool checkout and a
session: on the 2-core machine each round trip costs a node more CPU in system calls and in the layers around
it than the statement itself (docs/load.md). Each function runs the statements of the transactional path in
the same order, each with a fresh snapshot (VOLATILE, READ COMMITTED), so what committed while it waited for
the match's lock is seen, as it was. They handle the common case only and answer ``outcome``:

``delete_send_message`` (``messages.send``):

- ``sent``: stored, both members' ``message.created`` appended (their seqs), the time from the database's clock;
- ``stored``: the sender already stored a message under this ``client_msg_id`` (a retry): that message;
- ``not_found``: no such match of the sender's;
- ``not_open``: the match is not ``active`` or ``dating``, or a block stands: closed, or ``archived`` (whose
  reactivation, with its ``match.updated`` events, stays in the transactional path);
- ``taken``: the key was stored meanwhile by a send into another match (the transactional path answers it).

The event's payload is the caller's JSON around the message's time (``p_head`` + time + ``p_tail``), the time
formatted by ``delete_rfc3339`` exactly as ``domain.wire.scalars.rfc3339`` formats it in Python, so the frame
published live and the one replayed from the log carry the same text.

``delete_mark_read`` (``messages.read``): ``read`` (moved forward, both members' ``message.read`` appended),
``unchanged`` (not forward: nothing written), ``not_found`` (no such match), ``not_open`` (closed or blocked),
``no_message`` (no such message in the match).

Both append through ``delete_append_to_members``: the two members' counters bumped in ascending order (the
lock order of every append), each event stored with its seq. The migration that creates the functions holds a
copy of ``definitions()``; ``tests/chat/test_server_functions.py`` fails when the two part.
"""

from __future__ import annotations

from domain.raw_statements import RawStatement

SEND = "delete_send_message"
MARK_READ = "delete_mark_read"
RFC3339 = "delete_rfc3339"
APPEND = "delete_append_to_members"

_RFC3339_DEFINITION = f"""CREATE OR REPLACE FUNCTION {RFC3339}(p_at timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT AS $function$
SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN to_char(p_at AT TIME ZONE 'UTC', 'US') = '000000' THEN ''
            ELSE to_char(p_at AT TIME ZONE 'UTC', '.US') END
    || 'Z'
$function$"""

_SEND_BODY = """
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
"""

_APPEND_DEFINITION = f"""CREATE OR REPLACE FUNCTION {APPEND}(p_a uuid, p_b uuid, p_type text, p_payload jsonb,
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
$function$"""  # noqa: S608 - constant SQL (the function's name)

_MARK_READ_BODY = """
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
"""

_MATCH_RESULT = "outcome text, match_state varchar, match_blocked boolean"
_SEND_SIGNATURE = ("p_sender uuid, p_match uuid, p_id uuid, p_body text, p_client_msg_id text, p_head text, "
                   "p_tail text")
_SEND_RESULT = (f"{_MATCH_RESULT}, match_at timestamptz, member_a uuid, member_b uuid, stored_id uuid, "
                "stored_match uuid, stored_body text, stored_at timestamptz, stored_safety text[], seq_a bigint, "
                "seq_b bigint")
_MARK_READ_SIGNATURE = "p_reader uuid, p_match uuid, p_message uuid, p_payload text"
_MARK_READ_RESULT = f"{_MATCH_RESULT}, member_a uuid, member_b uuid, seq_a bigint, seq_b bigint"

SEND_CALL = RawStatement(
    f"SELECT * FROM {SEND}(:sender, :match, :id, :body, :client_msg_id, :head, :tail)")  # noqa: S608 - constant
MARK_READ_CALL = RawStatement(f"SELECT * FROM {MARK_READ}(:reader, :match, :message, :payload)")  # noqa: S608
BODIES = {SEND: _SEND_BODY, MARK_READ: _MARK_READ_BODY}  # as ``pg_proc.prosrc`` holds them


def _plpgsql(name: str, signature: str, result: str, body: str) -> str:
    return (f"CREATE OR REPLACE FUNCTION {name}({signature})\nRETURNS TABLE ({result})\n"
            f"LANGUAGE plpgsql VOLATILE AS $function${body}$function$")


def definitions() -> tuple[str, ...]:
    """The ``CREATE OR REPLACE FUNCTION`` statements, in the order they must run (what the migration holds)."""
    return (_RFC3339_DEFINITION, _APPEND_DEFINITION,
            _plpgsql(SEND, _SEND_SIGNATURE, _SEND_RESULT, _SEND_BODY),
            _plpgsql(MARK_READ, _MARK_READ_SIGNATURE, _MARK_READ_RESULT, _MARK_READ_BODY))
