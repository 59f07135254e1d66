"""The location grid: every stored location is the centre of a cell of about 1 km x 1 km.

CONTRACT section 3 "Location privacy": every distance that is shown, compared or
filtered on is computed between grid cells, never from exact coordinates. The
simplest way to guarantee that is to never keep the exact point: a location is
snapped to its cell's centre before it is stored (here for the rules, and by the
``users_location_cell`` trigger of migration 0005 for every writer), so the
card distances, the ``max_distance_km`` filter and its index all see cells only.

The grid: ``BANDS`` latitude bands of equal height (180° / 20,015 ≈ 1.000 km),
each cut into as many equal longitude slices as make them about 1 km wide at the
band's centre latitude (``round(2 x BANDS x cos(lat))``, at least one), so a cell
is about 1 km x 1 km everywhere but at the poles. The same arithmetic exists in
SQL (migration 0005, ``location_cell_lat``/``location_cell_lon``); a test checks
the two agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BANDS = 20015  # 180 degrees of latitude in bands of ~1 km (the meridian is ~20,015 km pole to pole)
BAND_DEG = 180.0 / BANDS
CELL_KM = 1.0  # the nominal size of a cell's side


@dataclass(frozen=True, slots=True)
class Cell:
    """A grid cell: its band, its slice within the band, and its centre."""

    band: int
    slice: int
    lat: float
    lon: float


def _band_of(lat: float) -> int:
    return min(BANDS - 1, max(0, math.floor((lat + 90.0) / BAND_DEG)))


def band_centre(band: int) -> float:
    """The latitude at the middle of a band."""
    return -90.0 + (band + 0.5) * BAND_DEG


def slices_in(band: int) -> int:
    """How many cells the band is cut into (about one per km of its circumference)."""
    return max(1, round(2 * BANDS * math.cos(math.radians(band_centre(band)))))


def cell_of(lat: float, lon: float) -> Cell:
    """The cell holding ``(lat, lon)``; -90 <= lat <= 90 and -180 <= lon <= 180."""
    band = _band_of(lat)
    slices = slices_in(band)
    index = min(slices - 1, max(0, math.floor((lon + 180.0) * slices / 360.0)))
    return Cell(band, index, band_centre(band), -180.0 + (index + 0.5) * 360.0 / slices)


def snap(lat: float, lon: float) -> tuple[float, float]:
    """The centre of the cell holding ``(lat, lon)``: the only location ever stored."""
    cell = cell_of(lat, lon)
    return cell.lat, cell.lon
