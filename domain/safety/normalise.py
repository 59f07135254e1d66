"""Text as the content filter compares it: folded words, each with its spellings (pure).

1. Case, compatibility forms, look-alike letters and accents are folded exactly as for the like-comment
   spam rule (``domain.social.rules.fold_letters``); apostrophes go ("don't" is "dont").
2. The text splits into words at every character that is neither a letter, a digit nor one of the symbols
   written for letters (``@ $ | !``). A "!" or "|" at either end of a word is punctuation, not a letter.
3. Runs of two or more one-character words ("b a d", "b.a.d", "b-a-d", "b_a_d") are joined into one
   *spelled* word: spacing a word out letter by letter does not hide it.
4. In a word with at least one letter, digits and symbols read as the letters they imitate: 0 o, 1 i or l,
   3 e, 4 a, 5 s, 7 t, @ a, $ s, | i or l, ! i. A word of digits only ("2024", "25") stays a number.
   Where a character may be two letters both spellings are kept (at most 3 such characters in a word).
   A word starting with "@" is also read without it (a handle: "@name" is "name" too).
5. A word with a letter repeated three or more times in a row ("baaad") also has its squeezed spelling,
   every run of a letter made one ("bad"); ``patterns.py`` compares that with the squeezed pattern.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from domain.social.rules import fold_letters

APOSTROPHES = str.maketrans("", "", "'\u2019\u02bc")
SYMBOLS = "@$|!"
EDGE_PUNCTUATION = "!|"
LEET: dict[str, str] = {"0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t",
                        "@": "a", "$": "s", "|": "il", "!": "i"}
MAX_AMBIGUOUS = 3  # characters with two readings whose both spellings are kept; later ones take the first
MAX_SPELLINGS = 2 ** MAX_AMBIGUOUS


@dataclass(frozen=True, slots=True)
class Word:
    """One word of the normalised text: its spellings (the first is the plain one), and how it was written."""

    spellings: tuple[str, ...]
    spelled: bool = False  # joined from one-character pieces ("b a d")
    stretched: bool = False  # some letter three or more times in a row


_MATERIAL = re.compile(r"(?:[^\W_]|[@$|!])+")  # letters and digits (not "_"), and the letter-like symbols
_TRIPLE = re.compile(r"(.)\1\1")


def pieces(text: str) -> list[str]:
    """The raw words of folded ``text``: runs of letters, digits and letter-like symbols."""
    # plain ASCII has no look-alikes, accents or compatibility forms: folding it is lower-casing (the fast path)
    folded = (text.lower() if text.isascii() else fold_letters(text)).translate(APOSTROPHES)
    stripped = (piece.strip(EDGE_PUNCTUATION) for piece in _MATERIAL.findall(folded))
    return [piece for piece in stripped if piece]


def join_spelled(raw: list[str]) -> list[tuple[str, bool]]:
    """Runs of two or more one-character pieces joined into one spelled word: ``(word, spelled)``."""
    out: list[tuple[str, bool]] = []
    run: list[str] = []
    for piece in [*raw, ""]:  # the empty sentinel ends the last run
        if len(piece) == 1:
            run.append(piece)
            continue
        if len(run) >= 2:
            out.append(("".join(run), True))
        elif run:
            out.append((run[0], False))
        run = []
        if piece:
            out.append((piece, False))
    return out


def spellings(word: str) -> tuple[str, ...]:
    """Every reading of ``word`` with its digits and symbols as letters (the word itself if it has no letter)."""
    if word.isalpha():  # the common case: nothing to read as a letter
        return (word,)
    if not any(ch.isalpha() for ch in word):
        return (word,)
    options: list[str] = []
    ambiguous = 0
    for ch in word:
        reading = LEET.get(ch, ch)
        if len(reading) > 1:
            ambiguous += 1
            if ambiguous > MAX_AMBIGUOUS:
                reading = reading[0]
        options.append(reading)
    if ambiguous == 0:
        return ("".join(options),)
    return tuple(dict.fromkeys("".join(p) for p in itertools.product(*options)))


def stretched(word: str) -> bool:
    """True if some character occurs three or more times in a row."""
    return _TRIPLE.search(word) is not None


def squeeze(word: str) -> str:
    """Every run of one character made one: "baaad" -> "bad", "ass" -> "as"."""
    return "".join(ch for ch, _ in itertools.groupby(word))


def words(text: str) -> list[Word]:
    """The normalised words of ``text``, in order."""
    out: list[Word] = []
    for raw, spelled in join_spelled(pieces(text)):
        readings = spellings(raw)
        if raw.startswith("@") and len(raw) > 1:  # "@name": the name, and "@ss" read as "ass"
            readings = (*readings, *spellings(raw[1:]))
        out.append(Word(readings, spelled, any(stretched(r) for r in readings)))
    return out
