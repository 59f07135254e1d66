"""The measurements of ``python -m bench load``: one ``Recorder`` per run keeps every latency sample, the
events delivered and the commands sent per second, and the errors by command and code.

Latency is measured from the moment a command leaves the acting user's client to the moment the event
it caused arrives on each receiving device (one process, one clock): the acting user notes with ``caused``
when the command that will cause an event leaves, and the receiving user samples the latency when it
arrives. Events replayed by a ``sync`` are counted as recovered (``Device.replayed``), not as latency samples.
"""

from __future__ import annotations

import time
from array import array
from collections import Counter


class Recorder:
    """Every measurement of the run, in nanoseconds of ``time.monotonic_ns`` since ``start_ns``."""

    def __init__(self) -> None:
        self.start_ns = time.monotonic_ns()
        self.samples: dict[str, tuple[array[float], array[float]]] = {}  # kind -> (at s, latency ms)
        self.delivered: Counter[int] = Counter()  # events (all devices) delivered per second of the run
        self.commands: Counter[int] = Counter()  # commands sent per second of the run
        self.completed = 0  # commands answered (a reply or an error code) since the start, never reset
        self.command_types: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()  # "<command>: <code>"
        self.event_types: Counter[str] = Counter()
        self.sent: dict[tuple[str, ...], int] = {}  # what caused an event -> when the command left

    def reset_clock(self) -> None:
        """Start the run's clock now (after the sockets opened): samples and rates count from here."""
        self.start_ns = time.monotonic_ns()
        self.samples.clear()
        self.delivered.clear()
        self.commands.clear()

    def at_s(self, now_ns: int) -> float:
        return (now_ns - self.start_ns) / 1e9

    def sample(self, kind: str, start_ns: int, end_ns: int) -> None:
        pair = self.samples.get(kind)
        if pair is None:
            pair = self.samples[kind] = (array("d"), array("d"))
        pair[0].append((end_ns - self.start_ns) / 1e9)
        pair[1].append((end_ns - start_ns) / 1e6)

    def caused(self, key: tuple[str, ...]) -> None:
        self.sent[key] = time.monotonic_ns()
