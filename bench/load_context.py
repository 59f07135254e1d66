"""What every scenario of ``python -m bench load`` uses: the nodes under test (started here or given by
``--url``), the bench's own database pools and tokens, a once-a-second sampler of their RSS and sockets,
and small helpers to open many sockets at once."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench import cpu_profile_report
from bench.harness import (
    CpuGroups,
    Processes,
    child_env,
    free_port,
    say,
    serve_argv,
)
from bench.load_recorder import (
    Recorder,
)
from delete_api.settings import Settings
from domain.auth.tokens import TokenConfig

CONNECT_CONCURRENCY = 100


@dataclass
class Node:
    """A server under test: its HTTP base URL and, when on this machine, its process id."""

    name: str
    base_url: str
    pid: int | None
    metrics_url: str | None = None  # its Prometheus listener, when the bench started it

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/v1/ws"


@dataclass
class Ctx:
    """What every scenario uses: the resolved settings, the child processes and the bench's own pools."""

    args: argparse.Namespace
    settings: Settings  # as before the embedded start (what was embedded)
    resolved: Settings
    procs: Processes
    work: Path
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenConfig
    infra: CpuGroups
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    seeded: list[uuid.UUID] = field(default_factory=list)  # users to delete afterwards on a kept database
    profile_dir: Path | None = None  # with --cpu-profile: where the nodes' profilers write

    async def nodes(self, names: list[str], *, bcrypt_cost: int = 4) -> list[Node]:
        """Start ``delete-api serve`` nodes (or take the ``--url`` ones) and wait until they are healthy."""
        if self.args.url:
            urls = self.args.url if len(names) > 1 else self.args.url[:1]
            return [Node(f"node_{k + 1}", u.rstrip("/"), _pid_listening(u)) for k, u in enumerate(urls)]
        ports = [free_port() for _ in names]
        scrape_ports = [free_port() for _ in names]
        for name, port, scrape_port in zip(names, ports, scrape_ports, strict=True):
            env = child_env(self.resolved, self.work, name, bcrypt_cost=bcrypt_cost)
            self.procs.spawn(name, serve_argv(port, self.profile_dir), {**env, "METRICS_PORT": str(scrape_port)})
        await asyncio.gather(*(self.procs.wait_healthy(n, f"http://127.0.0.1:{p}/v1/health")
                               for n, p in zip(names, ports, strict=True)))
        return [Node(n, f"http://127.0.0.1:{p}", self.procs.procs[n].pid, f"http://127.0.0.1:{m}/metrics")
                for n, p, m in zip(names, ports, scrape_ports, strict=True)]

    def start_profiles(self, nodes: list[Node]) -> None:
        """With --cpu-profile: the nodes' profilers start sampling (the measured window begins)."""
        if self.profile_dir is not None:
            for node in nodes:
                if node.pid is not None:
                    os.kill(node.pid, signal.SIGUSR2)

    async def collect_profiles(self, nodes: list[Node], wait_s: float = 15.0) -> dict[str, Any] | None:
        """With --cpu-profile: stop the nodes' sampling, wait for their files, merge them and summarise (the
        merged stacks go to ``cpu-profile.folded`` beside the report)."""
        if self.profile_dir is None:
            return None
        profile = await cpu_profile_report.stop_and_merge([n.pid for n in nodes if n.pid is not None],
                                                          self.profile_dir,
                                                          self.profile_dir.parent / "cpu-profile.folded", wait_s)
        for line in cpu_profile_report.lines(profile):
            say(f"cpu profile: {line}")
        return profile

    def stop(self, nodes: list[Node]) -> None:
        if not self.args.url:
            self.procs.stop(*(n.name for n in nodes))

    def cpu_groups(self, nodes: list[Node]) -> CpuGroups:
        groups: CpuGroups = {n.name: (n.pid, False) for n in nodes if n.pid is not None}
        return {**groups, "bench": (os.getpid(), False), **self.infra}


def _pid_listening(url: str) -> int | None:
    """The process listening on the URL's port on this machine, if any (for its RSS)."""
    port = httpx.URL(url).port
    with contextlib.suppress(psutil.Error, OSError):
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                return int(conn.pid) if conn.pid is not None else None
    return None


class Sampler:
    """Once a second: RSS per node and open sockets per node (as the clients see them)."""

    def __init__(self, nodes: list[Node], rec: Recorder, sockets: Callable[[], dict[str, int]]) -> None:
        self.procs = {n.name: psutil.Process(n.pid) for n in nodes if n.pid is not None}
        self.rec = rec
        self.sockets = sockets
        self.rows: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    def sample(self) -> dict[str, Any]:
        rss: dict[str, float] = {}
        for name, proc in self.procs.items():
            with contextlib.suppress(psutil.Error):
                rss[name] = round(proc.memory_info().rss / 2**20, 2)
        row = {"t": round(self.rec.at_s(time.monotonic_ns()), 2), "rss_mb": rss, "sockets": self.sockets()}
        self.rows.append(row)
        return row

    async def _run(self) -> None:
        tick = time.monotonic()
        while True:
            self.sample()
            tick += 1.0
            await asyncio.sleep(max(0.0, tick - time.monotonic()))

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> list[dict[str, Any]]:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        return self.rows

    def rss(self, name: str) -> float | None:
        with contextlib.suppress(psutil.Error, KeyError):
            return float(self.procs[name].memory_info().rss)
        return None


async def settle_node(node: Node, timeout_s: float = 20.0) -> None:
    """Wait until the node is nearly idle (it still handles the closes of sockets just dropped)."""
    if node.pid is None:
        return
    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(node.pid)
        proc.cpu_percent(None)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if proc.cpu_percent(None) < 5:
                return


async def gather_limited(coros: list[Any], limit: int = CONNECT_CONCURRENCY,
                          progress: Callable[[int], None] | None = None) -> list[Any]:
    gate = asyncio.Semaphore(limit)
    done = 0

    async def one(coro: Any) -> Any:
        nonlocal done
        async with gate:
            try:
                return await coro
            finally:
                done += 1
                if progress is not None:
                    progress(done)

    return await asyncio.gather(*(one(c) for c in coros), return_exceptions=True)


def progress_every(step: int, total: int, what: str) -> Callable[[int], None]:
    def progress(done: int) -> None:
        if done % step == 0 or done == total:
            say(f"{what}: {done}/{total}")

    return progress
