"""Display names that cannot impersonate anyone: the one rule that signup and ``me.update`` share.

A name is first cleaned: NFC-normalised, every run of spaces (ASCII or any other Unicode space separator,
such as the ideographic space of Japanese keyboards) becomes one ASCII space, and spaces at either end go.
The cleaned name, 1 to 50 characters, is refused when it holds

* a control character, line or paragraph separator, or lone surrogate;
* a bidi control (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069): "Eve\\u202enimdA" shows as "EveAdmin";
* an invisible character: any format character (Cf: zero-width space and joiners, tags, the Mongolian vowel
  separator...), variation selectors, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, the braille blank U+2800;
* anything outside the identifier-safe set of Unicode Technical Standard #39 (Identifier_Status=Allowed,
  ``uts39_tables.py``) other than the ASCII space; of the punctuation that set allows, only what names use:
  apostrophes (U+0027, U+2019), hyphens (U+002D, U+2010), full stop, middle dots (U+00B7, U+30FB), and the
  Armenian hyphen, Hebrew geresh and gershayim, Tibetan tsheg and Japanese double hyphen (not ":" or "_");
* no letter at all (a name of digits or punctuation only);
* combining marks piled on one letter (UTS #39 section 5.4): more than four in a row, or the same one twice;
* letters of more than one script, except the combinations UTS #39 calls "highly restrictive" (Latin with
  Han and Japanese kana, with Han and Bopomofo, or with Han and Hangul). A Cyrillic "\\u0430" in a Latin name, the
  classic whole-script confusable, is refused this way; characters of the Common and Inherited scripts
  (digits, the punctuation above, combining accents) fit any script.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right

from domain.text import uts39_tables as tables
from domain.text.bidi import BIDI_CONTROLS

MAX_CHARS = 50
MAX_MARKS_IN_A_ROW = 4
NAME_PUNCTUATION = frozenset("'\u2019-\u2010.\u00b7\u30fb\u058a\u05f3\u05f4\u0f0b\u30a0")
# Characters that draw nothing a reader notices, besides the format characters (Cf): named as invisible in
# the refusal. None of them is Allowed by UTS #39 either; this list only chooses the clearer reason.
INVISIBLE_RANGES = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2800, 0x2800),
                    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))
# UTS #39 section 5.1: a Han character also counts as Japanese, Korean and Han-with-Bopomofo writing, kana as
# Japanese, Hangul as Korean, Bopomofo as Han-with-Bopomofo; Latin may join any of these three.
AUGMENTED = {"Hani": ("Hanb", "Jpan", "Kore"), "Hira": ("Jpan",), "Kana": ("Jpan",), "Hang": ("Kore",),
             "Bopo": ("Hanb",)}
JOINS_LATIN = frozenset({"Hanb", "Jpan", "Kore"})

CONTROL = "must not contain control characters or line breaks"
DIRECTION = "must not contain text-direction controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069)"
INVISIBLE = "must not contain invisible characters (zero-width, joiners, fillers or other format characters)"
NO_LETTER = "must contain at least one letter"
STACKED_MARKS = "must not pile up combining marks (at most four on one letter, none of them twice)"
MIXED_SCRIPTS = "must not mix letters of different scripts (such as Latin with Cyrillic or Greek)"


def clean_display_name(text: str) -> str:
    """The name as stored: NFC, each run of spaces one ASCII space, none at either end."""
    text = unicodedata.normalize("NFC", text)
    spaced = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in text)
    return " ".join(word for word in spaced.split(" ") if word)


def check_display_name(value: object) -> tuple[str | None, str]:
    """Clean and judge a display name: ``(reason or None, the name as stored)``."""
    if not isinstance(value, str):
        return "must be a string", ""
    name = clean_display_name(value)
    return display_name_problem(name), name


def display_name_problem(name: str) -> str | None:
    """Why the cleaned ``name`` cannot be a display name, or None."""
    if not name:
        return "must not be empty"
    if len(name) > MAX_CHARS:
        return f"must be at most {MAX_CHARS} characters"
    for char in name:
        reason = character_problem(char)
        if reason is not None:
            return reason
    if not any(_group(char) == "L" for char in name):
        return NO_LETTER
    if stacks_marks(name):
        return STACKED_MARKS
    if mixes_scripts(name):
        return MIXED_SCRIPTS
    return None


def character_problem(char: str) -> str | None:
    """Why this one character cannot be part of a display name, or None."""
    category = unicodedata.category(char)
    if category in ("Cc", "Zl", "Zp"):
        return CONTROL
    if category == "Cs":
        return "must be valid Unicode text"
    if char in BIDI_CONTROLS:
        return DIRECTION
    if category == "Cf" or _invisible(char):
        return INVISIBLE
    if char == " " or char in NAME_PUNCTUATION:
        return None
    if _group(char) in ("", "P", "S"):
        return f"must not contain {describe(char)}: use letters, digits, single spaces and the punctuation ' - . ·"
    return None


def stacks_marks(name: str) -> bool:
    """More than four nonspacing marks in a row, or one of them twice, once decomposed (the "Zalgo" look)."""
    run: list[str] = []
    for char in unicodedata.normalize("NFD", name):
        if unicodedata.category(char) not in ("Mn", "Me"):
            run = []
        elif char in run or len(run) == MAX_MARKS_IN_A_ROW:
            return True
        else:
            run.append(char)
    return False


def mixes_scripts(name: str) -> bool:
    """True unless the name is single-script or highly restrictive (UTS #39 sections 5.1 and 5.2)."""
    resolved: frozenset[str] | None = None  # None: every script so far
    without_latin: frozenset[str] | None = None
    for char in name:
        scripts = _augmented_scripts(char)
        if not scripts:
            continue
        resolved = scripts if resolved is None else resolved & scripts
        if "Latn" not in scripts:
            without_latin = scripts if without_latin is None else without_latin & scripts
    if resolved is None or resolved:
        return False
    return without_latin is None or JOINS_LATIN.isdisjoint(without_latin)


def describe(char: str) -> str:
    """``U+003A COLON``: a character named without echoing it (it may be one that reorders the message)."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"


def _class(char: str) -> tuple[str, tuple[str, ...]]:
    index = bisect_right(tables.RUN_STARTS, ord(char)) - 1
    return tables.CLASSES[tables.RUN_CLASSES[index]]


def _group(char: str) -> str:
    """The general category group (L, M, N, P, S) of an Allowed character; "" when it is not Allowed."""
    return _class(char)[0]


def _augmented_scripts(char: str) -> frozenset[str]:
    """The character's Script_Extensions plus the writing systems they belong to; empty for any script."""
    if char == " " or char in NAME_PUNCTUATION:
        return frozenset()
    scripts = _class(char)[1]
    return frozenset(scripts).union(*(AUGMENTED.get(script, ()) for script in scripts))


def _invisible(char: str) -> bool:
    code = ord(char)
    return any(first <= code <= last for first, last in INVISIBLE_RANGES)
