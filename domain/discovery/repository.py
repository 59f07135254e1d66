"""All discovery SQL: the filter-and-rank query of a batch (run per tier), and the same filters for given pairs.

Both queries share one WHERE clause (``ELIGIBLE``) over these relations:

- ``v``: the viewer, with derived values (search box, birthdate bounds, age, traits);
- ``u``: the candidate's ``users`` row, which also carries (kept by the triggers of migration
  0004) their photo and prompt counts and a copy of their quiz traits, so a candidate costs
  no lookup beyond its own row;
- ``excluded``: ``(viewer_id, user_id)`` pairs that must never show (blocks either way,
  active passes, likes, any match row), a UNION of index scans restricted to the viewer
  (a batch) or to the pairs (the live check), tested with a hashed ``NOT IN``.

A batch finds its candidates with one search per gender the viewer is interested
in, each in the partial GiST index of migration 0013 holding the people of that gender
who are interested in the viewer's gender and have a photo and traits (or, for a tier
inside a band of ``DISCOVERY_BANDS``, in the index of migration 0018 holding only those
of them in that band), on
``discovery_point(lat, lon, birthdate, age_min, age_max)`` with
``v.box @> discovery_point(...)``: "near the viewer, of an age they accept, accepting
the viewer's age". The first three dimensions are ``earth_point(lat, lon)``, the cube
of migration 0001's index, and the box's are ``earth_box(earth_point(lat, lon), r)``.
The exact distance test is the haversine in plain arithmetic with the radius that
``domain/location/distance.py`` uses, between the stored cell centres (the only
locations stored, see ``domain/location/grid.py``), so the filter and the distance
on the card agree and neither is finer than a cell; the box
radius is widened by the ratio of ``earth()``'s radius to that one so the box
always contains the circle.

Since migration 0012 the cube has a seventh dimension, ``users.rank_bound`` (an
upper bound of the candidate's completeness + recency + newness), and the box a
range of it: ``candidates`` reads the best tier first and the lower ones only
while they could still change the batch (``enough_floor``), which gives exactly
the rows of one query over every tier (docs/discovery.md, "At scale").
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from domain.compatibility.scoring import MAX_DISTANCE
from domain.compatibility.traits import NEUTRAL, TRAIT_KEYS
from domain.discovery import ranking, tiers_function
from domain.location.distance import EARTH_RADIUS_KM
from domain.models.users import DISCOVERY_BANDS, GENDERS, TOP_TIER_FLOOR, band_condition
from domain.raw_statements import RawStatement

BLANKS = "E' \\t\\n\\r'"  # what counts as blank around a bio, as ranking.BLANKS
NEUTRAL_VECTOR = "[" + ",".join([str(NEUTRAL)] * len(TRAIT_KEYS)) + "]"
EARTHDISTANCE_RADIUS_M = 6378168.0  # earth() of the earthdistance extension
BOX_METRES_PER_KM = 1000.0 * EARTHDISTANCE_RADIUS_M / (EARTH_RADIUS_KM * 1000.0)

# The viewer: preferences, search box, birthdate bounds, age and traits (no quiz counts as all 3s).
_BORN_BY = "(CAST(:today AS date) - make_interval(years => u.age_min))::date"
_BORN_AFTER = "(CAST(:today AS date) - make_interval(years => u.age_max + 1))::date"
_AGE = "date_part('year', age(CAST(:today AS date), u.birthdate))::int"
VIEWER = f"""
    SELECT u.id, u.gender, u.interested_in, u.max_distance_km, u.lat, u.lon,
           discovery_box(u.lat, u.lon, u.max_distance_km * {BOX_METRES_PER_KM!r},
                         {_BORN_AFTER}, {_BORN_BY}, {_AGE}, {{bounds}}) AS box,
           {_BORN_BY} AS born_by, {_BORN_AFTER} AS born_after, {_AGE} AS age,
           coalesce(vt.traits, '{NEUTRAL_VECTOR}'::vector) AS traits
    FROM users u LEFT JOIN user_traits vt ON vt.user_id = u.id
    WHERE {{viewers}}"""  # noqa: S608 - constants only
ANY_BOUND = "0, 32767"  # every rank_bound a smallint can hold

# (viewer_id, user_id) pairs never shown, whatever else holds; {a|b}: the viewer's and the other's column.
EXCLUDED = """
    SELECT b.blocker_id AS viewer_id, b.blocked_id AS user_id FROM blocks b WHERE {b.blocker_id|b.blocked_id}
    UNION ALL
    SELECT b.blocked_id, b.blocker_id FROM blocks b WHERE {b.blocked_id|b.blocker_id}
    UNION ALL
    SELECT p.passer_id, p.passee_id FROM passes p WHERE {p.passer_id|p.passee_id} AND p.expires_at > :now
    UNION ALL
    SELECT l.liker_id, l.likee_id FROM likes l WHERE {l.liker_id|l.likee_id}
    UNION ALL
    SELECT m.user_a, m.user_b FROM matches m WHERE {m.user_a|m.user_b}
    UNION ALL
    SELECT m.user_b, m.user_a FROM matches m WHERE {m.user_b|m.user_a}"""

_HAVERSINE_KM = (f"2 * {EARTH_RADIUS_KM!r} * asin(least(1.0, sqrt("
                 "power(sin(radians(u.lat - v.lat) / 2), 2)"
                 " + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2))))")

# Every rule of CONTRACT section 3 "Discovery", for the viewer ``v`` and the candidate ``u``.
ELIGIBLE = f"""
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= :now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND {_HAVERSINE_KM} <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)"""  # noqa: S608 - constants only


def _recency_sql() -> str:
    cases = " ".join(f"WHEN c.last_active_at >= :active_{days}d THEN {points}" for days, points in ranking.RECENCY)
    return f"CASE {cases} ELSE 0 END"


# The score and rank of ``domain/discovery/ranking.py``, built from its constants.
_SCORE = f"floor(100 - c.l1 / {MAX_DISTANCE} * 100 + 0.5)::int"
_RANK = (f"{_SCORE} * CAST({ranking.COMPATIBILITY_WEIGHT} AS double precision)"
         f" + least(c.photos, {ranking.PHOTOS_COUNTED}) * {ranking.POINTS_PER_PHOTO}"
         f" + least(c.prompts, {ranking.PROMPTS_COUNTED}) * {ranking.POINTS_PER_PROMPT}"
         f" + CASE WHEN c.has_bio THEN {ranking.BIO_POINTS} ELSE 0 END"
         f" + {_recency_sql()}"
         f" + CASE WHEN c.created_at > :new_after THEN {ranking.NEW_ACCOUNT_POINTS} ELSE 0 END")


def _excluded(restrict: str) -> str:
    """``EXCLUDED`` with each ``{viewer_col|user_col}`` replaced by ``restrict`` formatted with them."""
    out = EXCLUDED
    while "{" in out:
        start = out.index("{")
        end = out.index("}", start)
        viewer_col, user_col = out[start + 1:end].split("|")
        out = out[:start] + restrict.format(viewer=viewer_col, user=user_col) + out[end + 1:]
    return out


# One branch per (gender, the viewer's gender), each served by its partial index: the literals
# ``u.gender = '<g>'``, ``'<a>' = ANY(u.interested_in)``, ``u.photo_count > 0`` and ``u.traits IS NOT NULL``
# (in ``ELIGIBLE``) select the pair's index of migration 0013, and with a band's range of ``u.rank_bound`` the
# pair's index of that band alone (migration 0018); a branch whose ``v`` conditions fail is never executed.
def _by_gender(band: tuple[int, int | None] | None) -> str:
    tier = "" if band is None else "\n      AND " + band_condition(*band, column="u.rank_bound")
    return "\n    UNION ALL".join(f"""
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, {BLANKS}) <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = '{gender}' AND '{gender}' = ANY(v.interested_in)
                       AND '{accepted}' = ANY(u.interested_in) AND v.gender = '{accepted}'
    WHERE {ELIGIBLE}
      AND u.id <> ALL(:sent)
      AND u.traits <+> v.traits > :min_l1{tier}""" for gender in GENDERS for accepted in GENDERS)  # noqa: S608


def _batch_sql(band: tuple[int, int | None] | None) -> str:
    return f"""
