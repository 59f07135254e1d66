"""A real streaming replica of an embedded PostgreSQL, for the read-routing tests (``DATABASE_READ_URL``).

``EmbeddedReplica`` is an embedded server whose data directory is not made by ``initdb`` but copied from a
running primary with ``pg_basebackup -R`` (over the primary's unix socket, as its superuser: initdb's
``pg_hba.conf`` trusts local replication connections), so it starts as a hot standby streaming the
primary's WAL. ``pause_replay``/``resume_replay`` hold and release the replay of that WAL — a replica
lagging behind for as long as a test wants — and ``caught_up`` waits until the replica has replayed
everything the primary has written so far.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg

from delete_api.embedded.postgres import SUPERUSER, EmbeddedPostgres, _bin

REPLICA_PORT = 5433  # a socket file of its own even if both data directories fell back to one socket folder


class EmbeddedReplica(EmbeddedPostgres):
    """A hot standby of ``primary`` in its own data directory; ``start`` copies the primary on first use."""

    def __init__(self, primary: EmbeddedPostgres, pgdata: Path, *, durable: bool = True) -> None:
        # a hot standby needs max_connections at least the primary's
        super().__init__(pgdata, durable=durable, max_connections=primary.max_connections)
        self.primary = primary
        self.port = REPLICA_PORT

    def _initdb(self) -> None:
        """Copy the primary with a fast checkpoint and write ``standby.signal`` and ``primary_conninfo``."""
        assert self.primary.socket_dir is not None, "start the primary first"
        self._run([str(_bin("pg_basebackup")), "-D", str(self.pgdata), "-R", "-c", "fast", "-X", "stream",
                   "-h", str(self.primary.socket_dir), "-p", str(self.primary.port), "-U", SUPERUSER])
        self.pgdata.chmod(0o700)  # the folder existed before the copy, with the umask's mode, which PostgreSQL refuses


async def _admin(server: EmbeddedPostgres) -> asyncpg.Connection:
    return await asyncpg.connect(server.url("postgres"))


async def pause_replay(replica: EmbeddedPostgres) -> None:
    """Stop applying the primary's WAL (it is still received): the replica now lags, by as much as is written."""
    conn = await _admin(replica)
    try:
        await conn.execute("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + 10
        while await conn.fetchval("SELECT pg_get_wal_replay_pause_state()") != "paused":
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not pause its replay")
            await asyncio.sleep(0.02)
    finally:
        await conn.close()


async def resume_replay(replica: EmbeddedPostgres) -> None:
    """Apply the primary's WAL again."""
    conn = await _admin(replica)
    try:
        await conn.execute("SELECT pg_wal_replay_resume()")
    finally:
        await conn.close()


async def caught_up(primary: EmbeddedPostgres, replica: EmbeddedPostgres, timeout_s: float = 20.0) -> None:
    """Wait until the replica has replayed everything the primary had written when this was called.

    The test clusters commit asynchronously, so WAL may sit unflushed (and unsent) for a while: a WAL message
    written with ``flush`` first flushes everything before it (a commit would not, without writes of its own).
    """
    conn = await _admin(primary)
    try:
        await conn.execute("SELECT pg_logical_emit_message(false, 'delete-tests', '', true)")
        target = await conn.fetchval("SELECT pg_current_wal_flush_lsn()")
    finally:
        await conn.close()
    conn = await _admin(replica)
    try:
        deadline = time.monotonic() + timeout_s
        while not await conn.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", target):
            if time.monotonic() > deadline:
                state = await conn.fetchrow("SELECT pg_last_wal_receive_lsn() AS received, pg_last_wal_replay_lsn() "
                                            "AS replayed, pg_get_wal_replay_pause_state() AS pause")
                raise TimeoutError(f"the replica did not replay up to {target} in {timeout_s} s: {dict(state or {})}")
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
