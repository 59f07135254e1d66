"""Discovery tiers inside a band of ``rank_bound`` read an index of that band alone: ``ix_users_discovery_<g>_<a>_<band>``.

A batch reads the best ``rank_bound`` tier first (``domain/discovery/repository.py``, ``TIERS``), and at a million
people most batches stop there. The tier's search box holds few people (a tenth of everyone has a bound of 36 or
more), yet in the pair's whole index (migration 0013) it visited about as many index pages as the whole box does
(the seventh dimension, the bound, separates the index's pages badly): 718 pages for 2,660 people for the
benchmark's busiest viewer. One more partial index per pair and band holds only the people whose bound lies in
the band (``DISCOVERY_BANDS`` in ``domain/models/users.py``): ``top``, 36 and more, 124 pages for the same 2,660
people; ``mid``, 28 to 35, the next tier's. A person in a band is in its index besides the pair's, so the bands
cost about a seventh more index entries and, for those people, one more index insertion per write of their row.

``delete_discovery_tiers`` runs the batch query written for a band's indexes (``BAND_BATCH_SQL``) for a tier
inside that band and the one for the whole indexes for any other, with generic plans from a connection's first
call on (three statements planned afresh on each of their first five runs made a connection's first fifteen
batches or so slow: the load benchmark's discovery p99 went from about 25 to 45 ms). The definition is a copy of
``domain/discovery/tiers_function.py``'s ``definition()``; a test fails when the two part. Built
``CONCURRENTLY``, so writes to ``users`` are never blocked while a big table is indexed.

Revision ID: 0018_discovery_bands
Revises: 0017_discovery_tiers
Create Date: 2026-12-06
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0018_discovery_bands"
down_revision: str | None = "0017_discovery_tiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENDERS = ("woman", "man", "nonbinary")
INDEXED = "discovery_point(lat, lon, birthdate, age_min, age_max, rank_bound)"
PREDICATE = ("gender = '{gender}' AND '{accepted}' = ANY(interested_in) AND lat IS NOT NULL AND role = 'user' "
             "AND status IN ('active', 'suspended') AND photo_count > 0 AND traits IS NOT NULL AND {band}")
BANDS = {"top": "rank_bound >= 36", "mid": "rank_bound >= 28 AND rank_bound < 36"}

DEFINITION = r"""CREATE OR REPLACE FUNCTION delete_discovery_tiers(p_viewer_id uuid, p_count integer, p_sent uuid[], p_now timestamptz, p_today date, p_new_after timestamptz, p_active_1d timestamptz, p_active_7d timestamptz, p_active_30d timestamptz, p_tiers integer[], p_max_bound integer, p_best_compatibility double precision, p_best_opposite double precision, p_opposite_below integer, p_opposite_min_l1 double precision, p_any_l1 double precision)
RETURNS TABLE (id uuid, last_active_at timestamptz, created_at timestamptz, has_bio boolean, l1 double precision, photos smallint, prompts smallint, score integer, rank double precision)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_generic_plan AS $function$
#variable_conflict use_column
DECLARE
    v_floor integer := p_tiers[1];
    v_ceiling integer := p_max_bound;
    v_min_l1 double precision := p_any_l1;
    v_row record;
    v_rows refcursor;
    v_ids uuid[] := '{}';
    v_active timestamptz[] := '{}';
    v_created timestamptz[] := '{}';
    v_bio boolean[] := '{}';
    v_l1 double precision[] := '{}';
    v_photos smallint[] := '{}';
    v_prompts smallint[] := '{}';
    v_scores integer[] := '{}';
    v_ranks double precision[] := '{}';
    v_kth double precision;
    v_opposite double precision;
    v_top integer;
    v_enough integer;
BEGIN
    LOOP
        IF v_floor >= 36 THEN
            OPEN v_rows FOR

