"""What ``bench.cpu_profile``'s folded stacks say: the nodes' files merged, the functions with the most CPU of
their own ("self", the innermost Python frame of a sample) and under them ("total", each function counted once
per sample; frames under nearly all of it, the entry point and the loop, left out), and the self time per
package, as shares of all the CPU sampled (the files' weights are microseconds of CPU)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Stacks = Counter[tuple[str, ...]]

EVERYWHERE = 0.9  # a frame in at least this share of the CPU is left out of "total"
_FILE = re.compile(r"\((?P<path>[^():]*):\d+\)$")


def read_folded(paths: Iterable[Path]) -> Stacks:
    """The samples of every file, merged (the same stack in two files adds up)."""
    stacks: Stacks = Counter()
    for path in paths:
        for line in path.read_text().splitlines():
            frames, _, count = line.rpartition(" ")
            if frames and count.isdigit():
                stacks[tuple(frames.split(";"))] += int(count)
    return stacks


def package(frame: str) -> str:
    """Where a frame's code lives: the top-level package or module (``asyncio``, ``sqlalchemy``, ``domain``)."""
    match = _FILE.search(frame)
    if match is None:
        return "?"
    path = match["path"]
    if "/" not in path:
        return path.removesuffix(".py") or "?"
    return path.split("/", 1)[0]


def _shares(counts: Counter[str], total_us: int, top: int) -> list[dict[str, Any]]:
    return [{"name": name, "cpu_ms": round(us / 1000, 1), "percent": round(100 * us / total_us, 1)}
            for name, us in counts.most_common(top)]


def summary(stacks: Stacks, top: int = 25) -> dict[str, Any]:
    """The top ``top`` functions by self and by total CPU and the self CPU per package."""
    total_us = sum(stacks.values())
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for frames, n in stacks.items():
        own[frames[-1]] += n
        packages[package(frames[-1])] += n
        for frame in set(frames):
            under[frame] += n
    # the frames under which nearly everything runs (the entry point, the loop) would fill the top of "total"
    under = Counter({frame: us for frame, us in under.items() if us < EVERYWHERE * total_us})
    return {"cpu_ms": round(total_us / 1000, 1), "stacks": len(stacks),
            "self": _shares(own, total_us or 1, top), "total": _shares(under, total_us or 1, top),
            "packages": _shares(packages, total_us or 1, top)}


def lines(profile: dict[str, Any], top: int = 15) -> list[str]:
    """A few lines for the progress output: the top self functions and packages."""
    out = [f"{profile['cpu_ms']:,.0f} ms of the nodes' CPU sampled; self, top {top}:"]
    out += [f"  {row['percent']:5.1f}%  {row['name']}" for row in profile["self"][:top]]
    packages = profile["packages"][:10]
    out.append("by package (self): " + ", ".join(f"{row['name']} {row['percent']}%" for row in packages))
    return out


def markdown(profile: dict[str, Any]) -> list[str]:
    """The report's section: the three tables."""
    out = ["## CPU profile of the nodes", "",
           f"{profile['cpu_ms']:,.0f} ms of the nodes' CPU over the measured window, sampled by CPU time "
           f"(`bench.cpu_profile`, {profile['stacks']:,} distinct stacks); the merged stacks, in microseconds, "
           "are in `cpu-profile.folded` (flame-graph tools and speedscope read it). A C stretch (the loop, a "
           "system call, a driver) counts for the first Python function after it. Sampling costs the nodes "
           "some CPU of its own: compare CPU per command with runs without `--cpu-profile`.", ""]
    for key, title in (("self", "function (self)"), ("total", "function (total)"), ("packages", "package (self)")):
        out += [f"| {title} | % | CPU ms |", "|---|---|---|"]
        out += [f"| `{row['name']}` | {row['percent']} | {row['cpu_ms']:,} |" for row in profile[key]]
        out.append("")
    return out
