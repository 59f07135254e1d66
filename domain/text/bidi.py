"""Bidirectional formatting characters: which ones text shown to other people may hold.

An embedding, override or isolate (U+202A-U+202E, U+2066-U+2069) reorders everything after it on the line:
"Eve\\u202enimdA" is drawn as "EveAdmin", and a message can make a link or a phone number read as something
else. Bios, prompt answers, like comments, messages and report details refuse them and keep everything else
(emoji, zero-width joiners, variation selectors). The bidi marks (U+061C, U+200E, U+200F) only nudge the
direction of neutral characters next to them, which mixed right-to-left text needs, so free text keeps them;
display names refuse every bidi control (``domain/text/names.py``).
"""

from __future__ import annotations

from domain.errors import ValidationFailed

EMBEDDINGS_AND_OVERRIDES = frozenset("\u202a\u202b\u202c\u202d\u202e")  # LRE RLE PDF LRO RLO
ISOLATES = frozenset("\u2066\u2067\u2068\u2069")  # LRI RLI FSI PDI
DIRECTION_FORMATTING = EMBEDDINGS_AND_OVERRIDES | ISOLATES
MARKS = frozenset("\u061c\u200e\u200f")  # ALM LRM RLM
BIDI_CONTROLS = DIRECTION_FORMATTING | MARKS  # Bidi_Control=Yes, all twelve

DIRECTION_REASON = "must not contain text-direction overrides, embeddings or isolates (U+202A-U+202E, U+2066-U+2069)"


def direction_problem(text: str) -> str | None:
    """Why ``text`` cannot be shown to others as it is (it reorders itself), or None."""
    return DIRECTION_REASON if not DIRECTION_FORMATTING.isdisjoint(text) else None


def refuse_direction_formatting(field: str, text: str) -> None:
    """Raise ``validation_error`` naming ``field`` when ``text`` holds an embedding, override or isolate."""
    reason = direction_problem(text)
    if reason is not None:
        raise ValidationFailed.field(field, reason)
