"""What every benchmark (``python -m bench``) that starts servers shares: child processes, users seeded by SQL, CPU and
machine facts, progress lines, and running the async part on uvloop with Ctrl-C / SIGTERM handled.

Every process spawned through ``Processes`` runs in its own session (a process group), so ``stop`` ends the
node and everything it started; the benches register ``stop`` on an ``ExitStack`` so it runs on failure,
Ctrl-C and SIGTERM too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import ClientConnection, connect

from bench import stats
from delete_api import migrate
from delete_api.embedded.postgres import DEFAULT_SHARED_BUFFERS, EmbeddedPostgres
from delete_api.embedded.stack import embedded_stack
from delete_api.settings import VARIABLES, Settings
from domain.auth.passwords import PasswordHasher
from domain.auth.tokens import TokenConfig, issue
from domain.models import TokenFamily, User
from domain.transaction import unit_of_work
from tests.support.pg import ExternalPostgres, PostgresHandle, create_database, fresh_name

ROOT = Path(__file__).resolve().parents[1]  # the repository: the children run `python -m ...` from it
READY_TIMEOUT_S = 60.0
_STARTED = time.monotonic()
T = TypeVar("T")


class BenchError(Exception):
    """The benchmark could not run; the message says why."""


def say(message: str) -> None:
    """One progress line on standard error, stamped with the seconds since the command started."""
    print(f"[bench {time.monotonic() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def elapsed_s() -> float:
    return round(time.monotonic() - _STARTED, 1)


# -- the stage -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    """Where a benchmark runs: ``settings`` as configured (what is embedded), ``resolved`` (the URLs and the
    secret in use), the work folder and the child processes."""

    settings: Settings
    resolved: Settings
    work: Path
    procs: Processes


@contextlib.contextmanager
def stage(settings: Settings, data_dir: str | None, prefix: str) -> Iterator[Stage]:
    """The work folder (``data_dir``, or a temporary ``prefix*`` one, removed afterwards), PostgreSQL and Redis
    (embedded there unless ``DATABASE_URL``/``REDIS_URL``) with the migrations applied, and the child
    processes; everything started is stopped on the way out, on failure, Ctrl-C and SIGTERM too."""
    with contextlib.ExitStack() as stack:
        if data_dir:
            work = Path(data_dir).absolute()
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        settings = replace(settings, data_dir=work)
        if settings.jwt_secret is None:
            settings = settings.with_urls(jwt_secret=secrets.token_urlsafe(48))
        embedded = settings.embedded_database or settings.embedded_redis
        say(f"preparing PostgreSQL and Redis in {work}" if embedded else "using DATABASE_URL and REDIS_URL")
        resolved = stack.enter_context(embedded_stack(settings))
        assert resolved.database_url is not None
        migrate.upgrade(resolved.database_url.reveal())
        procs = Processes(work / "bench-logs")
        stack.callback(procs.stop)
        yield Stage(settings, resolved, work, procs)


# -- processes -------------------------------------------------------------------------------------

class Processes:
    """Child processes, each in its own session (a group to signal), output in ``<log_dir>/<name>.log``."""

    def __init__(self, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL,  # noqa: S603 - our argv
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def lines(self, name: str) -> list[str]:
        try:
            return (self.log_dir / f"{name}.log").read_text(errors="replace").strip().splitlines()
        except FileNotFoundError:
            return []

    def stop(self, *names: str, timeout_s: float = 15.0) -> None:
        """SIGTERM each group, wait up to ``timeout_s`` in all, then SIGKILL what is left."""
        victims = [self.procs.pop(n) for n in (names or list(self.procs)) if n in self.procs]
        for proc in victims:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for proc in victims:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(5)

    async def wait_healthy(self, name: str, url: str) -> None:
        proc = self.procs[name]
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise BenchError(f"{name} exited with {proc.returncode}:\n" + "\n".join(self.lines(name)[-15:]))
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(url)).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise BenchError(f"{name} did not answer {url} within {READY_TIMEOUT_S:.0f}s")

    def warnings(self, names: list[str]) -> dict[str, Any]:
        """Warnings and errors the nodes logged (they run at LOG_LEVEL=warning), most frequent first."""
        counts: dict[str, int] = {}
        for name in names:
            for line in self.lines(name):
                if " WARNING " in line or " ERROR " in line or line.startswith(("WARNING", "ERROR")):
                    key = f"{name}: {(line.split(' ', 2)[-1] if line[:1].isdigit() else line)[:160]}"
                    counts[key] = counts.get(key, 0) + 1
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:5]
        return {"lines": sum(counts.values()), "top": [f"{n}x {m}" for m, n in top]}


async def open_socket(url: str, headers: dict[str, str]) -> ClientConnection:
    """A bare socket (no client): connect and read the greeting (our ``hello`` frame, the floor's ``hello``)."""
    ws = await connect(url, additional_headers=headers, compression=None, ping_interval=None,
                       open_timeout=30, close_timeout=2)
    try:
        async with asyncio.timeout(30):
            greeting = await ws.recv()
        if "hello" not in greeting:
            raise BenchError(f"expected hello, got {str(greeting)[:200]}")
    except BaseException:
        ws.transport.abort()
        raise
    return ws


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signum)


