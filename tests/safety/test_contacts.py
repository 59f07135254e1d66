"""Contact shielding's detector without I/O: links, emails, phones and handles, and ordinary numbers left alone."""

from __future__ import annotations

import pytest

from domain.safety.contacts import contact_flags


@pytest.mark.parametrize(("text", "flags"), [
    ("see https://example.org/x", ["link"]),
    ("www.example.org", ["link"]),
    ("check onlyfans.com/ada", ["link"]),
    ("t.me/ada", ["link"]),
    ("mail me: ada@example.com", ["email"]),
    ("ada at gmail dot com", ["email"]),
    ("ada (at) gmail (dot) com", ["email"]),
    ("call me 555 123 4567", ["phone"]),
    ("+49 (170) 123-45-67", ["phone"]),
    ("my number is 0170.1234567", ["phone"]),
    ("five five five one two three four", ["phone"]),
    ("my insta: ada.lovelace", ["handle"]),
    ("@ada_99", ["handle"]),
    ("snap ada_99", ["handle"]),
    ("telegram is adalove", ["handle"]),
    ("whatsapp me on +44 7700 900123 or ada@example.com", ["email", "phone"]),
    ("insta @ada_99 or www.ada.dev", ["handle", "link"]),
])
def test_shared_contacts_are_flagged(text: str, flags: list[str]) -> None:
    assert contact_flags(text) == flags


@pytest.mark.parametrize("text", [
    "I'm 29", "see you at 7:30", "at 8pm?", "it was $25", "it cost 1,250,000 dollars", "back in 2024",
    "I lived there 2019-2024", "born 12.05.1994", "I ran 10.5 km", "3 cats and 2 dogs", "room 1204 at 8",
    "I'm 5'9", "e.g. this, i.e. that", "Mr. Smith at the gym", "I love snap peas", "add me on whatsapp",
    "I was in the u.s. last year", "25 to 30 minutes, 2 to 3 times",
])
def test_ordinary_text_and_numbers_are_not_flagged(text: str) -> None:
    assert contact_flags(text) == []
