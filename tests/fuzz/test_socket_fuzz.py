"""Socket frames generated from the command input models, then mutated, sent over a real socket.

Every example sends one frame and then a ``ping`` on the same socket. It passes when the frame gets exactly
one reply that is a success or an error with a contract code other than ``internal`` (the code the mutation
calls for, where it calls for one), the ping still answers, and the server logged no ERROR. Failures are
collected (deduplicated by command, mutation and symptom) rather than stopping at the first, so one run
reports every distinct problem. Examples are derandomized: the same frames every run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, assume, example, given, settings
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import realtime.commands  # noqa: F401  (fills the registry)
from domain.compatibility.traits import TRAIT_KEYS
from realtime.registry import REGISTRY
from tests.fuzz.strategies import (
    CONTRACT_CODES,
    MAX_FRAME_BYTES,
    FuzzFrame,
    Pools,
    deep,
    dump,
    framed,
    fuzz_frames,
)
from tests.fuzz.support import ErrorLog, PacedSocket, server_errors
from tests.support.factory import Person, make_match, make_person
from tests.support.pg import pooled_engine
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings

FRAME_EXAMPLES = 400
FIRST_FRAME_EXAMPLES = 60
REF = "fz-1"
NEVER_VALID = ("account.delete",)  # its valid input deletes the fuzzing account: only invalid shapes are sent
COMMANDS = {t: (c.model.model_json_schema(), c.model.model_json_schema().get("$defs", {}))
            for t, c in REGISTRY.commands.items()}
MODERATOR_ONLY = frozenset(t for t, c in REGISTRY.commands.items() if c.role == "moderator")
SETTINGS = settings(deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck))

# Frames that broke the server when this suite was written: always sent first, whatever Hypothesis draws.
REGRESSIONS = (
    FuzzFrame("sync", "valid", dump(framed("sync", REF, {"after": 10**30})), REF),
    FuzzFrame("ping", "deep", dump(framed("ping", REF, {"nested": deep(30_000, "array")})), REF,
              frozenset({"bad_request", "validation_error"}), False, True),
    FuzzFrame("ping", "non_object_frame", "[" * 30_000 + "]" * 30_000, None, frozenset({"bad_request"}), False),
    FuzzFrame("prompts.answer", "unicode", dump(framed("prompts.answer", REF, {"prompt_id": "\u0000",
                                                                              "answer": "hi"})), REF),
    FuzzFrame("ping", "ref_oddity", dump(framed("ping", "\ud800", {})), "\ud800"),
    FuzzFrame("quiz.submit", "unicode", dump(framed("quiz.submit", REF, {"answers": {"\udfff": 1}})), REF,
              frozenset({"validation_error"}), False),
)


@dataclass
class World:
    """A server on a database of its own, two matched users, a moderator, and values to mix in."""

    server: RunningServer
    user: Person
    other: Person
    moderator: Person
    pools: Pools


@pytest.fixture(scope="module")
async def world(fuzz_database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[World]:
    async with pooled_engine(fuzz_database_url, pool_size=2) as engine:
        user = await make_person(engine, name="Fuzz", photos=0)
        other = await make_person(engine, name="Other", photos=0)
        moderator = await make_person(engine, name="Mod", role="moderator", photos=0)
        match_id = await make_match(engine, user, other)
        async with engine.connect() as conn:
            prompt_ids = tuple((await conn.execute(text("SELECT id FROM prompts ORDER BY id LIMIT 5"))).scalars())
    pools = Pools(ids=(str(user.id), str(other.id), str(moderator.id), str(match_id)),
                  strings=prompt_ids + TRAIT_KEYS, keys=TRAIT_KEYS)
    settings_ = make_settings(fuzz_database_url, redis_url, tmp_root / "media-fuzz")
    async with run_server(settings_) as server:
        yield World(server, user, other, moderator, pools)


@dataclass
class Findings:
    """Distinct problems, with how often each happened and the first frame that showed it."""

    seen: dict[tuple[str, str, str], tuple[int, str]] = field(default_factory=dict)
    examples: Counter[str] = field(default_factory=Counter)
    mutations: Counter[str] = field(default_factory=Counter)

    def add(self, frame: FuzzFrame, symptom: str) -> None:
        key = (frame.command, frame.mutation, symptom)
        count, first = self.seen.get(key, (0, frame.text))
        self.seen[key] = (count + 1, first)

    def report(self) -> str:
        lines = [f"{len(self.seen)} distinct problem(s):"]
        for (command, mutation, symptom), (count, first) in sorted(self.seen.items()):
            shown = first if len(first) <= 300 else first[:240] + f"... ({len(first)} chars)"
            lines.append(f"- {command} / {mutation}: {symptom} (x{count}); first frame: {shown}")
        return "\n".join(lines)


def judge(frame: FuzzFrame, replies: list[dict[str, Any]], moderator: bool) -> list[str]:
    """What is wrong with the replies to ``frame`` (empty: nothing)."""
    if len(replies) != 1:
        return [f"expected exactly one reply, got {len(replies)}"]
    reply = replies[0]
    problems = _ref_problems(frame, reply)
    if reply.get("ok") is True:
        if not frame.may_succeed or (frame.command in MODERATOR_ONLY and not moderator):
            problems.append("accepted although it should have been refused")
        return problems
    return problems + _error_problems(reply.get("error") or {}, _allowed_codes(frame, moderator))


def _ref_problems(frame: FuzzFrame, reply: dict[str, Any]) -> list[str]:
    echoed = reply.get("ref")
    if frame.ref is not None and echoed != frame.ref and not (frame.ref_may_be_lost and echoed is None):
        return [f"reply ref {echoed!r:.40} does not echo {frame.ref!r:.40}"]
    return []


def _allowed_codes(frame: FuzzFrame, moderator: bool) -> frozenset[str] | None:
    """The error codes the reply may have (None: any contract code)."""
    parse_level = frame.expect == frozenset({"bad_request"})
    if frame.command in MODERATOR_ONLY and not moderator and not parse_level:
        # the role is checked after parsing: an unreadable frame is still bad_request
        return frozenset({"forbidden"}) | (frozenset({"bad_request"}) if frame.ref_may_be_lost else frozenset())
    return frame.expect


def _error_problems(error: dict[str, Any], allowed: frozenset[str] | None) -> list[str]:
    problems: list[str] = []
    code = error.get("code")
    if code == "internal":
        problems.append("internal error reply")
    elif code not in CONTRACT_CODES:
        problems.append(f"code {code!r} is not a contract code")
    elif allowed is not None and code not in allowed:
        problems.append(f"code {code} where {sorted(allowed)} was expected")
    if not isinstance(error.get("message"), str) or not error["message"]:
        problems.append("error without a message")
    if code == "validation_error" and not (error.get("details") or {}).get("fields"):
        problems.append("validation_error without details.fields")
    return problems


async def exchange_and_judge(sockets: itertools.cycle[tuple[PacedSocket, bool]], frame: FuzzFrame,
                             errors: ErrorLog, findings: Findings) -> None:
    sock, moderator = next(sockets)
    mark = len(errors.records)
    for _ in range(3):  # a rate_limited reply says nothing about the frame: wait as told and send it again
        result = await sock.exchange(frame.text)
        only = result.replies[0] if len(result.replies) == 1 else {}
        if result.closed or only.get("ok") is not False or only["error"]["code"] != "rate_limited":
            break
        await asyncio.sleep(float(only["error"]["details"]["retry_after_s"]) + 0.05)
    findings.examples[frame.command] += 1
    findings.mutations[frame.mutation] += 1
    if result.closed is not None:
        findings.add(frame, f"socket closed (code {result.closed[0]}) instead of replying")
        await sock.reopen()
    elif result.ping is None:
        findings.add(frame, "no ping reply within 10 s")
        await sock.reopen()
    else:
        if result.ping.get("ok") is not True:
            findings.add(frame, f"ping after it failed: {json.dumps(result.ping)[:120]}")
        for problem in judge(frame, result.replies, moderator):
            findings.add(frame, problem)
    for record in errors.since(mark):
        findings.add(frame, "server logged " + ErrorLog.describe(record).split(" (", 1)[0][:160])


def coverage_frames() -> tuple[FuzzFrame, ...]:
    """One frame with an unknown field for every command, so that each is fuzzed at least once.

    The generated frames are derandomized: which commands they draw depends on every schema, and a change
    to any one could leave a command out of the 400 draws.
    """
    return tuple(FuzzFrame(command, "extra", dump(framed(command, REF, {"zz_extra": 1})), REF,
                           frozenset({"validation_error"}), False) for command in sorted(COMMANDS))


async def test_generated_and_mutated_command_frames_never_break_the_socket(world: World) -> None:
    """Valid-ish and mutated frames for every command get one proper reply, no internal error, and ping lives."""
    url = world.server.ws_url + "/v1/ws"
    pool = [(PacedSocket(url, world.user.token), False) for _ in range(3)]
    pool += [(PacedSocket(url, world.moderator.token), True) for _ in range(2)]
    for sock, _ in pool:
        await sock.open()
    sockets = itertools.cycle(pool)
    findings = Findings()
    loop = asyncio.get_running_loop()

    with server_errors() as errors:
        strategy = fuzz_frames(COMMANDS, world.pools, REF, NEVER_VALID)

        @settings(SETTINGS, max_examples=FRAME_EXAMPLES)
        @given(frame=strategy)
        def one(frame: FuzzFrame) -> None:
            assume(len(frame.text.encode()) <= MAX_FRAME_BYTES)
            asyncio.run_coroutine_threadsafe(exchange_and_judge(sockets, frame, errors, findings), loop).result(60)

        for regression in reversed(REGRESSIONS + coverage_frames()):
            one = example(frame=regression)(one)
        try:
            await asyncio.to_thread(one)
        finally:
            for sock, _ in pool:
                await sock.close()
    total = sum(findings.examples.values())
    print(f"\nsocket fuzz: {total} frames over {len(findings.examples)} commands; "
          f"mutations {dict(sorted(findings.mutations.items()))}; reconnects {sum(s.reconnects for s, _ in pool)}")
    assert total >= FRAME_EXAMPLES // 2, f"only {total} frames were sent"
    assert set(findings.examples) == set(COMMANDS), f"never sent: {sorted(set(COMMANDS) - set(findings.examples))}"
    assert not findings.seen, findings.report()


FIRST_FRAME_REGRESSIONS = (
    "[" * 30_000 + "]" * 30_000,
    dump(framed("auth", None, {"token": deep(30_000, "array")})),
)


async def test_fuzzed_first_frames_close_4401_without_server_errors(world: World) -> None:
    """Whatever an unauthenticated client sends first, the socket closes with 4401 and the server logs no error."""
    url = world.server.ws_url + "/v1/ws"
    loop = asyncio.get_running_loop()
    problems: dict[str, str] = {}
    sent = Counter[str]()

    async def first_frame(text_: str) -> None:
        mark = len(errors.records)
        async with asyncio.timeout(10):
            ws = await connect(url, max_size=None, open_timeout=5, close_timeout=2)
            try:
                await ws.send(text_)
                while True:
                    frame = json.loads(await ws.recv())
                    problems.setdefault(f"got a {frame.get('type')} frame before auth", text_[:200])
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                if code != 4401:
                    problems.setdefault(f"closed with {code} instead of 4401", text_[:200])
            finally:
                await ws.close()
        for record in errors.since(mark):
            problems.setdefault("server logged " + ErrorLog.describe(record)[:160], text_[:200])

    with server_errors() as errors:
        strategy = fuzz_frames(COMMANDS, world.pools, REF, NEVER_VALID)

        @settings(SETTINGS, max_examples=FIRST_FRAME_EXAMPLES)
        @given(frame=strategy)
        def one(frame: FuzzFrame) -> None:
            assume(len(frame.text.encode()) <= MAX_FRAME_BYTES)
            sent[frame.mutation] += 1
            asyncio.run_coroutine_threadsafe(first_frame(frame.text), loop).result(30)

        for regression in FIRST_FRAME_REGRESSIONS:
            one = example(frame=FuzzFrame("auth", "deep", regression, None))(one)
        await asyncio.to_thread(one)
    print(f"\nfirst-frame fuzz: {sum(sent.values())} sockets; mutations {dict(sorted(sent.items()))}")
    assert not problems, "\n".join(f"- {p}; first frame: {t}" for p, t in problems.items())