WITH v AS MATERIALIZED (
    SELECT u.id, u.gender, u.interested_in, u.max_distance_km, u.lat, u.lon,
           discovery_box(u.lat, u.lon, u.max_distance_km * 1001.1237152897984,
                         (CAST(p_today AS date) - make_interval(years => u.age_max + 1))::date, (CAST(p_today AS date) - make_interval(years => u.age_min))::date, date_part('year', age(CAST(p_today AS date), u.birthdate))::int, v_floor, v_ceiling) AS box,
           (CAST(p_today AS date) - make_interval(years => u.age_min))::date AS born_by, (CAST(p_today AS date) - make_interval(years => u.age_max + 1))::date AS born_after, date_part('year', age(CAST(p_today AS date), u.birthdate))::int AS age,
           coalesce(vt.traits, '[3,3,3,3,3,3]'::vector) AS traits
    FROM users u LEFT JOIN user_traits vt ON vt.user_id = u.id
    WHERE u.id = p_viewer_id),
excluded AS MATERIALIZED (
    SELECT b.blocker_id AS viewer_id, b.blocked_id AS user_id FROM blocks b WHERE b.blocker_id = p_viewer_id
    UNION ALL
    SELECT b.blocked_id, b.blocker_id FROM blocks b WHERE b.blocked_id = p_viewer_id
    UNION ALL
    SELECT p.passer_id, p.passee_id FROM passes p WHERE p.passer_id = p_viewer_id AND p.expires_at > p_now
    UNION ALL
    SELECT l.liker_id, l.likee_id FROM likes l WHERE l.liker_id = p_viewer_id
    UNION ALL
    SELECT m.user_a, m.user_b FROM matches m WHERE m.user_a = p_viewer_id
    UNION ALL
    SELECT m.user_b, m.user_a FROM matches m WHERE m.user_b = p_viewer_id),
c AS MATERIALIZED (
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'woman' AND 'woman' = ANY(v.interested_in)
                       AND 'woman' = ANY(u.interested_in) AND v.gender = 'woman'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'woman' AND 'woman' = ANY(v.interested_in)
                       AND 'man' = ANY(u.interested_in) AND v.gender = 'man'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'woman' AND 'woman' = ANY(v.interested_in)
                       AND 'nonbinary' = ANY(u.interested_in) AND v.gender = 'nonbinary'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'man' AND 'man' = ANY(v.interested_in)
                       AND 'woman' = ANY(u.interested_in) AND v.gender = 'woman'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'man' AND 'man' = ANY(v.interested_in)
                       AND 'man' = ANY(u.interested_in) AND v.gender = 'man'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'man' AND 'man' = ANY(v.interested_in)
                       AND 'nonbinary' = ANY(u.interested_in) AND v.gender = 'nonbinary'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'nonbinary' AND 'nonbinary' = ANY(v.interested_in)
                       AND 'woman' = ANY(u.interested_in) AND v.gender = 'woman'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'nonbinary' AND 'nonbinary' = ANY(v.interested_in)
                       AND 'man' = ANY(u.interested_in) AND v.gender = 'man'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'nonbinary' AND 'nonbinary' = ANY(v.interested_in)
                       AND 'nonbinary' = ANY(u.interested_in) AND v.gender = 'nonbinary'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 36),
r AS MATERIALIZED (SELECT c.*, floor(100 - c.l1 / 24 * 100 + 0.5)::int AS score, floor(100 - c.l1 / 24 * 100 + 0.5)::int * CAST(0.5 AS double precision) + least(c.photos, 5) * 2 + least(c.prompts, 3) * 2 + CASE WHEN c.has_bio THEN 4 ELSE 0 END + CASE WHEN c.last_active_at >= p_active_1d THEN 10 WHEN c.last_active_at >= p_active_7d THEN 7 WHEN c.last_active_at >= p_active_30d THEN 4 ELSE 0 END + CASE WHEN c.created_at > p_new_after THEN 20 ELSE 0 END AS rank FROM c)
(SELECT * FROM r ORDER BY rank DESC, id LIMIT p_count)
UNION ALL
(SELECT * FROM r WHERE score < 50 ORDER BY rank DESC, id LIMIT 1);
        ELSIF v_floor >= 28 AND v_ceiling < 36 THEN
            OPEN v_rows FOR

