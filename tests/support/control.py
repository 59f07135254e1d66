"""A local HTTP control endpoint, so tests in another process (the TypeScript client's, under Node) can drive
what only the test harness can do: kill and restart server nodes, append durable events the way the domain does,
close a user's sockets with a given code, suspend a user, mint a short-lived access token, make a match.

Every action is ``POST /<action>`` with a JSON body and answers JSON (500 with the traceback on failure). It is a
Starlette app served by uvicorn inside the test's event loop, on a loopback port.
"""

from __future__ import annotations

import asyncio
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from domain.auth import tokens
from tests.support.factory import Person, make_match
from tests.support.nodes import NODE_JWT_SECRET, EventSource, Nodes
from tests.support.server import base_url_of, loopback_socket

Action = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
SUSPENDED_CLOSE = 4403


@dataclass
class Control:
    """The actions, over the nodes, the event source and the database of one test."""

    nodes: Nodes
    source: EventSource
    engine: AsyncEngine

    def actions(self) -> dict[str, Action]:
        return {"kill": self.kill, "restart": self.restart, "append": self.append, "close": self.close,
                "suspend": self.suspend, "token": self.token, "match": self.match}

    async def kill(self, body: dict[str, Any]) -> dict[str, Any]:
        """SIGKILL node ``node``: its sockets drop without a close frame."""
        self.nodes.kill(int(body["node"]))
        return {}

    async def restart(self, body: dict[str, Any]) -> dict[str, Any]:
        """Start node ``node`` again on its port (stopping it first if it runs) and wait for health."""
        await self.nodes.restart(int(body["node"]))
        return {}

    async def append(self, body: dict[str, Any]) -> dict[str, Any]:
        """Append ``count`` durable ``type`` events ``{n}`` for ``user_id``: one transaction, or ``parallel`` ones."""
        user_id = uuid.UUID(body["user_id"])
        count, event_type = int(body.get("count", 1)), str(body.get("type", "test.event"))
        if body.get("parallel"):
            seqs = await asyncio.gather(*(self.source.append(user_id, {"n": n}, event_type) for n in range(count)))
            return {"seqs": sorted(seqs)}
        return {"seqs": await self.source.append_batch(user_id, [{"n": n} for n in range(count)], event_type)}

    async def close(self, body: dict[str, Any]) -> dict[str, Any]:
        """Close every socket of ``user_id`` on every node with ``code`` (after what is already queued for it)."""
        await self.source.control(uuid.UUID(body["user_id"]), "close", code=int(body["code"]),
                                  reason=str(body.get("reason", "closed by the test")))
        return {}

    async def suspend(self, body: dict[str, Any]) -> dict[str, Any]:
        """What a moderator's suspension does: the status, the durable ``account.suspended``, then close 4403."""
        user_id = uuid.UUID(body["user_id"])
        until = datetime.now(UTC) + timedelta(days=int(body.get("days", 1)))
        async with self.engine.begin() as conn:
            await conn.execute(text("UPDATE users SET status = 'suspended', suspended_until = :until WHERE id = :id"),
                               {"until": until, "id": user_id})
        seq = await self.source.append(user_id, {"until": until.isoformat().replace("+00:00", "Z"),
                                                 "reason": "harassment"}, "account.suspended")
        await self.source.control(user_id, "close", code=SUSPENDED_CLOSE, reason="account suspended")
        return {"seq": seq}

    async def token(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new access token of ``access_token``'s login that expires in ``ttl_s`` seconds."""
        config = tokens.TokenConfig(secret=NODE_JWT_SECRET, access_ttl_s=int(body["ttl_s"]))
        claims = tokens.decode(config, str(body["access_token"]), "access")
        token, _ = tokens.issue(config, "access", claims.user_id, claims.family_id)
        return {"access_token": token}

    async def match(self, body: dict[str, Any]) -> dict[str, Any]:
        """A match of the two ``user_ids`` (with both likes), straight into the database."""
        a, b = (Person(uuid.UUID(u), "", "") for u in body["user_ids"])
        return {"match_id": str(await make_match(self.engine, a, b))}


def control_app(control: Control) -> Starlette:
    actions = control.actions()

    async def endpoint(request: Request) -> Response:
        action = actions.get(request.path_params["action"])
        if action is None:
            return PlainTextResponse(f"no action {request.path_params['action']!r}; there are {sorted(actions)}",
                                     status_code=404)
        try:
            body = await request.json() if await request.body() else {}
            return JSONResponse(await action(body))
        except Exception:
            return PlainTextResponse(traceback.format_exc(), status_code=500)

    return Starlette(routes=[Route("/{action}", endpoint, methods=["POST"])])


@asynccontextmanager
async def running_control(control: Control) -> AsyncIterator[str]:
    """Serve ``control`` on a loopback port; yield its base URL."""
    sock = loopback_socket()
    server = uvicorn.Server(uvicorn.Config(control_app(control), log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the control server exited during start-up")
                await asyncio.sleep(0.01)
        yield base_url_of(sock)
    finally:
        server.should_exit = True
        try:
            async with asyncio.timeout(10):
                await task
        finally:
            sock.close()
