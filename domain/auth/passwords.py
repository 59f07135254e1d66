"""Password hashing with bcrypt, off the event loop.

The rule (documented in the README): a password is 8 to 128 characters. It is
normalised to Unicode NFC (so "é" typed on any keyboard is the same password),
its UTF-8 bytes are hashed with SHA-256 and base64-encoded, and bcrypt hashes
those 44 bytes. Every character counts; nothing is silently cut at bcrypt's
72-byte limit, and long non-ASCII passwords never fail.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

import bcrypt

MIN_LENGTH = 8
MAX_LENGTH = 128
LOW_PRIORITY = 19  # the nice value of the hashing threads
T = TypeVar("T")


def _lower_priority() -> None:
    """Run this worker thread at the lowest CPU priority (Linux keeps a nice value per thread).

    bcrypt releases the GIL, so it never blocks the event loop; but at cost 12 a hash is ~0.2 s of CPU, and
    with a burst of logins every core is busy hashing. At nice 19 the event loop's thread (and PostgreSQL,
    Redis, the other nodes) still get a core the moment they need one: socket replies stay fast while
    logins queue a little longer.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY)
    except (AttributeError, OSError):  # not Linux, or not allowed: plain priority
        pass


def hashing_pool() -> ThreadPoolExecutor:
    """The server's hashing threads: one per core (hashing is CPU-bound), at the lowest priority.

    The app's lifespan makes one and shuts it down; one-off tools (seed, create-moderator) pass none and
    use the event loop's default executor.
    """
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="bcrypt",
                              initializer=_lower_priority)


def _prepare(password: str) -> bytes:
    normalised = unicodedata.normalize("NFC", password).encode("utf-8")
    return base64.b64encode(hashlib.sha256(normalised).digest())


def hash_sync(password: str, cost: int) -> str:
    """bcrypt of the prepared password (blocking: call it in a thread, as ``PasswordHasher`` does)."""
    return bcrypt.hashpw(_prepare(password), bcrypt.gensalt(rounds=cost)).decode("ascii")


def _verify_sync(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(_prepare(password), password_hash.encode("ascii"))
    except ValueError:
        return False


class PasswordHasher:
    """Hashes and verifies passwords in low-priority worker threads at a fixed bcrypt cost."""

    def __init__(self, cost: int, executor: Executor | None = None) -> None:
        self.cost = cost
        self.executor = executor  # None: the event loop's default executor
        self._dummy_hash: str | None = None

    async def _in_worker(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def hash(self, password: str) -> str:
        """Return the bcrypt hash of ``password``."""
        return await self._in_worker(hash_sync, password, self.cost)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Check ``password``; with no hash (unknown account) spend the same time and return False."""
        if password_hash is None:
            await self._in_worker(_verify_sync, password, await self._dummy())
            return False
        return await self._in_worker(_verify_sync, password, password_hash)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash("dummy password for unknown accounts")
        return self._dummy_hash
