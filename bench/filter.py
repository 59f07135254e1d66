"""``python -m bench filter``: what the content filter and contact shielding cost per message (µs per check).

A word list of ``--patterns`` patterns (1,000 by default: made-up words of 4 to 10 letters, a tenth of them
two-word phrases and a twentieth prefix patterns, half ``block``, half ``flag``) is compiled as a node compiles
it; then messages of ordinary words at typical lengths (20, 80, 300, 1,000 and 2,000 characters, a few of each)
are checked ``--rounds`` times: the word list (``WordList.find``, on every message) and contact shielding
(``contact_flags``, on messages of a match's first 24 hours) timed apart. Prints one JSON document: the median
µs per check for each length, and the verdict against the budget derived from the load bench: the filter must
not add more than 5 % to the ``messages.send`` p50 of the load bench (docs/load.md: message p50 7.1 ms), so a
typical message (80 characters, both checks) must cost at most 355 µs. No database: the check itself never
touches one (the list is cached on every node).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import sys
import time
import uuid
from typing import Any

from domain.safety.contacts import contact_flags
from domain.safety.patterns import Pattern, WordList

LOAD_SEND_P50_MS = 7.1  # docs/load.md, the latest load table ("final": message p50 7.1 ms)
SHARE = 0.05  # at most 5 % of it
BUDGET_US = LOAD_SEND_P50_MS * 1000 * SHARE
LENGTHS = (20, 80, 300, 1000, 2000)
TYPICAL = 80  # characters: a typical chat message; the verdict is judged on it
SAMPLES_PER_LENGTH = 5
_PHRASE = ("hey how are you doing today I was thinking about the weekend and maybe we could get coffee or go "
           "for a walk in the park near the river my dog loves it there what kind of music do you like I "
           "have been listening to a lot of jazz lately and cooking pasta at 7 on friday sounds great")
VOCABULARY = tuple(_PHRASE.split(" "))


def _patterns(count: int, rng: random.Random) -> list[Pattern]:
    out: list[Pattern] = []
    seen: set[str] = set()
    while len(out) < count:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 10)))
        roll = rng.random()
        text = f"{word} {rng.choice(VOCABULARY)}" if roll < 0.1 else (word + "*" if roll < 0.15 else word)
        if text in seen:
            continue
        seen.add(text)
        out.append(Pattern(uuid.uuid4(), text, "block" if len(out) % 2 else "flag"))
    return out


def _message(length: int, rng: random.Random) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(VOCABULARY))
    return " ".join(words)[:length]


def _median_us(check: Any, texts: list[str], rounds: int) -> float:
    timings: list[float] = []
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter_ns()
            check(text)
            timings.append((time.perf_counter_ns() - start) / 1000)
    return round(statistics.median(timings), 2)


def measure(patterns: int, rounds: int, seed: int = 16) -> dict[str, Any]:
    """The JSON document: compile time, µs per check by message length, the budget and the verdict."""
    rng = random.Random(seed)
    start = time.perf_counter()
    words = WordList(_patterns(patterns, rng))
    compile_ms = (time.perf_counter() - start) * 1000
    per_length: list[dict[str, Any]] = []
    for length in LENGTHS:
        texts = [_message(length, rng) for _ in range(SAMPLES_PER_LENGTH)]
        assert all(words.find(t) is None for t in texts)  # ordinary text: the full scan, no early exit
        filter_us = _median_us(words.find, texts, rounds)
        shielding_us = _median_us(contact_flags, texts, rounds)
        per_length.append({"chars": length, "filter_us": filter_us, "shielding_us": shielding_us,
                           "total_us": round(filter_us + shielding_us, 2),
                           "share_of_send_p50": round((filter_us + shielding_us) / (LOAD_SEND_P50_MS * 10), 2)})
    typical = next(row for row in per_length if row["chars"] == TYPICAL)
    return {"benchmark": "filter", "patterns": len(words), "compile_ms": round(compile_ms, 1), "rounds": rounds,
            "load_send_p50_ms": LOAD_SEND_P50_MS, "budget_us": round(BUDGET_US, 1),
            "typical_chars": TYPICAL, "typical_total_us": typical["total_us"], "by_length": per_length,
            "verdict": "met" if typical["total_us"] <= BUDGET_US else "missed"}


def run(args: argparse.Namespace) -> int:
    document = measure(args.patterns, args.rounds)
    rows = ", ".join(f"{r['chars']} chars {r['total_us']} µs" for r in document["by_length"])
    print(f"filter: {document['patterns']} patterns; {rows}; budget {document['budget_us']} µs "
          f"(5 % of messages.send p50 {LOAD_SEND_P50_MS} ms): {document['verdict']}", file=sys.stderr)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    print(text)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    return 0
