"""How often and how far a person may move (CONTRACT section 3 "Location privacy").

A location may change at most ``MAX_MOVES_PER_HOUR`` times in any hour, and a
change implying travel faster than ``MAX_SPEED_KMH`` since the previous change is
refused; both refusals are ``rate_limited`` with ``retry_after_s``. Only a change
of *cell* counts: an app that sends the same GPS fix (or one a few metres away)
on every launch is never limited. Clearing the location counts as a change.

The travel check compares cell centres, so it allows ``SLACK_KM`` on top of the
speed: crossing a cell border by a few metres moves the stored point by up to
about 1.5 km, and two borders by about 2.1 km. A location set after a clear, or for the first time, has no
previous point to be compared with (the hourly count still applies).

The times of the latest changes are kept on the user row (``location_moves``, at
most ``MAX_MOVES_PER_HOUR``, newest last): enough to count an hour and to know
when the previous change was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from domain.errors import RateLimited
from domain.location.distance import Point, distance_km
from domain.location.grid import cell_of

MAX_MOVES_PER_HOUR = 10
WINDOW = timedelta(hours=1)
MAX_SPEED_KMH = 1000.0
SLACK_KM = 3.0


def same_cell(a: Point | None, b: Point | None) -> bool:
    """Whether two locations (or two absences of one) are the same cell."""
    if a is None or b is None:
        return a is b
    return cell_of(*a) == cell_of(*b)


def _check_rate(recent: Sequence[datetime], now: datetime) -> None:
    if len(recent) >= MAX_MOVES_PER_HOUR:
        wait = min(recent) + WINDOW - now
        raise RateLimited(f"your location can change at most {MAX_MOVES_PER_HOUR} times an hour",
                          retry_after_s=wait.total_seconds())


def _check_speed(previous: Point | None, wanted: Point | None, last: datetime | None, now: datetime) -> None:
    km = distance_km(previous, wanted)
    if km is None or last is None or km <= SLACK_KM:
        return
    needed_s = (km - SLACK_KM) / MAX_SPEED_KMH * 3600.0
    elapsed_s = (now - last).total_seconds()
    if needed_s > elapsed_s:
        raise RateLimited(f"that is {round(km)} km from your previous location: faster than "
                          f"{MAX_SPEED_KMH:.0f} km/h since you set it", retry_after_s=needed_s - elapsed_s)


def check_move(previous: Point | None, wanted: Point | None, moves: Sequence[datetime],
               now: datetime) -> list[datetime] | None:
    """The change history after moving from ``previous`` to ``wanted``, or None when the cell is unchanged.

    Raises ``RateLimited`` when the move breaks either limit. ``moves`` are the
    stored change times, oldest first.
    """
    if same_cell(previous, wanted):
        return None
    ordered = sorted(moves)
    _check_rate([t for t in ordered if now - t < WINDOW], now)
    _check_speed(previous, wanted, ordered[-1] if ordered else None, now)
    return [*ordered, now][-MAX_MOVES_PER_HOUR:]
