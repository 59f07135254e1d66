"""domain/text: the display-name rule and the free-text bidi rule (pure), and the UTS #39 tables behind them."""

from __future__ import annotations

import unicodedata

import pytest

from domain.errors import ValidationFailed
from domain.text import names, uts39_tables
from domain.text.bidi import DIRECTION_FORMATTING, direction_problem, refuse_direction_formatting

INTERNATIONAL = ["Zoë", "José María", "O'Brien", "O\u2019Brien", "Anne-Marie", "Jean\u2010Luc", "St. John",
                 "Llu\u00efsa Pla\u00b7la", "李小龍", "Nguyễn Thị", "Αλέξανδρος", "Ђорђе", "محمد", "संजय", "김민준",
                 "ジョン・スミス", "דוד", "ג\u05f3ורג\u05f3", "ქეთევან", "Գոհար", "สมชาย", "John 李", "Kim 민준",
                 "Eve2", "x" * 50]


@pytest.mark.parametrize("name", INTERNATIONAL)
def test_ordinary_international_names_are_accepted_unchanged(name: str) -> None:
    """Names in the world's common scripts, with apostrophes, hyphens, dots and digits, pass as written."""
    assert names.check_display_name(name) == (None, name)


@pytest.mark.parametrize(("sent", "stored"), [
    ("  Ada  ", "Ada"),
    ("José   María", "José María"),
    ("山田\u3000太郎", "山田 太郎"),          # the ideographic space of Japanese keyboards
    ("Ada\u00a0Lovelace", "Ada Lovelace"),    # a no-break space pasted from elsewhere
    ("Zoe\u0308", "Zo\u00eb"),                # decomposed (as macOS sends it): stored composed (NFC)
])
def test_names_are_cleaned_before_they_are_judged(sent: str, stored: str) -> None:
    """Runs of spaces of any kind become one ASCII space, none at the ends, and the name is NFC."""
    assert names.check_display_name(sent) == (None, stored)


@pytest.mark.parametrize(("name", "reason"), [
    ("Eve\u202enimdA", names.DIRECTION),        # shows as "EveAdmin"
    ("\u2067Admin\u2069", names.DIRECTION),
    ("Ada\u200f", names.DIRECTION),
    ("\u200b\u200b\u200b", names.INVISIBLE),   # zero-width spaces only
    ("\u200d", names.INVISIBLE),               # a zero-width joiner alone
    ("Ada\u200cLove", names.INVISIBLE),         # ZWNJ is not a name character either
    ("\u3164", names.INVISIBLE),               # Hangul filler
    ("\u115f\u1160", names.INVISIBLE),         # Hangul choseong and jungseong fillers
    ("\uffa0\uffa0", names.INVISIBLE),         # half-width Hangul filler
    ("\u2800", names.INVISIBLE),               # braille blank
    ("Ada\u180eLove", names.INVISIBLE),         # Mongolian vowel separator
    ("Ada\ufe0f", names.INVISIBLE),            # variation selector
    ("Ada\U000e0041", names.INVISIBLE),        # tag character
    ("Ada\u00ad", names.INVISIBLE),            # soft hyphen
    ("Ada\nLovelace", names.CONTROL),
    ("Ada\x00", names.CONTROL),
    ("Ada\u2028Lovelace", names.CONTROL),
    ("P\u0430ypal", names.MIXED_SCRIPTS),      # Cyrillic a in a Latin name
    ("\u0410dmin", names.MIXED_SCRIPTS),       # Cyrillic capital A
    ("\u0391dmin", names.MIXED_SCRIPTS),       # Greek capital alpha
    ("Анна Smith", names.MIXED_SCRIPTS),
    ("1234", names.NO_LETTER),
    ("'-.", names.NO_LETTER),
    ("e\u0301\u0301", names.STACKED_MARKS),
    ("Za\u0300\u0301\u0302\u0303\u0304lgo", names.STACKED_MARKS),
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("x" * 51, "must be at most 50 characters"),
])
def test_impersonating_names_are_refused_with_a_reason(name: str, reason: str) -> None:
    """Direction controls, invisible characters, controls, confusable script mixes, no letter: each named."""
    assert names.check_display_name(name)[0] == reason


@pytest.mark.parametrize("name", ["Zoë 👩\u200d🚀", "Ada:", "ada_l", "ＡＤＡ", "\ufb01ona", "Ⅻ", "Ada!", "Ada@home",
                                  "\u13e3\u13b3\u13a9", "Ada\u2027Lo"])
def test_characters_outside_the_identifier_safe_set_are_named(name: str) -> None:
    """Emoji, symbols, compatibility forms and other punctuation are refused, naming the first one by code point."""
    reason = names.check_display_name(name)[0]
    first = next(ch for ch in name if names.character_problem(ch))
    assert reason is not None and f"U+{ord(first):04X}" in reason
    if not first.isascii():
        assert first not in reason  # named by its code point, never echoed (it could be one that reorders text)


def test_a_name_that_is_not_a_string_is_refused() -> None:
    assert names.check_display_name(42) == ("must be a string", "")


def test_every_bidi_control_and_format_character_is_refused_in_names() -> None:
    """No character of general category Cf and none of the twelve Bidi_Control characters can be in a name."""
    format_chars = [chr(cp) for cp in range(0x110000) if unicodedata.category(chr(cp)) == "Cf"]
    assert len(format_chars) > 100
    for char in format_chars:
        assert names.check_display_name(f"Ada{char}Lovelace")[0] in (names.DIRECTION, names.INVISIBLE), hex(ord(char))


def test_tables_are_the_uts39_allowed_set() -> None:
    """Spot checks of the generated data against IdentifierStatus.txt: letters in, look-alikes and fillers out."""
    def group(char: str) -> str:
        return names._group(char)

    assert uts39_tables.UNICODE_VERSION.count(".") == 2 and uts39_tables.RUN_STARTS[0] == 0
    assert len(uts39_tables.RUN_STARTS) == len(uts39_tables.RUN_CLASSES)
    assert list(uts39_tables.RUN_STARTS) == sorted(set(uts39_tables.RUN_STARTS))
    assert [group(c) for c in "aZéж李ა"] == ["L"] * 6
    assert group("\u0301") == "M" and group("7") == "N" and group("'") == "P"
    assert group(":") == group("_") == "P"  # allowed by UTS #39, refused by the name punctuation list
    for not_allowed in "\u3164\u115f\u1160\uffa0\u2800\u200b\u200c\u200d\ufe0f \t\u00a0\uff21\u2160\U0001f469":
        assert group(not_allowed) == "", hex(ord(not_allowed))


@pytest.mark.parametrize("text", ["Hi 👩\u200d❤\ufe0f\u200d👨", "🏳\ufe0f\u200d🌈 pride", "שלום\u200f!", "\u200eok",
                                  "mixed עברית and English", "zero\u200bwidth"])
def test_free_text_keeps_emoji_joiners_and_marks(text: str) -> None:
    """Emoji ZWJ sequences, variation selectors, zero-width characters and the bidi marks stay allowed."""
    assert direction_problem(text) is None
    refuse_direction_formatting("bio", text)


@pytest.mark.parametrize("char", sorted(DIRECTION_FORMATTING))
def test_free_text_refuses_embeddings_overrides_and_isolates(char: str) -> None:
    """Each of U+202A-U+202E and U+2066-U+2069 is refused, naming the field."""
    with pytest.raises(ValidationFailed) as info:
        refuse_direction_formatting("body", f"see https://example.test/{char}gpj.exe")
    assert info.value.details == {"fields": {"body": direction_problem(char)}}
    assert len(DIRECTION_FORMATTING) == 9