WITH v AS MATERIALIZED (
    SELECT u.id, u.gender, u.interested_in, u.max_distance_km, u.lat, u.lon,
           discovery_box(u.lat, u.lon, u.max_distance_km * 1001.1237152897984,
                         (CAST(p_today AS date) - make_interval(years => u.age_max + 1))::date, (CAST(p_today AS date) - make_interval(years => u.age_min))::date, date_part('year', age(CAST(p_today AS date), u.birthdate))::int, v_floor, v_ceiling) AS box,
           (CAST(p_today AS date) - make_interval(years => u.age_min))::date AS born_by, (CAST(p_today AS date) - make_interval(years => u.age_max + 1))::date AS born_after, date_part('year', age(CAST(p_today AS date), u.birthdate))::int AS age,
           coalesce(vt.traits, '[3,3,3,3,3,3]'::vector) AS traits
    FROM users u LEFT JOIN user_traits vt ON vt.user_id = u.id
    WHERE u.id = p_viewer_id),
excluded AS MATERIALIZED (
    SELECT b.blocker_id AS viewer_id, b.blocked_id AS user_id FROM blocks b WHERE b.blocker_id = p_viewer_id
    UNION ALL
    SELECT b.blocked_id, b.blocker_id FROM blocks b WHERE b.blocked_id = p_viewer_id
    UNION ALL
    SELECT p.passer_id, p.passee_id FROM passes p WHERE p.passer_id = p_viewer_id AND p.expires_at > p_now
    UNION ALL
    SELECT l.liker_id, l.likee_id FROM likes l WHERE l.liker_id = p_viewer_id
    UNION ALL
    SELECT m.user_a, m.user_b FROM matches m WHERE m.user_a = p_viewer_id
    UNION ALL
    SELECT m.user_b, m.user_a FROM matches m WHERE m.user_b = p_viewer_id),
c AS MATERIALIZED (
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'woman' AND 'woman' = ANY(v.interested_in)
                       AND 'woman' = ANY(u.interested_in) AND v.gender = 'woman'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 28 AND u.rank_bound < 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'woman' AND 'woman' = ANY(v.interested_in)
                       AND 'man' = ANY(u.interested_in) AND v.gender = 'man'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 28 AND u.rank_bound < 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'woman' AND 'woman' = ANY(v.interested_in)
                       AND 'nonbinary' = ANY(u.interested_in) AND v.gender = 'nonbinary'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 28 AND u.rank_bound < 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'man' AND 'man' = ANY(v.interested_in)
                       AND 'woman' = ANY(u.interested_in) AND v.gender = 'woman'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 28 AND u.rank_bound < 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'man' AND 'man' = ANY(v.interested_in)
                       AND 'man' = ANY(u.interested_in) AND v.gender = 'man'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 28 AND u.rank_bound < 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'man' AND 'man' = ANY(v.interested_in)
                       AND 'nonbinary' = ANY(u.interested_in) AND v.gender = 'nonbinary'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 28 AND u.rank_bound < 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'nonbinary' AND 'nonbinary' = ANY(v.interested_in)
                       AND 'woman' = ANY(u.interested_in) AND v.gender = 'woman'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 28 AND u.rank_bound < 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'nonbinary' AND 'nonbinary' = ANY(v.interested_in)
                       AND 'man' = ANY(u.interested_in) AND v.gender = 'man'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 28 AND u.rank_bound < 36
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'nonbinary' AND 'nonbinary' = ANY(v.interested_in)
                       AND 'nonbinary' = ANY(u.interested_in) AND v.gender = 'nonbinary'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
      AND u.rank_bound >= 28 AND u.rank_bound < 36),
