"""A like in one round trip: ``delete_like``.

It runs the transactional like's statements (the liker's row lock, the target's and the pair's advisory locks, the
target and the liker's counters, the like, the match and the events) in one call, its own transaction when run
alone in autocommit: a like is two round trips (the cards, then this call) where it took eight or nine. The
definition is a copy of ``domain/social/like_function.py``'s ``definition()``; a test fails when the two part
(then write a migration that replaces the function with the new definition).

Revision ID: 0016_like_function
Revises: 0015_chat_functions
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016_like_function"
down_revision: str | None = "0015_chat_functions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFINITION = """CREATE OR REPLACE FUNCTION delete_like(p_liker uuid, p_target uuid, p_user_key bigint, p_pair_key bigint, p_like_id uuid, p_match_id uuid, p_comment text, p_norm text, p_fits boolean, p_daily_cap integer, p_ever_cap integer, p_same_cap integer, p_recent_cap integer, p_window interval, p_received text, p_liker_head text, p_liker_tail text, p_target_head text, p_target_tail text)
RETURNS TABLE (outcome text, clock_at timestamptz, liker_status varchar, liker_until timestamptz, target_status varchar, target_until timestamptz, target_blocked boolean, target_passed boolean, target_liked boolean, count_today integer, count_ever integer, count_same integer, recent_at timestamptz[], likes_today integer, liked_back boolean, passed_back boolean, event_type text, liker_seq bigint, target_seq bigint)
LANGUAGE plpgsql VOLATILE AS $function$
#variable_conflict use_column
DECLARE
    v_at timestamptz;
    v_day date;
    v_since timestamptz;
    v_stored uuid;
    v_users uuid[];
    v_types text[];
    v_payloads text[];
    v_row record;
BEGIN
    SELECT users.status, users.suspended_until INTO liker_status, liker_until
      FROM users WHERE users.id = p_liker FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        outcome := 'no_liker';
        RETURN NEXT;
        RETURN;
    END IF;
    -- the target's advisory lock (shared: holds off its deletion), the pair's, then the clock
    PERFORM pg_advisory_xact_lock_shared(p_user_key), pg_advisory_xact_lock(p_pair_key);
    v_at := clock_timestamp();
    v_day := (v_at AT TIME ZONE 'UTC')::date;
    v_since := v_at - p_window;
    clock_at := v_at;
    -- the target and the liker's counters, in a fresh snapshot taken with every lock held
    FOR target_status, target_until, target_blocked, target_passed, target_liked, count_today, count_ever,
        count_same, recent_at IN
SELECT users.status AS status, users.suspended_until AS suspended_until, EXISTS (SELECT *
FROM blocks
WHERE blocks.blocker_id = p_liker::UUID AND blocks.blocked_id = users.id OR blocks.blocker_id = users.id AND blocks.blocked_id = p_liker::UUID) AS blocked, EXISTS (SELECT *
FROM passes
WHERE passes.passer_id = p_liker::UUID AND passes.passee_id = users.id AND passes.expires_at > v_at::TIMESTAMP WITH TIME ZONE) AS passed_by_actor, EXISTS (SELECT *
FROM likes
WHERE likes.liker_id = p_liker::UUID AND likes.likee_id = users.id) AS liked_by_actor, coalesce((SELECT daily_like_counts.count
FROM daily_like_counts
WHERE daily_like_counts.user_id = p_liker::UUID AND daily_like_counts.day = v_day::DATE), 0::INTEGER) AS coalesce_1, (SELECT count(*) AS count_1
FROM (SELECT 1
FROM likes
WHERE likes.liker_id = p_liker::UUID
 LIMIT p_ever_cap::INTEGER) AS anon_2) AS anon_1, (SELECT count(*) AS count_2
FROM (SELECT 1
FROM likes
WHERE likes.liker_id = p_liker::UUID AND likes.comment_norm = p_norm::VARCHAR
 LIMIT p_same_cap::INTEGER) AS anon_4) AS anon_3, (SELECT array_agg(anon_6.created_at ORDER BY anon_6.created_at DESC) AS array_agg_1
FROM (SELECT likes.created_at AS created_at
FROM likes
WHERE likes.liker_id = p_liker::UUID AND likes.created_at > v_since::TIMESTAMP WITH TIME ZONE ORDER BY likes.created_at DESC
 LIMIT p_recent_cap::INTEGER) AS anon_6) AS anon_5