WITH v AS MATERIALIZED ({VIEWER.format(viewers="u.id = :viewer_id", bounds=":bound_min, :bound_max")}),
excluded AS MATERIALIZED ({_excluded("{viewer} = :viewer_id")}),
c AS MATERIALIZED ({_by_gender(band)}),
r AS MATERIALIZED (SELECT c.*, {_SCORE} AS score, {_RANK} AS rank FROM c)
(SELECT * FROM r ORDER BY rank DESC, id LIMIT :count)
UNION ALL
(SELECT * FROM r WHERE score < {ranking.OPPOSITE_BELOW} ORDER BY rank DESC, id LIMIT 1)
"""  # noqa: S608 - built from constants only; every value is a bound parameter


BATCH_SQL = _batch_sql(None)
# The same for a tier inside a band of ``DISCOVERY_BANDS``, read from the band's smaller indexes: at a million
# people the first tier's search box visits a sixth of the index pages in the top band's index that it does in
# the pair's whole one, for the same people.
BAND_BATCH_SQL = {name: _batch_sql((low, high)) for name, low, high in DISCOVERY_BANDS}

PAIRS_SQL = f"""
WITH pairs AS MATERIALIZED (
    SELECT DISTINCT * FROM unnest(CAST(:viewer_ids AS uuid[]), CAST(:user_ids AS uuid[])) AS p(viewer_id, user_id)
),
v AS MATERIALIZED ({VIEWER.format(viewers="u.id IN (SELECT viewer_id FROM pairs)", bounds=ANY_BOUND)}),
excluded AS MATERIALIZED ({_excluded("({viewer}, {user}) IN (SELECT viewer_id, user_id FROM pairs)")})
SELECT pairs.viewer_id, pairs.user_id
FROM pairs
JOIN v ON v.id = pairs.viewer_id
JOIN users u ON u.id = pairs.user_id
WHERE {ELIGIBLE}
"""  # noqa: S608 - built from constants only; every value is a bound parameter

# Floors of the tiers of ``users.rank_bound`` (migration 0012: at least the candidate's completeness +
# recency + newness), searched best first; see ``candidates``. A tier inside a band of ``DISCOVERY_BANDS`` reads
# the band's indexes (``BAND_BATCH_SQL``), where a narrower first tier costs little: at a million people most
# batches are decided by the people with 44 points or more.
TIERS = (44, TOP_TIER_FLOOR, 28, 20, 0)
MAX_BOUND = 2 ** 15 - 1
BOUND_TRUSTED_FOR = timedelta(minutes=30)  # the trigger's bound holds from an hour before the write
_BEST_COMPATIBILITY = 100 * ranking.COMPATIBILITY_WEIGHT  # the most the viewer-dependent term adds
_BEST_OPPOSITE = (ranking.OPPOSITE_BELOW - 1) * ranking.COMPATIBILITY_WEIGHT
# Every opposite (score < 50) is further than this from the viewer: score_from_distance(12.0) is 50, and the
# score only falls with the distance. Rows a little further but not opposites pass too; they are harmless.
OPPOSITE_MIN_L1 = MAX_DISTANCE * (100 - ranking.OPPOSITE_BELOW) / 100
ANY_L1 = -1.0

_BATCH = text(BATCH_SQL).bindparams(bindparam("sent", type_=ARRAY(UUID(as_uuid=True))))
# what ``delete_discovery_tiers`` runs, once per tier (``tiers_function``)
BATCH_RAW = RawStatement(BATCH_SQL)
BAND_BATCH_RAW = tuple((low, high, RawStatement(BAND_BATCH_SQL[name])) for name, low, high in DISCOVERY_BANDS)
_TIERS = tiers_function.call()
_PAIRS = text(PAIRS_SQL)
_EXPIRED_PASSES = text(
    "SELECT passer_id, passee_id FROM passes WHERE passer_id = ANY(CAST(:viewers AS uuid[])) "
    "AND expires_at > :since AND expires_at <= :until")
_VIEWER_STATE = text("SELECT lat IS NOT NULL AS located, gender, interested_in FROM users WHERE id = :id")


@dataclass(frozen=True, slots=True)
class CandidateRow:
    """One eligible candidate with the components of its rank."""

    user_id: uuid.UUID
    l1: float
    photos: int
    prompts: int
    has_bio: bool
    last_active_at: datetime
    created_at: datetime


def batch_params(viewer_id: uuid.UUID, count: int, sent: Collection[uuid.UUID], now: datetime,
                 bounds: tuple[int, int] = (0, MAX_BOUND), min_l1: float = ANY_L1) -> dict[str, Any]:
    """The bound parameters of ``BATCH_SQL`` (``bounds``: the tier's ``rank_bound`` range, both ends included;
    ``min_l1``: only people further than that from the viewer, ``OPPOSITE_MIN_L1`` when only opposites matter)."""
    params: dict[str, Any] = {"now": now, "today": now.date(), "viewer_id": viewer_id, "count": count,
                              "sent": list(sent), "new_after": now - timedelta(days=ranking.NEW_ACCOUNT_DAYS),
                              "bound_min": bounds[0], "bound_max": bounds[1], "min_l1": min_l1}
    for days, _ in ranking.RECENCY:
        params[f"active_{days}d"] = now - timedelta(days=days)
    return params


def tiers_for(now: datetime) -> tuple[int, ...]:
    """The tier floors to search for a batch at ``now``: all of ``TIERS``, or one tier when ``now`` is so far
    in the past that a bound written since might not hold for it (a caller replaying an old moment)."""
    return TIERS if now >= datetime.now(UTC) - BOUND_TRUSTED_FOR else (0,)


def floors(rows: Sequence[Any], count: int) -> tuple[int, int]:
    """``(top, opposite)``: the highest floors such that nobody with fewer static points can change the
    ``count`` best of ``rows`` (``top``), or their best opposite (``opposite``): the ``count``-th best and the
    best opposite each rank strictly above what anyone below the floor could (``_BEST_... + floor - 1``;
    strictly, since ties go to the smaller id). 0 when unknown (fewer than ``count`` rows, no opposite)."""
    ordered = sorted(rows, key=lambda r: (-r.rank, r.id))
    top = 0 if len(ordered) < count else math.ceil(float(ordered[count - 1].rank) - _BEST_COMPATIBILITY + 1) - 1
    opposite = next((r for r in ordered if r.score < ranking.OPPOSITE_BELOW), None)
    best_opposite = 0 if opposite is None else math.ceil(float(opposite.rank) - _BEST_OPPOSITE + 1) - 1
    return max(0, top), max(0, best_opposite)


def enough_floor(rows: Sequence[Any], count: int) -> int:
    """The highest floor such that nobody with fewer static points than it can change the batch ``rows`` make
    (the ``count`` best and their best opposite, see ``floors``). 0 when unknown."""
    return min(floors(rows, count))


def decided(rows: Sequence[Any], count: int, floor: int) -> bool:
    """Whether ``rows`` (every tier down to ``floor``) already hold the batch (see ``enough_floor``)."""
    return floor <= 0 or enough_floor(rows, count) >= floor


def best_of(rows: Sequence[Any], count: int) -> list[Any]:
    """What ``BATCH_SQL`` returns over all tiers: the ``count`` best, then the best opposite."""
    ordered = sorted({r.id: r for r in rows}.values(), key=lambda r: (-r.rank, r.id))
    opposite = next((r for r in ordered if r.score < ranking.OPPOSITE_BELOW), None)
    return ordered[:count] + ([opposite] if opposite is not None else [])


async def candidates(session: AsyncSession, viewer_id: uuid.UUID, count: int, sent: Collection[uuid.UUID],
                     now: datetime) -> list[CandidateRow]:
    """The best ``count`` eligible candidates by rank plus the best-ranked opposite (``best_of`` the tiers read)."""
    return [CandidateRow(r.id, float(r.l1), int(r.photos), int(r.prompts), bool(r.has_bio), r.last_active_at,
                         r.created_at) for r in best_of(await tier_rows(session, viewer_id, count, sent, now), count)]


async def tier_rows(session: AsyncSession, viewer_id: uuid.UUID, count: int, sent: Collection[uuid.UUID],
                    now: datetime) -> list[Any]:
    """Every row the tier queries read for a batch, in one round trip (``tiers_function``).

    One query per tier of ``rank_bound``, best first, until the tiers read decide the batch. The first
    tier starts at ``TIERS[0]``; each next one reaches down to what the rows read so far show is enough
    (``enough_floor``), or to the next of ``TIERS`` if that is higher. Once nobody below the tiers read can
    change the ``count`` best (``floors``), the lower tiers are searched for opposites only: the rows further
    from the viewer than ``OPPOSITE_MIN_L1``, a tenth or less of the people, so the rest are dropped before
    they are ranked. The last tier (floor 0) always decides, and then ``best_of`` the rows is exactly what one
    query over everyone would return.
    """
    params = batch_params(viewer_id, count, sent, now)
    params.update(tiers=list(tiers_for(now)), max_bound=MAX_BOUND, best_compatibility=float(_BEST_COMPATIBILITY),
                  best_opposite=float(_BEST_OPPOSITE), opposite_below=ranking.OPPOSITE_BELOW,
                  opposite_min_l1=OPPOSITE_MIN_L1, any_l1=ANY_L1)
    return await _TIERS.fetch(session, params)


async def eligible_pairs(session: AsyncSession, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]],
                         now: datetime) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Which ``(viewer_id, user_id)`` pairs pass every discovery filter right now."""
    if not pairs:
        return set()
    rows = await session.execute(_PAIRS, {"now": now, "today": now.date(),
                                          "viewer_ids": [p[0] for p in pairs], "user_ids": [p[1] for p in pairs]})
    return {(r.viewer_id, r.user_id) for r in rows}


async def expired_passes(session: AsyncSession, viewer_ids: Sequence[uuid.UUID], since: datetime,
                         until: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``(passer, passee)`` of the viewers' passes that expired in ``(since, until]``."""
    if not viewer_ids:
        return []
    rows = await session.execute(_EXPIRED_PASSES, {"viewers": list(viewer_ids), "since": since, "until": until})
    return [(r.passer_id, r.passee_id) for r in rows]


@dataclass(frozen=True, slots=True)
class ViewerState:
    """What the viewer's own profile must have for discovery to find anyone."""

    located: bool
    gender: str | None
    interested_in: list[str]


async def viewer_state(session: AsyncSession, viewer_id: uuid.UUID) -> ViewerState | None:
    """The viewer's discovery preconditions (None when the account is gone)."""
    row = (await session.execute(_VIEWER_STATE, {"id": viewer_id})).first()
    if row is None:
        return None
    return ViewerState(bool(row.located), row.gender, list(row.interested_in or []))
