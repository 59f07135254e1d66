"""A like in one round trip: ``delete_like``, a PL/pgSQL function that runs the transactional like's statements.

``likes.like`` sends eight or nine messages (BEGIN, the locks, the target and counters, the insert, the match,
the cards, the events, COMMIT). The function takes the same locks in the same order (the liker's row, the
target's and the pair's advisory locks), reads the target and the liker's counters in a fresh snapshot taken
with them held (VOLATILE: each statement has its own snapshot, READ COMMITTED), stores the like, the match and
the events, and called alone in autocommit it is its own transaction. Its statements are the ones the code
builds (``like_store.TARGET_AND_COUNTS``, ``like_store.STORE_LIKE``, ``match_store.INSERT_MATCH``,
``events.repository.APPEND_MANY``), written into the body by ``domain.plpgsql.inline``.

The rules stay in Python (``likes.check_liker``, ``likes.check_rules``). The function only needs to know
whether the like may be stored: that is the conjunction of the rules' thresholds, each passed in from
``domain.social.rules``. When it is false the function writes nothing and answers ``refused`` with what it
read, and the caller runs the rules on that to raise the contract's error, in the contract's order.

Outcomes: ``no_liker`` (no such account), ``no_target`` (no such person), ``refused`` (see above), ``taken``
(the pair's like exists: stored meanwhile), ``liked`` (stored; ``event_type`` names the events appended:
``match.created`` for both members, ``like.received`` for the target, or null). The events' payloads come
from the caller, which loaded the cards before the call; a match's ``matched_at`` is written in by the
function between the caller's JSON before and after it (``wire.around``), as ``delete_send_message`` writes a
message's time.

The migration that creates the function holds a copy of ``definition()``; ``tests/social/test_like_function.py``
fails when the two part.
"""

from __future__ import annotations

from domain.events.repository import APPEND_MANY
from domain.plpgsql import inline
from domain.raw_statements import RawStatement
from domain.social.like_store import STORE_LIKE, TARGET_AND_COUNTS
from domain.social.match_store import INSERT_MATCH

NAME = "delete_like"
_ARGUMENTS = ("liker", "target", "user_key", "pair_key", "like_id", "match_id", "comment", "norm", "fits",
              "daily_cap", "ever_cap", "same_cap", "recent_cap", "window", "received", "liker_head",
              "liker_tail", "target_head", "target_tail")
SIGNATURE = ("p_liker uuid, p_target uuid, p_user_key bigint, p_pair_key bigint, p_like_id uuid, p_match_id uuid, "
             "p_comment text, p_norm text, p_fits boolean, p_daily_cap integer, p_ever_cap integer, "
             "p_same_cap integer, p_recent_cap integer, p_window interval, p_received text, "
             "p_liker_head text, p_liker_tail text, p_target_head text, p_target_tail text")
RESULT = ("outcome text, clock_at timestamptz, liker_status varchar, liker_until timestamptz, "
          "target_status varchar, target_until timestamptz, target_blocked boolean, target_passed boolean, "
          "target_liked boolean, count_today integer, count_ever integer, count_same integer, "
          "recent_at timestamptz[], likes_today integer, liked_back boolean, passed_back boolean, event_type text, "
          "liker_seq bigint, target_seq bigint")

_TARGET_AND_COUNTS = inline(TARGET_AND_COUNTS, {
    "actor": "p_liker", "target": "p_target", "now": "v_at", "day": "v_day", "norm": "p_norm",
    "since": "v_since", "ever_cap": "p_ever_cap", "same_cap": "p_same_cap", "recent_cap": "p_recent_cap"})
_STORE_LIKE = inline(STORE_LIKE, {"id": "p_like_id", "liker": "p_liker", "likee": "p_target", "comment": "p_comment",
                                  "norm": "p_norm", "now": "v_at", "day": "v_day"})
_INSERT_MATCH = inline(RawStatement.of(INSERT_MATCH), {"p_id": "p_match_id", "low": "least(p_liker, p_target)",
                                                       "high": "greatest(p_liker, p_target)", "now": "v_at"})
_APPEND_MANY = inline(APPEND_MANY, {"user_ids": "v_users", "types": "v_types", "payloads": "v_payloads"})

BODY = f"""
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
{_TARGET_AND_COUNTS}
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
{_STORE_LIKE}
    LOOP
    END LOOP;
    IF NOT FOUND THEN
        outcome := 'taken';
        RETURN NEXT;
        RETURN;
    END IF;
    IF liked_back AND NOT passed_back THEN
        FOR v_row IN
{_INSERT_MATCH}
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
{_APPEND_MANY}
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
"""  # noqa: S608 - built from the code's own statements; every value is an argument

CALL = RawStatement(f"SELECT * FROM {NAME}(" + ", ".join(f":{name}" for name in _ARGUMENTS) + ")")  # noqa: S608


def definition() -> str:
    """``CREATE OR REPLACE FUNCTION`` for the current statements (what a migration holds)."""
    return (f"CREATE OR REPLACE FUNCTION {NAME}({SIGNATURE})\nRETURNS TABLE ({RESULT})\n"
            f"LANGUAGE plpgsql VOLATILE AS $function${BODY}$function$")