FROM users
WHERE users.id = p_target::UUID
    LOOP
    END LOOP;
    IF NOT FOUND THEN
        outcome := 'no_target';
        RETURN NEXT;
        RETURN;
    END IF;
    IF ((liker_status = 'active' OR liker_status = 'suspended' AND liker_until <= v_at)
        AND (target_status = 'active' OR target_status = 'suspended' AND target_until <= v_at)
        AND NOT target_blocked AND NOT target_passed AND NOT target_liked
        AND count_today < p_daily_cap
        AND (p_fits OR p_comment IS NULL AND count_ever >= p_ever_cap)
        AND (p_comment IS NULL OR count_same < p_same_cap)
        AND coalesce(cardinality(recent_at), 0) < p_recent_cap) IS NOT TRUE THEN
        outcome := 'refused';
        RETURN NEXT;
        RETURN;
    END IF;
    FOR v_stored, likes_today, liked_back, passed_back IN

WITH stored AS (
  INSERT INTO likes (id, liker_id, likee_id, comment, comment_norm, created_at)
  VALUES (p_like_id, p_liker, p_target, p_comment, p_norm, v_at)
  ON CONFLICT (liker_id, likee_id) DO NOTHING
  RETURNING id
), today AS (
  INSERT INTO daily_like_counts (user_id, day, count)
  SELECT CAST(p_liker AS uuid), CAST(v_day AS date), 1 FROM stored
  ON CONFLICT (user_id, day) DO UPDATE SET count = daily_like_counts.count + 1
  RETURNING count
)
SELECT stored.id, today.count,
  EXISTS (SELECT 1 FROM likes WHERE liker_id = p_target AND likee_id = p_liker),
  EXISTS (SELECT 1 FROM passes WHERE passer_id = p_target AND passee_id = p_liker AND expires_at > v_at)
FROM stored, today
    LOOP
    END LOOP;
    IF NOT FOUND THEN
        outcome := 'taken';
        RETURN NEXT;
        RETURN;
    END IF;
    IF liked_back AND NOT passed_back THEN
        FOR v_row IN
INSERT INTO matches (id, user_a, user_b, state, matched_at, state_changed_at) VALUES (p_match_id::UUID, least(p_liker, p_target)::UUID, greatest(p_liker, p_target)::UUID, 'active'::VARCHAR, v_at::TIMESTAMP WITH TIME ZONE, v_at::TIMESTAMP WITH TIME ZONE) ON CONFLICT (user_a, user_b) DO NOTHING RETURNING matches.id, matches.user_a, matches.user_b, matches.state, matches.matched_at, matches.state_changed_at, matches.a_dating_confirmed_at, matches.b_dating_confirmed_at, matches.last_message_at
        LOOP
        END LOOP;
        IF FOUND THEN
            event_type := 'match.created';
            v_users := ARRAY[p_liker, p_target];
            v_payloads := ARRAY[p_liker_head || to_json(delete_rfc3339(v_at))::text || p_liker_tail,
                                p_target_head || to_json(delete_rfc3339(v_at))::text || p_target_tail];
            IF p_target < p_liker THEN  -- ascending user ids: the lock order of every append
                v_users := ARRAY[p_target, p_liker];
                v_payloads := ARRAY[v_payloads[2], v_payloads[1]];
            END IF;
        END IF;
    ELSIF NOT passed_back THEN
        event_type := 'like.received';
        v_users := ARRAY[p_target];
        v_payloads := ARRAY[p_received];
    END IF;
    IF event_type IS NOT NULL THEN
        v_types := array_fill(event_type, ARRAY[cardinality(v_users)]);
        FOR v_row IN
WITH next AS (INSERT INTO user_event_counters (user_id, last_seq) SELECT u, 1 FROM unnest(CAST(v_users AS uuid[])) WITH ORDINALITY AS t(u, n) ORDER BY n ON CONFLICT (user_id) DO UPDATE SET last_seq = user_event_counters.last_seq + 1 RETURNING user_id, last_seq) INSERT INTO user_events (user_id, seq, type, payload) SELECT next.user_id, next.last_seq, e.type, CAST(e.payload AS jsonb) FROM next JOIN unnest(CAST(v_users AS uuid[]), CAST(v_types AS text[]), CAST(v_payloads AS text[])) AS e(user_id, type, payload) ON e.user_id = next.user_id RETURNING user_id, seq
        LOOP
            IF v_row.user_id = p_liker THEN
                liker_seq := v_row.seq;
            ELSE
                target_seq := v_row.seq;
            END IF;
        END LOOP;
    END IF;
    outcome := 'liked';
    RETURN NEXT;
END
$function$"""


def upgrade() -> None:
    op.execute(DEFINITION)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS delete_like(uuid, uuid, bigint, bigint, uuid, uuid, text, text, boolean, "
               "integer, integer, integer, integer, interval, text, text, text, text, text)")
