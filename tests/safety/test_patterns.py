"""The content filter's matching rule without I/O: normalisation, evasions and whole words (docs/safety.md)."""

from __future__ import annotations

import uuid

import pytest

from domain.errors import ValidationFailed
from domain.safety.patterns import Pattern, WordList, fold_pattern
from domain.safety.screen import check

WORDS = WordList([Pattern(uuid.uuid4(), p, a) for p, a in [
    ("ass", "block"), ("cock", "flag"), ("kill yourself", "block"), ("fuck*", "block"), ("badword", "flag"),
    ("scam", "flag"),
]])


def found(text: str) -> str | None:
    hit = WORDS.find(text)
    return hit.pattern if hit else None


@pytest.mark.parametrize("text", [
    "badword", "BADWORD", "Bad Word? no: badword!", "b.a.d.w.o.r.d", "b a d w o r d", "b-a-d-w-o-r-d",
    "b_a_d_w_o_r_d", "b4dw0rd", "baaaadwooord", "b\u0430dword",  # Cyrillic a
    "\uff42\uff41\uff44\uff57\uff4f\uff52\uff44",  # full-width letters
    "b\u00e1dw\u00f3rd", "bad\u200bword", "@badword", "he said b.a.d.w.o.r.d twice",
])
def test_evasions_of_a_word_are_caught(text: str) -> None:
    """Case, look-alikes, accents, zero-width characters, separators, leetspeak, stretched letters, handles."""
    assert found(text) == "badword"


@pytest.mark.parametrize("text", ["a$$", "@ss", "A S S", "a.s.s", "aaasss", "4ss", "what an ass!", "i a s s"])
def test_evasions_of_a_short_word_are_caught(text: str) -> None:
    assert found(text) == "ass"


@pytest.mark.parametrize("text", [
    "class", "assistant", "passion", "grass", "massive", "Scunthorpe", "as", "assess", "cockpit", "peacock",
    "scampi", "scamper", "badwords", "a badwordy day", "b a d", "kill yourselves", "skill yourself",
])
def test_scunthorpe_words_containing_a_pattern_are_not_caught(text: str) -> None:
    """A whole-word pattern never matches inside a longer word."""
    assert found(text) is None


def test_phrases_match_their_words_in_a_row() -> None:
    assert found("just KILL... yourself") == "kill yourself"
    assert found("kill your self") is None


def test_a_prefix_pattern_matches_longer_words() -> None:
    assert found("fucking hell") == found("F.U.C.K.E.R") == found("fuuuck") == "fuck*"
    assert found("firetruck") is None


def test_block_wins_over_flag_in_one_text() -> None:
    assert found("nice cock, you ass") == "ass"


def test_check_names_the_first_blocked_field_and_returns_flags() -> None:
    from domain.errors import ContentBlocked

    hits = check(WORDS, {"display_name": "Ada", "bio": "no scam here"})
    assert [(h.field, h.pattern.pattern) for h in hits] == [("bio", "scam")]
    with pytest.raises(ContentBlocked) as caught:
        check(WORDS, {"display_name": "Ada", "bio": "a$$", "answer": "a$$"})
    assert caught.value.details == {"field": "bio"}


@pytest.mark.parametrize("pattern", ["", " ", "x", "!!", "a" * 65, "two words*"])
def test_unusable_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValidationFailed):
        fold_pattern(pattern)


def test_patterns_fold_like_the_text() -> None:
    assert fold_pattern("B.A.D")[0] == fold_pattern("bad")[0] == "bad"
    assert fold_pattern("Kill  Yourself")[0] == "kill yourself"
    assert fold_pattern("fuck*")[0] == "fuck*"
