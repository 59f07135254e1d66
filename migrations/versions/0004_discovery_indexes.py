"""Discovery: GiST indexes over place, birthdate and accepted ages, and the ranking inputs on the users row.

A discovery batch wants the people near the viewer, of a gender the viewer is
interested in, of an age the viewer accepts, who accept the viewer's age, all
ranked. Two changes keep that to a few index searches and one pass over the
matching rows (measured with ``python -m bench discovery``; docs/discovery.md):

1. ``ix_users_discovery_<gender>``, one partial GiST index per gender. The 0001
   index on ``earth_point(lat, lon)`` answers only "near": in a city it returns
   every profile around (about 16,000 of 100,000 seeded users near Berlin), and
   the gender and age filters then drop most of them. These indexes store a
   6-dimensional cube per discoverable user:

       (x, y, z)  earth_point(lat, lon) in metres (the cube the 0001 index stores)
       b          days since 1900-01-01 x 5 m, so ten years of birthdates span about as much as a city
       amin, amax the ages the user accepts, x 2 km a year

   ``discovery_box`` builds the matching search box: earth_box of a radius, the
   viewer's birthdate range, and amin <= viewer's age <= amax. The gender is a
   partial-index predicate rather than a dimension: a dimension that is constant
   within most index pages has zero extent, which makes the cube's volume-based
   splits meaningless (measured: 6x more index pages read). Both functions pin
   their search_path, as ``earth_point`` does (PostgreSQL 17+ builds indexes under
   a restricted search_path). Only rows that can ever be shown are indexed (role
   user, active or suspended, located).

2. ``users.photo_count``, ``users.prompt_count`` and ``users.traits``: copies of
   what ranking and the "photo and quiz" rule read, kept by statement-level
   triggers on ``photos``, ``prompt_answers`` and ``user_traits`` (with transition
   tables, so a bulk COPY costs one UPDATE per statement). Without them every
   candidate costs three more index probes, which was most of a batch's time.
   Counts move by deltas (``photo_count + n``) so concurrent changes add up under
   READ COMMITTED; ``user_traits`` stays the source of truth.

Revision ID: 0004_discovery_indexes
Revises: 0003_moderation_audit
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision: str = "0004_discovery_indexes"
down_revision: str | None = "0003_moderation_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENDERS = ("woman", "man", "nonbinary")
PREDICATE = "gender = '{gender}' AND lat IS NOT NULL AND role = 'user' AND status IN ('active', 'suspended')"
INDEXED = "discovery_point(lat, lon, birthdate, age_min, age_max)"

# (trigger function, table, column it keeps on users)
COUNTERS = (("discovery_count_photos", "photos", "photo_count"),
            ("discovery_count_prompts", "prompt_answers", "prompt_count"))


def upgrade() -> None:
    _functions()
    op.add_column("users", sa.Column("photo_count", sa.SmallInteger(), server_default="0", nullable=False))
    op.add_column("users", sa.Column("prompt_count", sa.SmallInteger(), server_default="0", nullable=False))
    op.add_column("users", sa.Column("traits", Vector(6), nullable=True))
    op.execute("UPDATE users u SET photo_count = (SELECT count(*) FROM photos p WHERE p.user_id = u.id), "
               "prompt_count = (SELECT count(*) FROM prompt_answers a WHERE a.user_id = u.id), "
               "traits = (SELECT t.traits FROM user_traits t WHERE t.user_id = u.id)")
    _triggers()
    for gender in GENDERS:
        op.create_index(f"ix_users_discovery_{gender}", "users", [sa.literal_column(INDEXED)],
                        postgresql_using="gist", postgresql_where=sa.text(PREDICATE.format(gender=gender)))


def downgrade() -> None:
    for gender in GENDERS:
        op.drop_index(f"ix_users_discovery_{gender}", table_name="users")
    for function, table, _ in COUNTERS:
        op.execute(f"DROP TRIGGER {function}_insert ON {table}")
        op.execute(f"DROP TRIGGER {function}_delete ON {table}")
        op.execute(f"DROP FUNCTION {function}()")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER discovery_copy_traits_{event} ON user_traits")
    op.execute("DROP FUNCTION discovery_copy_traits()")
    op.drop_column("users", "traits")
    op.drop_column("users", "prompt_count")
    op.drop_column("users", "photo_count")
    op.execute("DROP FUNCTION discovery_box(double precision, double precision, double precision, date, date, "
               "integer)")
    op.execute("DROP FUNCTION discovery_point(double precision, double precision, date, smallint, smallint)")


def _functions() -> None:
    op.execute(
        "CREATE FUNCTION discovery_point(lat double precision, lon double precision, birthdate date, "
        "age_min smallint, age_max smallint) RETURNS cube "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = public, pg_temp "
        "AS $$ SELECT cube(cube(cube(earth_point(lat, lon)::cube, (birthdate - DATE '1900-01-01') * 5.0), "
        "age_min * 2000.0), age_max * 2000.0) $$"
    )
    # born_after is exclusive and born_by inclusive (the viewer's age range as birthdates); age is the viewer's
    op.execute(
        "CREATE FUNCTION discovery_box(lat double precision, lon double precision, radius_m double precision, "
        "born_after date, born_by date, age integer) RETURNS cube "
        "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = public, pg_temp "
        "AS $$ SELECT cube(cube(cube(earth_box(earth_point(lat, lon), radius_m)::cube, "
        "(born_after + 1 - DATE '1900-01-01') * 5.0, (born_by - DATE '1900-01-01') * 5.0), "
        "0, age * 2000.0), age * 2000.0, 1e9) $$"
    )


def _triggers() -> None:
    for function, table, column in COUNTERS:
        body = (f"UPDATE users u SET {column} = u.{column} + d.delta FROM ("  # noqa: S608 - names from COUNTERS
                "SELECT user_id, count(*) * CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END AS delta "
                "FROM changed GROUP BY user_id) d WHERE u.id = d.user_id;")
        op.execute(f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} "
                   "RETURN NULL; END $$")
        op.execute(f"CREATE TRIGGER {function}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS changed "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
        op.execute(f"CREATE TRIGGER {function}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS changed "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    op.execute(
        "CREATE FUNCTION discovery_copy_traits() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'DELETE' THEN "
        "UPDATE users u SET traits = NULL FROM changed c WHERE u.id = c.user_id; "
        "ELSE "
        "UPDATE users u SET traits = c.traits FROM changed c WHERE u.id = c.user_id; "
        "END IF; RETURN NULL; END $$"
    )
    for event, table_kind in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
        op.execute(f"CREATE TRIGGER discovery_copy_traits_{event} AFTER {event.upper()} ON user_traits "
                   f"REFERENCING {table_kind} TABLE AS changed FOR EACH STATEMENT "
                   "EXECUTE FUNCTION discovery_copy_traits()")
