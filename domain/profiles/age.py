"""Ages from birthdates (pure)."""

from __future__ import annotations

from datetime import date

ADULT_AGE = 18


def age_on(birthdate: date, today: date) -> int:
    """Whole years between ``birthdate`` and ``today`` (a 29 February birthday counts on 1 March)."""
    years = today.year - birthdate.year
    if (today.month, today.day) < (birthdate.month, birthdate.day):
        years -= 1
    return years