def raise_fd_limit(needed: int) -> None:
    """Children inherit the limit: a node needs a descriptor per socket, and so does this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise BenchError(f"the open-file limit is {hard} and {needed} are needed; lower the socket count "
                         f"or raise the hard limit (ulimit -Hn)")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(resolved: Settings, work: Path, name: str, *, bcrypt_cost: int = 4) -> dict[str, str]:
    """The environment of a ``delete-api serve`` child: the resolved URLs and secret, warnings only."""
    assert resolved.database_url and resolved.redis_url and resolved.jwt_secret
    env = {k: v for k, v in os.environ.items() if k not in {v.name for v in VARIABLES}}
    env.update(DATABASE_URL=resolved.database_url.reveal(), REDIS_URL=resolved.redis_url.reveal(),
               JWT_SECRET=resolved.jwt_secret.reveal(), JWT_ALGORITHM=resolved.jwt_algorithm,
               BCRYPT_COST=str(bcrypt_cost), LOG_LEVEL="warning", DATA_DIR=str(work / name),
               MEDIA_DIR=str(work / name / "media"), PYTHONUNBUFFERED="1")
    return env


def serve_argv(port: int, profile_dir: Path | None = None) -> list[str]:
    """``delete-api serve`` on ``port``; with ``profile_dir``, under ``bench.cpu_profile`` writing there."""
    profiler = [] if profile_dir is None else ["-m", "bench.cpu_profile", str(profile_dir)]
    return [sys.executable, *profiler, "-m", "delete_api.cli", "serve", "--port", str(port)]


# -- CPU and the machine ------------------------------------------------------------------------------

CpuGroups = dict[str, tuple[int, bool]]  # name -> (pid, with its children)


def cpu_snapshot(groups: CpuGroups) -> dict[str, dict[int, float]]:
    """CPU seconds per process of each group, and the machine's busy seconds under ``machine``."""
    snapshot: dict[str, dict[int, float]] = {}
    for name, (pid, with_children) in groups.items():
        times: dict[int, float] = {}
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for proc in [root, *(root.children() if with_children else [])]:
                with contextlib.suppress(psutil.Error):
                    cpu = proc.cpu_times()
                    times[proc.pid] = cpu.user + cpu.system
        snapshot[name] = times
    machine = psutil.cpu_times()
    snapshot["machine"] = {0: sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)}
    return snapshot


def cpu_percent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]],
                wall_s: float) -> dict[str, float]:
    """Percent of one core per group between two snapshots; ``machine`` in percent of all cores."""
    result = {name: stats.cpu_percent(0.0, sum(t - before[name][pid] for pid, t in times.items()
                                               if pid in before.get(name, {})), wall_s)
              for name, times in after.items()}
    result["machine"] = round(result["machine"] / (os.cpu_count() or 1), 1)
    return result


def infra_pids(settings: Settings, work: Path) -> CpuGroups:
    """The embedded PostgreSQL (postmaster and backends) and Redis, when this process started them."""
    found: CpuGroups = {}
    if settings.embedded_database:
        with contextlib.suppress(OSError, ValueError, IndexError):
            found["postgres"] = (int((work / "postgres" / "postmaster.pid").read_text().split()[0]), True)
    if settings.embedded_redis:
        for child in psutil.Process().children():
            with contextlib.suppress(psutil.Error):
                if child.name().startswith("redis-server"):
                    found["redis"] = (child.pid, False)
    return found


