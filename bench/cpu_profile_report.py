"""What ``bench.cpu_profile``'s folded stacks say: the nodes' files merged, the functions with the most CPU of
their own ("self", the innermost Python frame of a sample) and under them ("total", each function counted once
per sample; frames under nearly all of it, the entry point and the loop, left out), and the self time per
package, as shares of all the CPU sampled (the files' weights are microseconds of CPU). ``stop_and_merge`` ends
the sampling of running nodes and gathers their files."""

from __future__ import annotations

import asyncio
import os
import re
import signal
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


async def stop_and_merge(pids: Iterable[int], directory: Path, out: Path, wait_s: float = 15.0) -> dict[str, Any]:
    """Stop the samplers of the nodes ``pids`` (SIGUSR1), wait for their files in ``directory``, write their merged
    stacks to ``out`` (folded, heaviest first) and return the summary (``nodes``: how many files came)."""
    pids = list(pids)
    files = [directory / f"cpu-{pid}.folded" for pid in pids]
    for pid in pids:
        os.kill(pid, signal.SIGUSR1)
    for _ in range(round(wait_s / 0.1)):  # a node writes its file when the signal reaches its main thread
        if all(f.exists() for f in files):
            break
        await asyncio.sleep(0.1)
    return await asyncio.to_thread(merge, files, out)


def merge(files: list[Path], out: Path) -> dict[str, Any]:
    """The stacks of those of ``files`` that exist, merged into ``out``; their summary."""
    stacks = read_folded(f for f in files if f.exists())
    out.write_text("".join(f"{';'.join(frames)} {n}\n" for frames, n in stacks.most_common()))
    return {"nodes": sum(f.exists() for f in files), **summary(stacks)}


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
