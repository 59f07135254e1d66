"""A socket that ends leaves nothing for the cycle collector: reference counting frees all of it at once.

What a closed socket leaves in reference cycles stays in memory until a full collection walks every
object of the node (~0.1 s with 1,000 open sockets), and those pauses are the slowest deliveries' main
cause under load (docs/load.md).
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import httpx
import pytest

from realtime.connection import Connection
from tests.support.server import RunningServer
from tests.support.socket import call, open_ws, recv_json
from tests.support.users import signup


def _server_side(user_id: str) -> weakref.ref[Connection]:
    found = [o for o in gc.get_objects() if type(o) is Connection and str(o.principal.user_id) == user_id]
    assert len(found) == 1
    return weakref.ref(found[0])


@pytest.mark.parametrize("ending", ["close", "network drop"])
async def test_an_ended_socket_is_freed_by_reference_counting(server: RunningServer, http: httpx.AsyncClient,
                                                              ending: str) -> None:
    user: dict[str, Any] = await signup(http)
    ws = await open_ws(server, user["access_token"])
    assert (await recv_json(ws))["type"] == "hello"
    assert (await call(ws, "discovery.request", {"count": 3}))["type"] == "reply"  # per-socket discovery state
    assert (await call(ws, "ping", ref="r2"))["ok"] is True
    conn = _server_side(user["user"]["id"])
    gc.collect()
    gc.disable()  # from here only reference counting frees anything
    try:
        if ending == "close":
            await ws.close()
        else:
            ws.transport.abort()
        for _ in range(100):
            if conn() is None:
                break
            await asyncio.sleep(0.05)
        assert conn() is None, "the ended socket's connection is only freed by the cycle collector"
    finally:
        gc.enable()
