"""Distances between stored locations (cell centres, see ``grid``), as cards show them."""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088

Point = tuple[float, float]


def distance_km(a: Point | None, b: Point | None) -> float | None:
    """Great-circle distance between two (lat, lon) points, or None if either is unknown."""
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def display_distance(km: float | None) -> int | None:
    """Whole kilometres, at least 1: never finer than 1 km."""
    return None if km is None else max(1, round(km))