r AS MATERIALIZED (SELECT c.*, floor(100 - c.l1 / 24 * 100 + 0.5)::int AS score, floor(100 - c.l1 / 24 * 100 + 0.5)::int * CAST(0.5 AS double precision) + least(c.photos, 5) * 2 + least(c.prompts, 3) * 2 + CASE WHEN c.has_bio THEN 4 ELSE 0 END + CASE WHEN c.last_active_at >= p_active_1d THEN 10 WHEN c.last_active_at >= p_active_7d THEN 7 WHEN c.last_active_at >= p_active_30d THEN 4 ELSE 0 END + CASE WHEN c.created_at > p_new_after THEN 20 ELSE 0 END AS rank FROM c)
(SELECT * FROM r ORDER BY rank DESC, id LIMIT p_count)
UNION ALL
(SELECT * FROM r WHERE score < 50 ORDER BY rank DESC, id LIMIT 1);
        ELSE
            OPEN v_rows FOR

WITH v AS MATERIALIZED (
    SELECT u.id, u.gender, u.interested_in, u.max_distance_km, u.lat, u.lon,
           discovery_box(u.lat, u.lon, u.max_distance_km * 1001.1237152897984,
                         (CAST(p_today AS date) - make_interval(years => u.age_max + 1))::date, (CAST(p_today AS date) - make_interval(years => u.age_min))::date, date_part('year', age(CAST(p_today AS date), u.birthdate))::int, v_floor, v_ceiling) AS box,
           (CAST(p_today AS date) - make_interval(years => u.age_min))::date AS born_by, (CAST(p_today AS date) - make_interval(years => u.age_max + 1))::date AS born_after, date_part('year', age(CAST(p_today AS date), u.birthdate))::int AS age,
           coalesce(vt.traits, '[3,3,3,3,3,3]'::vector) AS traits
    FROM users u LEFT JOIN user_traits vt ON vt.user_id = u.id
    WHERE u.id = p_viewer_id),
excluded AS MATERIALIZED (
    SELECT b.blocker_id AS viewer_id, b.blocked_id AS user_id FROM blocks b WHERE b.blocker_id = p_viewer_id
    UNION ALL
    SELECT b.blocked_id, b.blocker_id FROM blocks b WHERE b.blocked_id = p_viewer_id
    UNION ALL
    SELECT p.passer_id, p.passee_id FROM passes p WHERE p.passer_id = p_viewer_id AND p.expires_at > p_now
    UNION ALL
    SELECT l.liker_id, l.likee_id FROM likes l WHERE l.liker_id = p_viewer_id
    UNION ALL
    SELECT m.user_a, m.user_b FROM matches m WHERE m.user_a = p_viewer_id
    UNION ALL
    SELECT m.user_b, m.user_a FROM matches m WHERE m.user_b = p_viewer_id),
