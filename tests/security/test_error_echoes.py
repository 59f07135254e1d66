"""Issue 19, echoes: an error quotes at most 64 characters of anything the client sent.

Every command of ``REGISTRY.commands`` is sent, through a real socket, with a 10 KB unique ``type``; with every
field and an unknown field name holding long unique strings; and with well-formed values where strings are as
long as the field allows, maps keyed by long strings and unknown long keys in nested objects (so the domain's
own checks and not_found paths answer too). The REST auth endpoints get long junk fields and unknown keys. No
frame and no response may carry more than 64 consecutive characters of any string the client sent.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.asyncio.client import ClientConnection, connect

from realtime.registry import REGISTRY
from tests.moderation.support import moderator
from tests.security.support import auth_header, ws_url
from tests.support.server import RunningServer
from tests.support.users import PASSWORD, new_email, signup

QUOTE_LIMIT = 64
LONG = 10_000
FRAME_BUDGET = 60_000  # characters of client strings per frame: under the 64 KiB frame and body caps
T = 10.0


class Sent:
    """Unique strings handed to the server; ``echoes`` finds any of them in what comes back."""

    def __init__(self) -> None:
        self.strings: list[str] = []

    def new(self, length: int = LONG) -> str:
        value = secrets.token_hex(length // 2 + 1)[:max(length, 1)]
        self.strings.append(value)
        return value

    def echoes(self, reply: Any) -> list[str]:
        """Runs of more than ``QUOTE_LIMIT`` characters of a sent string found in ``reply`` (its keys and texts)."""
        found = []
        for text in texts_in(reply):
            for start in range(len(text) - QUOTE_LIMIT):
                window = text[start:start + QUOTE_LIMIT + 1]
                if any(window in sent for sent in self.strings):
                    found.append(f"{window[:20]}… in {text[:80]!r} ({len(text)} characters)")
                    break
        return found


def texts_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from texts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts_in(item)


# -- payloads generated from each command's input schema ------------------------------------------------------

def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolve(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    return _resolve(options[0], defs) if options else schema


@dataclass
class Shapes:
    """Values of one command's input schema: strings as long as allowed, maps keyed by long strings and, if
    ``unknown_nested``, an unknown long key in every nested object."""

    defs: dict[str, Any]
    sent: Sent
    unknown_nested: bool = False

    def value(self, schema: dict[str, Any]) -> Any:
        schema = _resolve(schema, self.defs)
        kind = schema.get("type")
        if "enum" in schema:
            return schema["enum"][0]
        if kind == "string":
            return str(uuid.uuid4()) if schema.get("format") == "uuid" else self.sent.new(
                min(schema.get("maxLength", LONG), LONG))
        if kind in ("integer", "number"):
            return schema.get("minimum", 1)
        if kind == "array":
            return [self.value(schema["items"])]
        if kind == "object" and "properties" in schema:
            fields = self.fields(schema)
            return fields | {self.sent.new(): 1} if self.unknown_nested else fields
        if kind == "object":
            return {self.sent.new(): self.value(schema.get("additionalProperties", {"type": "integer"}))}
        return self.sent.new()

    def fields(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {name: self.value(prop) for name, prop in schema.get("properties", {}).items()}


def payloads(type_: str, sent: Sent) -> list[tuple[str, dict[str, Any]]]:
    """(what, frame) for one command: a long type; long values and an unknown field; lone surrogates under long
    keys; well-formed values (alone, with an unknown field, with unknown keys in nested objects)."""
    schema = REGISTRY.commands[type_].model.model_json_schema()
    properties: dict[str, Any] = schema.get("properties", {})
    size = FRAME_BUDGET // (2 * len(properties) + 2)
    frames = [("a long type", {"type": sent.new(), "data": {}}),
              ("long values and an unknown field", {"type": type_, "data": {
                  **{name: sent.new(size) for name in properties}, sent.new(size): sent.new(size)}}),
              ("unpaired surrogates under long keys", {"type": type_, "data": {
                  sent.new(size) + "\ud800": 1, sent.new(size): "text\udfff"}})]
    if properties:  # never for account.delete: its well-formed data would delete the account
        defs = schema.get("$defs", {})
        frames += [
            ("well-formed values", {"type": type_, "data": Shapes(defs, sent).fields(schema)}),
            ("well-formed values and an unknown field", {"type": type_, "data": {
                **Shapes(defs, sent).fields(schema), sent.new(): 1}}),
            ("well-formed values with unknown nested keys", {"type": type_, "data": Shapes(
                defs, sent, unknown_nested=True).fields(schema)}),
        ]
    return frames


# -- the socket --------------------------------------------------------------------------------------------------

async def exchange(socket: ClientConnection, frame: dict[str, Any], ref: str) -> list[Any]:
    """Send one command and return every frame received up to its reply (or the close)."""
    await socket.send(json.dumps({**frame, "ref": ref}))
    received = []
    async with asyncio.timeout(T):
        while True:
            message = json.loads(await socket.recv())
            received.append(message)
            if message.get("type") == "reply" and message.get("ref") == ref:
                return received


@pytest.fixture(scope="module")
async def moderator_token(engine: AsyncEngine) -> str:
    return (await moderator(engine, name="Echo")).token


@pytest.mark.parametrize("type_", sorted(REGISTRY.commands))
async def test_socket_errors_quote_at_most_64_characters(server: RunningServer, moderator_token: str,
                                                        type_: str) -> None:
    """A long type, long values, long unknown field names and long map keys come back cut to 64 characters."""
    sent = Sent()
    async with asyncio.timeout(T):
        socket = await connect(ws_url(server), additional_headers=auth_header(moderator_token),
                               max_size=None)
    try:
        assert json.loads(await socket.recv())["type"] == "hello"
        for index, (what, frame) in enumerate(payloads(type_, sent)):
            received = await exchange(socket, frame, ref=f"r{index}")
            echoed = sent.echoes(received)
            assert not echoed, f"{type_}, {what}: {echoed}"
    finally:
        await socket.close()


async def test_an_unknown_type_is_named_in_64_characters(server: RunningServer, moderator_token: str) -> None:
    """The unknown command's error names the type's first 64 characters and marks the cut."""
    sent = Sent()
    kind = sent.new()
    async with asyncio.timeout(T):
        socket = await connect(ws_url(server), additional_headers=auth_header(moderator_token), max_size=None)
    try:
        await socket.recv()
        reply = (await exchange(socket, {"type": kind, "data": {}}, ref="r"))[-1]
    finally:
        await socket.close()
    assert reply["error"]["code"] == "bad_request"
    assert kind[:QUOTE_LIMIT] + "…" in reply["error"]["message"]
    assert len(json.dumps(reply)) < 300, len(json.dumps(reply))


@pytest.mark.parametrize("type_", ["me.update", "ping", "quiz.submit"])
async def test_a_flood_of_unknown_fields_gets_a_short_answer(server: RunningServer, moderator_token: str,
                                                             type_: str) -> None:
    """5,000 short unknown keys: the validation error names 20 of them and counts the rest, far below the frame."""
    data: dict[str, Any] = {f"k{i}": 1 for i in range(5000)}
    frame = {"type": type_, "data": {"answers": data} if type_ == "quiz.submit" else data}
    async with asyncio.timeout(T):
        socket = await connect(ws_url(server), additional_headers=auth_header(moderator_token), max_size=None)
    try:
        await socket.recv()
        reply = (await exchange(socket, frame, ref="r"))[-1]
    finally:
        await socket.close()
    assert reply["error"]["code"] == "validation_error"
    fields = reply["error"]["details"]["fields"]
    more = fields.pop("…")
    assert len(fields) == 20 and more.startswith("and ") and int(more.split()[1]) >= 4980, (more, fields)
    assert len(json.dumps(reply)) < 3000 < len(json.dumps(frame))


async def test_a_flood_of_unreadable_fields_gets_a_short_answer(server: RunningServer, moderator_token: str) -> None:
    """2,500 fields holding unpaired surrogates: the refusal names 20 of them, far below the frame's size."""
    frame = {"type": "ping", "data": {f"k{i}": "\ud800" for i in range(2500)}}
    async with asyncio.timeout(T):
        socket = await connect(ws_url(server), additional_headers=auth_header(moderator_token), max_size=None)
    try:
        await socket.recv()
        reply = (await exchange(socket, frame, ref="r"))[-1]
    finally:
        await socket.close()
    assert reply["error"]["code"] == "validation_error"
    fields = reply["error"]["details"]["fields"]
    assert fields.pop("…") == "and 2480 more" and len(fields) == 20, fields
    assert len(json.dumps(reply)) < 3000 < len(json.dumps(frame))


