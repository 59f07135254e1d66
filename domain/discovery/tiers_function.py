"""A discovery batch's tier queries in one round trip: ``delete_discovery_tiers``, a PL/pgSQL function.

``repository.candidates`` reads the ``rank_bound`` tiers best first, one query each, until the rows read
decide the batch (``repository.floors``); in the load benchmark's town a batch reads three or four tiers, each
a round trip of its own. The function runs the same loop next to the data: the same query
(``repository.BATCH_SQL``, or for a tier inside a band of ``rank_bound`` with indexes of its own the band's
query, ``BAND_BATCH_SQL``; all written into its body by ``domain.plpgsql.inline``), the same tiers, and the same
floors from the rows read so far (every row, duplicates included, as ``floors`` sorts them), and returns every
row it read; the caller keeps the best of them (``repository.best_of``) as before. The constants of the rank
(the best a viewer-dependent term adds, the opposites' bound) come in as arguments from
``domain.discovery.ranking``, so nothing of the ranking is restated here but the floor's arithmetic.

The migration that creates the function holds a copy of ``definition()``; ``tests/discovery/test_tiers_function.py``
fails when the two part, and compares the function's rows with the loop's.
"""

from __future__ import annotations

from collections.abc import Sequence

from domain.plpgsql import inline
from domain.raw_statements import RawStatement

NAME = "delete_discovery_tiers"
SIGNATURE = ("p_viewer_id uuid, p_count integer, p_sent uuid[], p_now timestamptz, p_today date, "
             "p_new_after timestamptz, p_active_1d timestamptz, p_active_7d timestamptz, p_active_30d timestamptz, "
             "p_tiers integer[], p_max_bound integer, p_best_compatibility double precision, "
             "p_best_opposite double precision, p_opposite_below integer, p_opposite_min_l1 double precision, "
             "p_any_l1 double precision")
_ARGUMENTS = ("viewer_id", "count", "sent", "now", "today", "new_after", "active_1d", "active_7d", "active_30d",
              "tiers", "max_bound", "best_compatibility", "best_opposite", "opposite_below", "opposite_min_l1",
              "any_l1")
RESULT = ("id uuid, last_active_at timestamptz, created_at timestamptz, has_bio boolean, l1 double precision, "
          "photos smallint, prompts smallint, score integer, rank double precision")


def _batch_sql(batch: RawStatement) -> str:
    """The batch query with the loop's tier range and distance floor, every other parameter an argument."""
    names = {name: f"p_{name}" for name in batch.names}
    names.update({"bound_min": "v_floor", "bound_max": "v_ceiling", "min_l1": "v_min_l1"})
    return inline(batch, names)


Band = tuple[int, int | None, RawStatement]


def _open(batch: RawStatement, bands: Sequence[Band]) -> str:
    """Open ``v_rows`` on the first band's query whose range holds the tier's ``[v_floor, v_ceiling]``, or on
    ``batch`` (the whole indexes) when none does."""
    branches = []
    for index, (low, high, statement) in enumerate(bands):
        holds = f"v_floor >= {low}" + ("" if high is None else f" AND v_ceiling < {high}")
        branches.append(f"        {'ELSIF' if index else 'IF'} {holds} THEN\n            OPEN v_rows FOR\n"
                        f"{_batch_sql(statement)};")
    whole = f"            OPEN v_rows FOR\n{_batch_sql(batch)};"
    if not branches:
        return whole
    return "\n".join([*branches, "        ELSE", whole, "        END IF;"])


def body(batch: RawStatement, bands: Sequence[Band] = ()) -> str:
    """The function's body around ``batch`` (``repository.BATCH_SQL``) and ``bands`` (``BAND_BATCH_RAW``: the
    same query for a tier inside ``[low, high)``, read from that band's indexes)."""
    return f"""
#variable_conflict use_column
DECLARE
    v_floor integer := p_tiers[1];
    v_ceiling integer := p_max_bound;
    v_min_l1 double precision := p_any_l1;
    v_row record;
    v_rows refcursor;
    v_ids uuid[] := '{{}}';
    v_active timestamptz[] := '{{}}';
    v_created timestamptz[] := '{{}}';
    v_bio boolean[] := '{{}}';
    v_l1 double precision[] := '{{}}';
    v_photos smallint[] := '{{}}';
    v_prompts smallint[] := '{{}}';
    v_scores integer[] := '{{}}';
    v_ranks double precision[] := '{{}}';
    v_kth double precision;
    v_opposite double precision;
    v_top integer;
    v_enough integer;
BEGIN
    LOOP
{_open(batch, bands)}
        LOOP
            FETCH v_rows INTO v_row;
            EXIT WHEN NOT FOUND;
            v_ids := v_ids || v_row.id;
            v_active := v_active || v_row.last_active_at;
            v_created := v_created || v_row.created_at;
            v_bio := v_bio || v_row.has_bio;
            v_l1 := v_l1 || v_row.l1::double precision;
            v_photos := v_photos || v_row.photos;
            v_prompts := v_prompts || v_row.prompts;
            v_scores := v_scores || v_row.score;
            v_ranks := v_ranks || v_row.rank;
        END LOOP;
        CLOSE v_rows;
        EXIT WHEN v_floor <= 0;
        -- repository.floors over every row read so far
        SELECT t.rank INTO v_kth FROM unnest(v_ranks, v_ids) AS t(rank, id)
         ORDER BY t.rank DESC, t.id LIMIT 1 OFFSET p_count - 1;
        SELECT t.rank INTO v_opposite FROM unnest(v_ranks, v_ids, v_scores) AS t(rank, id, score)
         WHERE t.score < p_opposite_below ORDER BY t.rank DESC, t.id LIMIT 1;
        v_top := greatest(0, coalesce(ceil(v_kth - p_best_compatibility + 1)::integer - 1, 0));
        v_enough := least(v_top, greatest(0, coalesce(ceil(v_opposite - p_best_opposite + 1)::integer - 1, 0)));
        EXIT WHEN v_enough >= v_floor;
        -- the best are decided: only opposites matter below
        v_min_l1 := CASE WHEN v_top >= v_floor THEN p_opposite_min_l1 ELSE p_any_l1 END;
        v_ceiling := v_floor - 1;
        v_floor := greatest(v_enough, coalesce((SELECT max(t.tier) FROM unnest(p_tiers) AS t(tier)
                                                 WHERE t.tier < v_floor), 0));
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(v_ids, v_active, v_created, v_bio, v_l1, v_photos, v_prompts, v_scores,
                                      v_ranks);
END
"""  # noqa: S608 - built from the code's own statement; every value is an argument


def call() -> RawStatement:
    """The call, with the batch's parameters named as ``repository.batch_params`` names them."""
    return RawStatement(f"SELECT * FROM {NAME}(" + ", ".join(f":{name}" for name in _ARGUMENTS) + ")")  # noqa: S608


def definition(batch: RawStatement, bands: Sequence[Band] = ()) -> str:
    """``CREATE OR REPLACE FUNCTION`` for the current batch queries (what a migration holds).

    Its statements run generic plans from the first call on (``plan_cache_mode``): by default each connection
    plans each statement afresh on its first five runs (2-5 ms each for the nine branches) before settling on
    the generic plan it would have used anyway, and with a statement per band those warm-up runs were spread
    over a connection's first fifteen batches or so."""
    return (f"CREATE OR REPLACE FUNCTION {NAME}({SIGNATURE})\nRETURNS TABLE ({RESULT})\n"
            f"LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS "
            f"$function${body(batch, bands)}$function$")
