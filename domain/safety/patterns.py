"""The content filter's patterns, compiled for matching whole words (pure; docs/safety.md "Content filter").

A pattern is normalised like the text (``normalise.py``) and matches **whole words** of the normalised text:

- a one-word pattern matches a word with the same spelling ("ass" catches "ass", "a$$", "@ss", "A S S",
  "aaasss", never "class", "assistant" or "passion"); a word with a letter three or more times in a row
  also matches by its squeezed spelling ("baaad" is "bad");
- a pattern of several words matches those words in a row, whatever separates them ("kill yourself"
  catches "KILL... yourself", not "kill yourselves");
- inside a spelled word ("b a d", "i a s s") every letter is a word boundary, so a one-word pattern matches
  any stretch of its letters ("a s s" inside "i a s s" is caught);
- a pattern ending in ``*`` matches every word that starts with it ("fuck*" catches "fucking", "fucker"):
  the moderator chooses substring matching explicitly, word by word.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.errors import ValidationFailed
from domain.models.safety import MAX_PATTERN_CHARS
from domain.safety.normalise import Word, squeeze, words
from domain.wire.enums import WordAction

PREFIX_MARK = "*"
MIN_FOLDED_CHARS = 2


@dataclass(frozen=True, slots=True)
class Pattern:
    """One pattern in force."""

    id: uuid.UUID
    pattern: str
    action: WordAction


@dataclass(frozen=True, slots=True)
class Hit:
    """A pattern found in one field."""

    field: str
    pattern: Pattern


@dataclass(frozen=True, slots=True)
class _Phrase:
    rest: tuple[frozenset[str], ...]  # the spellings of the second, third... word
    pattern: Pattern


@dataclass(slots=True)
class _Index:
    """Lookup tables from a spelling to the patterns it can start."""

    exact: dict[str, list[_Phrase]] = field(default_factory=dict)
    squeezed: dict[str, Pattern] = field(default_factory=dict)  # one-word patterns by squeezed spelling
    prefix: dict[str, Pattern] = field(default_factory=dict)
    squeezed_prefix: dict[str, Pattern] = field(default_factory=dict)
    lengths: tuple[int, ...] = ()  # lengths of one-word spellings, for spelled words
    prefix_lengths: tuple[int, ...] = ()


def fold_pattern(pattern: str) -> tuple[str, list[Word], bool]:
    """``(folded key, its words, is a prefix pattern)``; ``validation_error`` on ``pattern`` if unusable."""
    text = pattern.strip()
    if not 1 <= len(text) <= MAX_PATTERN_CHARS:
        raise ValidationFailed.field("pattern", f"1 to {MAX_PATTERN_CHARS} characters")
    prefix = text.endswith(PREFIX_MARK)
    found = words(text.rstrip(PREFIX_MARK) if prefix else text)
    key = " ".join(w.spellings[0] for w in found)
    if len(key.replace(" ", "")) < MIN_FOLDED_CHARS:
        raise ValidationFailed.field("pattern", f"needs at least {MIN_FOLDED_CHARS} letters or digits")
    if prefix and len(found) != 1:
        raise ValidationFailed.field("pattern", f"a {PREFIX_MARK} (prefix) pattern must be one word")
    return (key + PREFIX_MARK if prefix else key), found, prefix


def _worse(current: Pattern | None, candidate: Pattern) -> Pattern:
    """``block`` wins over ``flag``; otherwise the first found stays."""
    if current is None or (candidate.action == "block" and current.action != "block"):
        return candidate
    return current


class WordList:
    """The compiled patterns in force; immutable, so a node swaps the whole list when it changes."""

    def __init__(self, patterns: Iterable[Pattern] = ()) -> None:
        self.patterns = tuple(patterns)
        self._index = _Index()
        for pattern in self.patterns:
            self._add(pattern)
        singles = {len(spelling) for spelling, phrases in self._index.exact.items() if any(not p.rest for p in phrases)}
        self._index.lengths = tuple(sorted(singles))
        self._index.prefix_lengths = tuple(sorted({len(k) for k in (*self._index.prefix,
                                                                     *self._index.squeezed_prefix)}))

    def __len__(self) -> int:
        return len(self.patterns)

    def _add(self, pattern: Pattern) -> None:
        _, found, prefix = fold_pattern(pattern.pattern)
        first, rest = found[0], tuple(frozenset(w.spellings) for w in found[1:])
        for spelling in first.spellings:
            if prefix:
                self._index.prefix.setdefault(spelling, pattern)
                self._index.squeezed_prefix.setdefault(squeeze(spelling), pattern)
                continue
            self._index.exact.setdefault(spelling, []).append(_Phrase(rest, pattern))
            if not rest:
                self._index.squeezed.setdefault(squeeze(spelling), pattern)

    def find(self, text: str) -> Pattern | None:
        """The pattern found in ``text`` (a ``block`` one before any ``flag``), or None."""
        if not self.patterns or not text:
            return None
        found: Pattern | None = None
        text_words = words(text)
        for position, word in enumerate(text_words):
            for candidate in self._at(text_words, position, word):
                found = _worse(found, candidate)
                if found.action == "block":
                    return found
        return found

    def _at(self, text_words: list[Word], position: int, word: Word) -> Iterable[Pattern]:
        index = self._index
        for spelling in word.spellings:
            for phrase in index.exact.get(spelling, ()):
                if _follows(text_words, position + 1, phrase.rest):
                    yield phrase.pattern
            if word.stretched and (hit := index.squeezed.get(squeeze(spelling))) is not None:
                yield hit
            yield from _prefixed(index.prefix, index.prefix_lengths, spelling)
            if word.stretched:
                yield from _prefixed(index.squeezed_prefix, index.prefix_lengths, squeeze(spelling))
            if word.spelled:
                yield from self._inside(spelling)

    def _inside(self, spelling: str) -> Iterable[Pattern]:
        """One-word patterns anywhere in a spelled word (each of its letters is a word boundary)."""
        exact = self._index.exact
        for start in range(len(spelling)):
            for length in self._index.lengths:
                if start + length > len(spelling):
                    break
                for phrase in exact.get(spelling[start:start + length], ()):
                    if not phrase.rest:
                        yield phrase.pattern


def _prefixed(prefixes: dict[str, Pattern], lengths: tuple[int, ...], spelling: str) -> Iterable[Pattern]:
    """Prefix patterns that ``spelling`` starts with."""
    for length in lengths:
        if length > len(spelling):
            break
        if (hit := prefixes.get(spelling[:length])) is not None:
            yield hit


def _follows(text_words: list[Word], position: int, rest: tuple[frozenset[str], ...]) -> bool:
    """True if the words from ``position`` on have the spellings of ``rest`` (the rest of a phrase)."""
    if position + len(rest) > len(text_words):
        return False
    return all(not wanted.isdisjoint(text_words[position + i].spellings) for i, wanted in enumerate(rest))
