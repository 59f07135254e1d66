"""The client process of ``python -m bench commandcpu``: runs each command kind over real sockets.

``python -m bench.commandcpu_client WORLD CALLS ROUNDS``: WORLD is the JSON the benchmark made (the server's
socket URL, two matched people's tokens, their match, people to pass on). Before and after each stretch of
CALLS calls it prints ``start KIND`` / ``end KIND`` and waits for a line on stdin, so the server measures its
CPU over exactly that stretch. A failed call fails the run (exit 1): a figure of errors would mislead.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from delete_client import DeleteClient

PACE_S = 0.055  # one call per pause: under the per-socket rate limit, and the loop idles between calls as a node's does
KINDS = ("ping", "pass", "messages.send", "messages.read", "typing", "discovery.request", "matches.list",
         "likes.pending", "messages.history", "sync")


async def _stretch(kind: str, calls: int, action: Callable[[int], Awaitable[Any]]) -> None:
    print("start", kind, flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    for k in range(calls):
        await action(k)
        await asyncio.sleep(PACE_S)
    print("end", kind, flush=True)
    await asyncio.to_thread(sys.stdin.readline)


def _actions(world: dict[str, Any], a: DeleteClient, b: DeleteClient,
             sent: list[str]) -> dict[str, Callable[[int], Awaitable[Any]]]:
    match, others = world["match"], world["others"]

    async def send(k: int) -> None:
        reply = await a.call("messages.send", {"match_id": match, "body": "hello",
                                               "client_msg_id": f"m{k}-{secrets.token_hex(4)}"})
        sent.append(reply["message"]["id"])

    async def idle(k: int) -> None:
        return None

    return {
        "idle": idle,
        "ping": lambda k: a.call("ping"),
        "pass": lambda k: a.call("pass", {"user_id": others[k % len(others)]}),
        "messages.send": send,
        "messages.read": lambda k: b.call("messages.read", {"match_id": match, "up_to": sent[k % len(sent)]}),
        "typing": lambda k: a.call("typing", {"match_id": match}),
        "matches.list": lambda k: a.call("matches.list", {"limit": 20}),
        "likes.pending": lambda k: a.call("likes.pending"),
        "messages.history": lambda k: a.call("messages.history", {"match_id": match, "limit": 20}),
        "sync": lambda k: a.call("sync", {"after": a.last_seq}),
    }


async def main(world: dict[str, Any], calls: int, rounds: int) -> None:
    a, b = DeleteClient(world["url"], world["a"]), DeleteClient(world["url"], world["b"])
    await a.connect()
    await b.connect()
    sent: list[str] = []
    actions = _actions(world, a, b, sent)
    for action in actions.values():  # warm: first-use costs (prepared statements, caches) are not per call
        await action(0)
    await _discover(world, 1)
    for _ in range(rounds):
        for name in ("idle", *KINDS):
            if name == "discovery.request":
                await _discover(world, calls, measured=True)
            else:
                await _stretch(name, calls, actions[name])
    await a.close()
    await b.close()


async def _discover(world: dict[str, Any], calls: int, *, measured: bool = False) -> None:
    """Batches of 10 cards on a socket of its own, opened before the stretch: a socket is never shown a card
    twice, so each stretch starts with everyone still to show (the world has enough people for it)."""
    c = DeleteClient(world["url"], world["b"])
    await c.connect()
    try:
        if measured:
            await _stretch("discovery.request", calls, lambda k: c.call("discovery.request", {"count": 10}))
        else:
            await c.call("discovery.request", {"count": 10})
    finally:
        await c.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
