"""Discovery at scale: an upper bound of each person's viewer-independent points, in the discovery index.

A batch ranks people by ``compatibility x 0.5 + completeness + recency + newness``
(domain/discovery/ranking.py). Only the first term depends on the viewer, and it is
at most 50. The other three (the "static points", 0..50) are a property of the
candidate alone, so anyone whose static points are below ``T`` ranks below
``50 + T``: once ten people rank above that, nobody below ``T`` can enter the batch.
``domain/discovery/repository.py`` searches in tiers of these points, best first,
and stops as soon as the tiers it has read decide the batch (docs/discovery.md,
"At scale"). That needs the points in the index, and the points depend on the
clock (recency and newness fade), so the column holds an upper bound:

- ``users.rank_bound``: the static points as of one hour before the row was last
  written (``discovery_static_points(..., now() - interval '1 hour')``), set by the
  ``users_rank_bound`` trigger on every insert and on updates of the inputs. Points
  only fall as time passes, so the bound holds for any moment from an hour before
  the write on; the hour covers clock differences between app nodes and PostgreSQL.
  It only loosens with time (a loose bound costs speed, never correctness);
  ``domain/discovery/bounds.py`` tightens stale ones from the scheduled jobs.
- ``ix_users_discovery_<gender>`` now index a 7-dimensional cube: 0004's six
  dimensions plus ``rank_bound`` x 1 km, and ``discovery_box`` takes the tier's
  ``[bound_min, bound_max]``.

Revision ID: 0012_discovery_scale
Revises: 0011_moderation_search
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_discovery_scale"
down_revision: str | None = "0011_moderation_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENDERS = ("woman", "man", "nonbinary")
PREDICATE = "gender = '{gender}' AND lat IS NOT NULL AND role = 'user' AND status IN ('active', 'suspended')"
OLD_INDEXED = "discovery_point(lat, lon, birthdate, age_min, age_max)"
INDEXED = "discovery_point(lat, lon, birthdate, age_min, age_max, rank_bound)"
BOUND_SLACK = "interval '1 hour'"
BOUND_METRES = 1000.0  # one static point is 1 km along the cube's seventh dimension
_FUNCTION = "IMMUTABLE STRICT PARALLEL SAFE SET search_path = public, pg_temp"

# completeness (2 a photo up to 5, 2 a prompt up to 3, 4 for a bio) + recency (10 / 7 / 4) + newness (20),
# the constants of domain/discovery/ranking.py (tests/discovery/test_scale.py checks they agree)
STATIC_POINTS = (
    "SELECT least(photos, 5) * 2 + least(prompts, 3) * 2"
    " + CASE WHEN btrim(bio, E' \\t\\n\\r') <> '' THEN 4 ELSE 0 END"
    " + CASE WHEN last_active_at >= at - interval '1 day' THEN 10"
    " WHEN last_active_at >= at - interval '7 days' THEN 7"
    " WHEN last_active_at >= at - interval '30 days' THEN 4 ELSE 0 END"
    " + CASE WHEN created_at > at - interval '7 days' THEN 20 ELSE 0 END")


def upgrade() -> None:
    op.execute("CREATE FUNCTION discovery_static_points(photos smallint, prompts smallint, bio text, "
               "last_active_at timestamptz, created_at timestamptz, at timestamptz) RETURNS integer "
               f"LANGUAGE sql {_FUNCTION} AS $$ {STATIC_POINTS} $$")
    op.add_column("users", sa.Column("rank_bound", sa.SmallInteger(), server_default="50", nullable=False))
    op.execute("CREATE FUNCTION users_rank_bound() RETURNS trigger LANGUAGE plpgsql "
               "SET search_path = public, pg_temp AS $$ BEGIN "
               "NEW.rank_bound := discovery_static_points(NEW.photo_count, NEW.prompt_count, NEW.bio, "
               f"NEW.last_active_at, NEW.created_at, now() - {BOUND_SLACK}); RETURN NEW; END $$")
    op.execute("CREATE TRIGGER users_rank_bound BEFORE INSERT OR UPDATE OF photo_count, prompt_count, bio, "
               "last_active_at, created_at, rank_bound ON users FOR EACH ROW EXECUTE FUNCTION users_rank_bound()")
    op.execute("UPDATE users SET rank_bound = rank_bound")
    op.execute(
        "CREATE FUNCTION discovery_point(lat double precision, lon double precision, birthdate date, "
        f"age_min smallint, age_max smallint, rank_bound smallint) RETURNS cube LANGUAGE sql {_FUNCTION} "
        "AS $$ SELECT cube(discovery_point(lat, lon, birthdate, age_min, age_max), "
        f"rank_bound * {BOUND_METRES}) $$")
    op.execute(
        "CREATE FUNCTION discovery_box(lat double precision, lon double precision, radius_m double precision, "
        "born_after date, born_by date, age integer, bound_min integer, bound_max integer) RETURNS cube "
        f"LANGUAGE sql {_FUNCTION} "
        "AS $$ SELECT cube(discovery_box(lat, lon, radius_m, born_after, born_by, age), "
        f"bound_min * {BOUND_METRES}, bound_max * {BOUND_METRES}) $$")
    for gender in GENDERS:
        op.drop_index(f"ix_users_discovery_{gender}", table_name="users")
        op.create_index(f"ix_users_discovery_{gender}", "users", [sa.literal_column(INDEXED)],
                        postgresql_using="gist", postgresql_where=sa.text(PREDICATE.format(gender=gender)))


def downgrade() -> None:
    for gender in GENDERS:
        op.drop_index(f"ix_users_discovery_{gender}", table_name="users")
        op.create_index(f"ix_users_discovery_{gender}", "users", [sa.literal_column(OLD_INDEXED)],
                        postgresql_using="gist", postgresql_where=sa.text(PREDICATE.format(gender=gender)))
    op.execute("DROP FUNCTION discovery_box(double precision, double precision, double precision, date, date, "
               "integer, integer, integer)")
    op.execute("DROP FUNCTION discovery_point(double precision, double precision, date, smallint, smallint, "
               "smallint)")
    op.execute("DROP TRIGGER users_rank_bound ON users")
    op.execute("DROP FUNCTION users_rank_bound()")
    op.drop_column("users", "rank_bound")
    op.execute("DROP FUNCTION discovery_static_points(smallint, smallint, text, timestamptz, timestamptz, "
               "timestamptz)")