# -- REST --------------------------------------------------------------------------------------------------------

def rest_bodies(sent: Sent) -> list[tuple[str, dict[str, Any] | list[Any]]]:
    size = FRAME_BUDGET // 12
    return [
        ("/v1/auth/signup", {"email": sent.new(size), "password": sent.new(size), "display_name": sent.new(size),
                             "birthdate": sent.new(size), sent.new(size): sent.new(size)}),
        ("/v1/auth/signup", {"email": f"{sent.new(size)}@example.test", "password": sent.new(size),
                             "display_name": sent.new(size), "birthdate": "1990-01-01"}),
        ("/v1/auth/signup", {"email": new_email(), "password": PASSWORD, "display_name": "Echo",
                             "birthdate": "1990-01-01", sent.new(LONG): {sent.new(LONG): sent.new(LONG)}}),
        ("/v1/auth/login", {"email": sent.new(size), "password": sent.new(size)}),
        ("/v1/auth/login", {"email": new_email(), "password": PASSWORD, sent.new(LONG): sent.new(LONG)}),
        ("/v1/auth/login", {"email": [sent.new(LONG)], "password": {sent.new(LONG): 1}}),
        ("/v1/auth/refresh", {"refresh_token": sent.new(LONG)}),
        ("/v1/auth/refresh", {"refresh_token": "x", sent.new(LONG): sent.new(LONG)}),
        ("/v1/auth/logout", {"refresh_token": sent.new(LONG), sent.new(LONG): 1}),
    ]


async def test_rest_errors_quote_at_most_64_characters(http: httpx.AsyncClient) -> None:
    """Long junk in the auth endpoints' fields, unknown keys and paths comes back cut to 64 characters."""
    sent = Sent()
    token = (await signup(http))["access_token"]
    responses = [await http.post(path, json=body, headers=auth_header(token)) for path, body in rest_bodies(sent)]
    responses.append(await http.delete(f"/v1/profile/photos/{sent.new(2_000)}", headers=auth_header(token)))
    responses.append(await http.get(f"/v1/{sent.new(2_000)}"))
    for resp in responses:
        assert 400 <= resp.status_code < 500, (resp.request.url.path[:40], resp.status_code, resp.text[:200])
        echoed = sent.echoes(resp.json()) + sent.echoes(resp.text)
        assert not echoed, f"{resp.request.method} {resp.request.url.path[:40]} {resp.status_code}: {echoed}"
