"""Location privacy: only grid-cell centres are stored, and location changes are counted.

CONTRACT section 3 "Location privacy": every distance shown, compared or filtered
on is computed between grid cells of about 1 km. Rather than keep the exact point
and remember to snap it everywhere it is read, the exact point is never kept:

1. ``location_cell_lat(lat)`` and ``location_cell_lon(lat, lon)`` give the centre
   of the cell holding a point, with the arithmetic of ``domain/location/grid.py``
   (20,015 latitude bands of ~1 km, each cut into ``round(2 x 20015 x cos(centre))``
   slices), written with the same double-precision operations in the same order so
   both give the same cell (a test compares them).
2. ``users_location_cell``, a BEFORE INSERT / UPDATE OF lat, lon row trigger on
   ``users``, replaces whatever point any writer stores (the app, the seed, a bulk
   COPY, an operator's psql) with its cell's centre.
3. Existing rows are snapped (the exact points they held are gone after this).
4. ``users.location_moves``: the times of the latest location changes (at most 10),
   for the hourly limit and the travel-speed check of ``domain/location/moves.py``.

Revision ID: 0005_location_cells
Revises: 0004_discovery_indexes
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_location_cells"
down_revision: str | None = "0004_discovery_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BANDS = 20015  # frozen copy of domain.location.grid.BANDS: a migration never follows later code
_BAND = f"least({BANDS - 1}, greatest(0, floor((lat + 90::float8) / (180::float8 / {BANDS}))::int))"
_CENTRE = f"(-90::float8 + ({_BAND} + 0.5::float8) * (180::float8 / {BANDS}))"
_SLICES = f"greatest(1, round(2 * {BANDS} * cos(radians({_CENTRE})))::int)"
_FUNCTION = "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = public, pg_temp"


def upgrade() -> None:
    op.execute(f"CREATE FUNCTION location_cell_lat(lat double precision) RETURNS double precision {_FUNCTION} "
               f"AS $$ SELECT {_CENTRE} $$")
    op.execute(f"CREATE FUNCTION location_cell_lon(lat double precision, lon double precision) "  # noqa: S608 - constants
               f"RETURNS double precision {_FUNCTION} "
               f"AS $$ SELECT -180::float8 + (least(s - 1, greatest(0, floor((lon + 180::float8) * s / 360::float8)"
               f"::int)) + 0.5::float8) * 360::float8 / s FROM (SELECT {_SLICES} AS s) slices $$")
    op.execute("CREATE FUNCTION users_location_cell() RETURNS trigger LANGUAGE plpgsql "
               "SET search_path = public, pg_temp AS $$ BEGIN "
               "IF NEW.lat IS NOT NULL AND NEW.lon IS NOT NULL THEN "
               "NEW.lon := location_cell_lon(NEW.lat, NEW.lon); NEW.lat := location_cell_lat(NEW.lat); "
               "END IF; RETURN NEW; END $$")
    op.execute("CREATE TRIGGER users_location_cell BEFORE INSERT OR UPDATE OF lat, lon ON users "
               "FOR EACH ROW EXECUTE FUNCTION users_location_cell()")
    op.execute("UPDATE users SET lat = lat, lon = lon WHERE lat IS NOT NULL")
    op.add_column("users", sa.Column("location_moves", postgresql.ARRAY(sa.DateTime(timezone=True)),
                                     server_default="{}", nullable=False))


def downgrade() -> None:
    op.drop_column("users", "location_moves")
    op.execute("DROP TRIGGER users_location_cell ON users")
    op.execute("DROP FUNCTION users_location_cell()")
    op.execute("DROP FUNCTION location_cell_lon(double precision, double precision)")
    op.execute("DROP FUNCTION location_cell_lat(double precision)")
