"""The ~1 km location grid: cell sizes, its SQL twin, and that no exact point is ever stored."""

from __future__ import annotations

import math
import random

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.location.distance import distance_km
from domain.location.grid import BANDS, cell_of, slices_in, snap
from tests.support.factory import make_person

LATITUDES = (-75.0, -45.0, -10.0, 0.0, 1.3, 35.7, 52.52, 64.1, 78.2)


@pytest.mark.parametrize("lat", LATITUDES)
def test_cells_are_about_a_kilometre_wide_and_tall(lat: float) -> None:
    """Neighbouring cells are 0.95-1.05 km apart east-west and 1 km north-south, at any inhabited latitude."""
    cell = cell_of(lat, 10.0)
    east = cell_of(cell.lat, cell.lon + 1.0 / (111.195 * math.cos(math.radians(cell.lat))))
    north = cell_of(cell.lat + 1.0 / 111.195, cell.lon)
    assert east.band == cell.band and east.slice == cell.slice + 1
    assert north.band == cell.band + 1
    assert 0.95 <= distance_km((cell.lat, cell.lon), (east.lat, east.lon)) <= 1.05  # type: ignore[operator]
    assert 0.99 <= (north.lat - cell.lat) * 111.195 <= 1.01  # bands' slices do not line up, so compare latitudes


def test_a_point_is_within_its_cell_and_snapping_is_stable() -> None:
    """Every point is at most ~0.72 km from its cell's centre, and the centre is its own cell's centre."""
    rng = random.Random(19)
    for _ in range(5000):
        lat, lon = rng.uniform(-80, 80), rng.uniform(-180, 180)
        centre = snap(lat, lon)
        assert distance_km((lat, lon), centre) <= 0.72  # type: ignore[operator]
        assert snap(*centre) == centre
        assert cell_of(*centre) == cell_of(lat, lon)


def test_the_poles_and_the_date_line_are_cells_too() -> None:
    """Edge coordinates map into the grid (no band or slice out of range)."""
    for lat, lon in ((90.0, 180.0), (-90.0, -180.0), (90.0, 0.0), (0.0, 180.0), (0.0, -180.0)):
        cell = cell_of(lat, lon)
        assert 0 <= cell.band < BANDS and 0 <= cell.slice < slices_in(cell.band)
        assert -90 <= cell.lat <= 90 and -180 <= cell.lon <= 180


async def test_sql_and_python_agree_on_every_cell(engine: AsyncEngine) -> None:
    """Migration 0005's SQL functions give the same centre as domain/location/grid.py for random points."""
    rng = random.Random(2026)
    points = [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(3000)]
    points += [(52.52, 13.405), (-33.87, 151.21), (90.0, 180.0), (-90.0, -180.0)]
    async with engine.connect() as conn:
        rows = (await conn.execute(
            text("SELECT location_cell_lat(p.lat), location_cell_lon(p.lat, p.lon) "
                 "FROM unnest(CAST(:lats AS float8[]), CAST(:lons AS float8[])) AS p(lat, lon)"),
            {"lats": [p[0] for p in points], "lons": [p[1] for p in points]})).all()
    assert [tuple(row) for row in rows] == [snap(*p) for p in points]


async def test_no_writer_can_store_an_exact_point(engine: AsyncEngine) -> None:
    """A row written straight into the database (seed, bulk load, psql) keeps only its cell's centre."""
    person = await make_person(engine, location=(48.858370, 2.294481))
    async with engine.begin() as conn:
        stored = (await conn.execute(text("SELECT lat, lon FROM users WHERE id = :id"), {"id": person.id})).one()
        assert tuple(stored) == snap(48.858370, 2.294481)
        await conn.execute(text("UPDATE users SET lat = 40.689247, lon = -74.044502 WHERE id = :id"),
                           {"id": person.id})
        stored = (await conn.execute(text("SELECT lat, lon FROM users WHERE id = :id"), {"id": person.id})).one()
    assert tuple(stored) == snap(40.689247, -74.044502) != (40.689247, -74.044502)
