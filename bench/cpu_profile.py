"""A CPU-time sampling profiler for the nodes a benchmark starts: ``python -m bench.cpu_profile DIR -m MODULE
[ARGS...]`` runs MODULE as ``python -m MODULE ARGS...`` would, with the sampler installed and idle.

Why not py-spy: on this kind of machine its samples are wall-clock weighted (``--nonblocking`` counts the
loop's wait in ``epoll`` as busy, ``--gil`` counts a thread blocked in a system call while holding the GIL),
so a node that mostly waits shows its waits. This samples by the process's CPU time: ``ITIMER_PROF`` raises
``SIGPROF`` after each millisecond of CPU the process used (user and system; the kernel checks CPU timers at
its scheduler tick, so in practice every few milliseconds), and the handler adds the CPU time used since the
previous sample to the Python stack it interrupted. A signal that arrives during C code (the loop, a system
call, a driver's protocol) is handled at the next Python bytecode, so the first Python function after a C
stretch carries that stretch's time; every sample is still CPU time.

Control, by signals from the benchmark: ``SIGUSR2`` starts sampling (the measured window begins),
``SIGUSR1`` stops it and writes ``DIR/cpu-<pid>.folded``: one line per distinct stack, outermost frame first,
frames joined by ``;``, then the microseconds of CPU it was sampled for (the "folded" format that flame-graph
tools and speedscope read). A process that exits while sampling writes its file on the way out.
"""

from __future__ import annotations

import atexit
import os
import re
import runpy
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from types import CodeType, FrameType

INTERVAL_S = 0.001  # a sample per millisecond of the process's CPU, as often as the kernel's tick allows
_LIBRARY_PREFIX = re.compile(r"^.*/(?:site-packages|lib/python3\.\d+)/")
MAX_DEPTH = 96  # frames kept per sample, innermost first; deeper stacks lose their outermost frames


def frame_name(code: CodeType) -> str:
    """``qualname (file:line)`` of a code object, the file relative to the working directory or a site dir."""
    path = _LIBRARY_PREFIX.sub("", code.co_filename).removeprefix(os.getcwd() + "/")
    return f"{code.co_qualname} ({path}:{code.co_firstlineno})".replace(";", ",")


class Sampler:
    """Adds the CPU time since the last sample to the interrupted Python stack at each ``SIGPROF``, between
    ``start`` and ``stop``."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.stacks: Counter[tuple[CodeType, ...]] = Counter()
        self.running = False
        self.last_ns = 0

    def on_sample(self, _signum: int, frame: FrameType | None) -> None:
        codes: list[CodeType] = []
        while frame is not None and len(codes) < MAX_DEPTH:
            codes.append(frame.f_code)
            frame = frame.f_back
        now = time.process_time_ns()
        self.stacks[tuple(codes)] += (now - self.last_ns) // 1000
        self.last_ns = now

    def start(self, *_: object) -> None:
        self.stacks.clear()
        self.running = True
        self.last_ns = time.process_time_ns()
        signal.setitimer(signal.ITIMER_PROF, INTERVAL_S, INTERVAL_S)

    def stop(self, *_: object) -> None:
        if not self.running:
            return
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        self.running = False
        self.write()

    def folded(self) -> list[str]:
        """The samples as folded stacks, the most frequent first."""
        names: dict[CodeType, str] = {}
        lines = []
        for codes, count in self.stacks.most_common():
            frames = [names.get(c) or names.setdefault(c, frame_name(c)) for c in reversed(codes)]
            lines.append(f"{';'.join(frames)} {count}")
        return lines

    def write(self) -> Path:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"cpu-{os.getpid()}.folded"
        partial = path.with_suffix(".partial")
        partial.write_text("".join(f"{line}\n" for line in self.folded()))
        partial.replace(path)  # whoever waits for the file sees it whole
        return path

    def install(self) -> None:
        signal.signal(signal.SIGPROF, self.on_sample)
        signal.signal(signal.SIGUSR2, self.start)
        signal.signal(signal.SIGUSR1, self.stop)
        atexit.register(self.stop)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "-m":
        raise SystemExit("usage: python -m bench.cpu_profile DIR -m MODULE [ARGS...]")
    out_dir, module, rest = Path(argv[0]), argv[2], argv[3:]
    Sampler(out_dir).install()
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