def _all_cpu() -> dict[int, tuple[str, float]]:
    found = {}
    for proc in psutil.process_iter(["name", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is not None:
            found[proc.pid] = (proc.info["name"] or "?", times.user + times.system)
    return found


async def other_load(procs: Processes, infra: CpuGroups, seconds: float = 1.0) -> tuple[float, list[str]]:
    """Percent of one core used by processes that are not part of the run, and the busiest of them."""
    ours = {os.getpid(), *(p.pid for p in procs.procs.values())}
    for pid, with_children in infra.values():
        with contextlib.suppress(psutil.Error):
            ours |= {pid, *(c.pid for c in psutil.Process(pid).children())} if with_children else {pid}
    before = _all_cpu()
    await asyncio.sleep(seconds)
    used: dict[str, float] = {}
    for pid, (name, cpu) in _all_cpu().items():
        if pid not in ours and pid in before:
            used[name] = used.get(name, 0.0) + (cpu - before[pid][1]) * 100 / seconds
    busiest = [f"{name} {percent:.0f}%" for name, percent in sorted(used.items(), key=lambda kv: -kv[1])[:3]
               if percent >= 1]
    return round(sum(used.values()), 1), busiest


def machine_facts() -> dict[str, Any]:
    """What a reader needs to compare runs: cores, memory, Python, platform and the load average now."""
    load1, load5, load15 = os.getloadavg()
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "load_average": {"1m": round(load1, 2), "5m": round(load5, 2), "15m": round(load15, 2)}}


# -- users seeded straight into SQL -------------------------------------------------------------------

async def seed_users(sessions: async_sessionmaker[AsyncSession], count: int, config: TokenConfig, tag: str, *,
                     password: str | None = None, bcrypt_cost: int = 4,
                     role: str = "user") -> list[tuple[uuid.UUID, str]]:
    """Insert ``count`` users with a login each, straight into SQL; return (id, access token) pairs.

    Emails are ``bench-<tag>-<k>@example.test``; all share one password hash (of ``password``, or a random
    one) at ``bcrypt_cost``.
    """
    password_hash = await PasswordHasher(bcrypt_cost).hash(password or secrets.token_urlsafe(16))
    ids = [uuid.uuid4() for _ in range(count)]
    async with unit_of_work(sessions) as session:
        await session.execute(insert(User), [
            {"id": user_id, "email": f"bench-{tag}-{k}@example.test", "password_hash": password_hash,
             "display_name": f"Bench {k}", "birthdate": date(1990, 1, 1), "role": role}
            for k, user_id in enumerate(ids)])
    return await mint_tokens(sessions, ids, config)


async def mint_tokens(sessions: async_sessionmaker[AsyncSession], ids: list[uuid.UUID],
                      config: TokenConfig) -> list[tuple[uuid.UUID, str]]:
    """A login (token family) per user and an access token for it, without bcrypt or HTTP."""
    families = [uuid.uuid4() for _ in ids]
    async with unit_of_work(sessions) as session:
        await session.execute(insert(TokenFamily), [
            {"id": family, "user_id": user_id} for user_id, family in zip(ids, families, strict=True)])
    return [(user_id, issue(config, "access", user_id, family)[0])
            for user_id, family in zip(ids, families, strict=True)]


# -- running the async part ------------------------------------------------------------------------

async def _cancel_on_sigterm(coro: Coroutine[Any, Any, T]) -> T:
    task = asyncio.current_task()
    assert task is not None
    if threading.current_thread() is threading.main_thread():  # signals reach only the main thread's loop
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await coro


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop (the nodes run on it, so the clients do too); SIGTERM cancels it (when called from
    the main thread, the only one signals reach)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_cancel_on_sigterm(coro))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_cancel_on_sigterm(coro))


def throwaway_server(stack: ExitStack, settings: Settings, work: Path, *, durable: bool, why: str,
                     shared_buffers: str = DEFAULT_SHARED_BUFFERS) -> PostgresHandle:
    """A PostgreSQL to create benchmark databases on, stopped when ``stack`` closes: an embedded one started in
    ``work`` (``why`` says why it is durable or not) with ``shared_buffers``, or the server of ``DATABASE_URL``."""
    if settings.embedded_database:
        say(f"starting a throwaway PostgreSQL in {work} ({'durable' if durable else 'fsync off'}: {why}; "
            f"shared_buffers {shared_buffers})")
        embedded = EmbeddedPostgres(work / "postgres", durable=durable, shared_buffers=shared_buffers)
        embedded.start()
        stack.callback(embedded.stop)
        return embedded
    assert settings.database_url is not None
    say("creating the benchmark databases on the server of DATABASE_URL")
    return ExternalPostgres(settings.database_url.reveal())


def throwaway_database(stack: ExitStack, settings: Settings, work: Path, prefix: str, *, why: str) -> str:
    """A new migrated database on a durable ``throwaway_server``, dropped when ``stack`` closes; its URL."""
    server = throwaway_server(stack, settings, work, durable=True, why=why)
    name = fresh_name(prefix)
    url = create_database(server, name)
    stack.callback(server.drop_database, name)
    return url
