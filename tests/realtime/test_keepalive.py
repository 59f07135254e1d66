"""The server's keepalive: a peer that keeps talking is never pinged (its traffic shows it is alive), and a
peer that goes quiet is pinged and, if it never answers, dropped within 2 x heartbeat_s of its last bytes
(CONTRACT section 2, "Heartbeats"). Raw sockets, so every frame the server sends is seen."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings
from tests.support.socket import raw_upgrade
from tests.support.users import signup

PING, PONG, CLOSE = 0x9, 0xA, 0x8


@pytest.fixture(scope="module")
async def quick_server(database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[RunningServer]:
    """A server with 1-second heartbeats."""
    settings = make_settings(database_url, redis_url, tmp_root / "media-keepalive", heartbeat_s=1)
    async with run_server(settings) as srv:
        yield srv


def _upgrade(srv: RunningServer, token: str) -> socket.socket:
    sock = raw_upgrade(int(srv.base_url.rsplit(":", 1)[1]), token)
    sock.setblocking(False)
    return sock


def _masked(opcode: int, payload: bytes) -> bytes:
    """A client frame (clients must mask theirs)."""
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _frames(stream: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The whole (unmasked, server-sent) frames at the start of ``stream`` as ``(opcode, payload)``, and the rest."""
    found, at = [], 0
    while at + 2 <= len(stream):
        length, header = stream[at + 1] & 0x7F, 2
        if length == 126:
            length, header = struct.unpack("!H", stream[at + 2:at + 4])[0], 4
        elif length == 127:
            length, header = struct.unpack("!Q", stream[at + 2:at + 10])[0], 10
        if at + header + length > len(stream):
            break
        found.append((stream[at] & 0x0F, stream[at + header:at + header + length]))
        at += header + length
    return found, stream[at:]


def _drain(sock: socket.socket) -> tuple[bytes, bool]:
    """What the server sent since the last call, and whether it closed the connection."""
    got = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            return got, False
        if not chunk:
            return got, True
        got += chunk


def _talk_then_listen(sock: socket.socket, talk_s: float, every_s: float, listen_s: float) -> tuple[list[int], float]:
    """Ping the server every ``every_s`` for ``talk_s``, then answer nothing for up to ``listen_s``: the opcodes
    the server sent while the client talked, and how long after the client's last frame the server hung up."""
    stream, start = b"", time.monotonic()
    while time.monotonic() - start < talk_s:
        sock.sendall(_masked(PING, b"k"))
        time.sleep(every_s)
        stream += _drain(sock)[0]
    talked = [opcode for opcode, _ in _frames(stream)[0]]
    last = time.monotonic()
    while time.monotonic() - last < listen_s:
        if _drain(sock)[1]:
            return talked, time.monotonic() - last
        time.sleep(0.02)
    return talked, float("inf")


def _answer_pings(sock: socket.socket, seconds: float) -> tuple[int, bool]:
    """Send nothing but a pong for each ping, for ``seconds``: how many pings came, and whether it stayed open."""
    pings, rest, start = 0, b"", time.monotonic()
    while time.monotonic() - start < seconds:
        got, closed = _drain(sock)
        if closed:
            return pings, False
        frames, rest = _frames(rest + got)
        for opcode, payload in frames:
            if opcode == PING:
                pings += 1
                sock.sendall(_masked(PONG, payload))
        time.sleep(0.02)
    return pings, True


async def _token(srv: RunningServer) -> str:
    async with httpx.AsyncClient(base_url=srv.base_url, timeout=10) as client:
        return str((await signup(client))["access_token"])


async def test_a_peer_that_keeps_talking_is_not_pinged_and_one_gone_quiet_is_dropped_in_time(
        quick_server: RunningServer) -> None:
    """For three heartbeats the client pings every 0.3 s: the server answers each and sends no ping of its own.
    Then the client falls silent without answering: it is dropped within 2 x heartbeat_s of its last frame."""
    sock = await asyncio.to_thread(_upgrade, quick_server, await _token(quick_server))
    heartbeat = quick_server.settings.heartbeat_s
    try:
        talked, dropped_after = await asyncio.to_thread(_talk_then_listen, sock, 3.0 * heartbeat, 0.3,
                                                        4.0 * heartbeat)
    finally:
        sock.close()
    assert talked.count(PONG) >= 8 and PING not in talked, talked  # answered, never asked
    assert dropped_after <= 2 * heartbeat + 0.5, dropped_after


async def test_a_quiet_peer_that_answers_is_pinged_every_heartbeat_and_kept(quick_server: RunningServer) -> None:
    """A client that sends nothing of its own (a browser cannot ping) is pinged about once per heartbeat_s, and
    answering keeps it connected."""
    sock = await asyncio.to_thread(_upgrade, quick_server, await _token(quick_server))
    try:
        pings, open_ = await asyncio.to_thread(_answer_pings, sock, 4.5 * quick_server.settings.heartbeat_s)
    finally:
        sock.close()
    assert open_ and 3 <= pings <= 5, (pings, open_)