c AS MATERIALIZED (
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'woman' AND 'woman' = ANY(v.interested_in)
                       AND 'woman' = ANY(u.interested_in) AND v.gender = 'woman'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'woman' AND 'woman' = ANY(v.interested_in)
                       AND 'man' = ANY(u.interested_in) AND v.gender = 'man'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'woman' AND 'woman' = ANY(v.interested_in)
                       AND 'nonbinary' = ANY(u.interested_in) AND v.gender = 'nonbinary'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'man' AND 'man' = ANY(v.interested_in)
                       AND 'woman' = ANY(u.interested_in) AND v.gender = 'woman'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'man' AND 'man' = ANY(v.interested_in)
                       AND 'man' = ANY(u.interested_in) AND v.gender = 'man'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'man' AND 'man' = ANY(v.interested_in)
                       AND 'nonbinary' = ANY(u.interested_in) AND v.gender = 'nonbinary'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'nonbinary' AND 'nonbinary' = ANY(v.interested_in)
                       AND 'woman' = ANY(u.interested_in) AND v.gender = 'woman'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'nonbinary' AND 'nonbinary' = ANY(v.interested_in)
                       AND 'man' = ANY(u.interested_in) AND v.gender = 'man'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1
    UNION ALL
    SELECT u.id, u.last_active_at, u.created_at, btrim(u.bio, E' \t\n\r') <> '' AS has_bio,
           u.traits <+> v.traits AS l1, u.photo_count AS photos, u.prompt_count AS prompts
    FROM v JOIN users u ON u.gender = 'nonbinary' AND 'nonbinary' = ANY(v.interested_in)
                       AND 'nonbinary' = ANY(u.interested_in) AND v.gender = 'nonbinary'
    WHERE
        u.id <> v.id
    AND u.role = 'user'
    AND u.status IN ('active', 'suspended')
    AND (u.status = 'active' OR u.suspended_until <= p_now)
    AND u.lat IS NOT NULL AND u.gender IS NOT NULL
    AND v.box @> discovery_point(u.lat, u.lon, u.birthdate, u.age_min, u.age_max, u.rank_bound)
    AND u.gender = ANY(v.interested_in) AND v.gender = ANY(u.interested_in)
    AND u.birthdate <= v.born_by AND u.birthdate > v.born_after
    AND v.age BETWEEN u.age_min AND u.age_max
    AND 2 * 6371.0088 * asin(least(1.0, sqrt(power(sin(radians(u.lat - v.lat) / 2), 2) + cos(radians(v.lat)) * cos(radians(u.lat)) * power(sin(radians(u.lon - v.lon) / 2), 2)))) <= least(v.max_distance_km, u.max_distance_km)
    AND u.photo_count > 0 AND u.traits IS NOT NULL
    AND (v.id, u.id) NOT IN (SELECT viewer_id, user_id FROM excluded)
      AND u.id <> ALL(p_sent)
      AND u.traits <+> v.traits > v_min_l1),
r AS MATERIALIZED (SELECT c.*, floor(100 - c.l1 / 24 * 100 + 0.5)::int AS score, floor(100 - c.l1 / 24 * 100 + 0.5)::int * CAST(0.5 AS double precision) + least(c.photos, 5) * 2 + least(c.prompts, 3) * 2 + CASE WHEN c.has_bio THEN 4 ELSE 0 END + CASE WHEN c.last_active_at >= p_active_1d THEN 10 WHEN c.last_active_at >= p_active_7d THEN 7 WHEN c.last_active_at >= p_active_30d THEN 4 ELSE 0 END + CASE WHEN c.created_at > p_new_after THEN 20 ELSE 0 END AS rank FROM c)
(SELECT * FROM r ORDER BY rank DESC, id LIMIT p_count)
UNION ALL
(SELECT * FROM r WHERE score < 50 ORDER BY rank DESC, id LIMIT 1);
        END IF;
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
$function$"""


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for band, condition in BANDS.items():
            for gender in GENDERS:
                for accepted in GENDERS:
                    op.create_index(f"ix_users_discovery_{gender}_{accepted}_{band}", "users",
                                    [sa.literal_column(INDEXED)], postgresql_using="gist",
                                    postgresql_where=sa.text(PREDICATE.format(gender=gender, accepted=accepted,
                                                                              band=condition)),
                                    postgresql_concurrently=True, if_not_exists=True)
    op.execute(DEFINITION)


def _previous_definition() -> str:
    path = Path(__file__).with_name("0017_discovery_tiers.py")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.DEFINITION)


def downgrade() -> None:
    op.execute(_previous_definition())
    with op.get_context().autocommit_block():
        for band in BANDS:
            for gender in GENDERS:
                for accepted in GENDERS:
                    op.drop_index(f"ix_users_discovery_{gender}_{accepted}_{band}", table_name="users",
                                  postgresql_concurrently=True, if_exists=True)
