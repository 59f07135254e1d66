"""The socket protocol as AsyncAPI 3.0 (GET /v1/asyncapi.json) and as a readable page (GET /v1/asyncapi).

Both are built from the command and event registry when asked, so a command
registered anywhere appears without editing this module. The document is
written from the client's side: a client *sends* commands and *receives*
replies and events.
"""

from __future__ import annotations

import json
import re
from functools import cache
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from domain.wire.schemas import json_schemas
from realtime import closecodes
from realtime.registry import REGISTRY, Registry

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"
CHANNEL = "ws"
CHANNEL_REF = f"#/channels/{CHANNEL}"
FRAME_TYPES = frozenset({"reply"})  # registered for their model, but whole frames rather than an event's data

CLOSE_CODE_MEANINGS: dict[int, str] = {
    closecodes.POLICY: "the Origin is not allowed (refused before the upgrade: HTTP 403)",
    closecodes.TOO_BIG: "a frame over 64 KiB",
    closecodes.INTERNAL_ERROR: "the server failed on this socket (logged): reconnect, then sync",
    closecodes.RESTART: "the server is shutting down: reconnect (another node will answer), then sync",
    closecodes.SLOW_CONSUMER: "the client fell too far behind reading: reconnect, then sync",
    closecodes.UNAUTHORIZED: "no valid token, or the socket's token expired or was revoked and not renewed",
    closecodes.SUSPENDED: "the account is suspended, banned or deleted",
    closecodes.AUTH_TIMEOUT: "no auth frame within 10 s of connecting",
    closecodes.ABUSE: "sustained command flooding after rate_limited replies",
}

DESCRIPTION = """\
The realtime channel of the Delete app. One socket carries commands, their replies and pushed events.

**Connecting.** Send `Authorization: Bearer <access_token>` on the upgrade request or, from a browser, \
send `{"type":"auth","data":{"token":"<access_token>"}}` as the first frame within 10 s. \
A missing or invalid token closes the socket with 4401, no auth frame in time with 4408. \
On success the server sends `hello` with `last_seq` and `heartbeat_s`. \
Before the access token expires, send `auth` with a new one on the same socket; \
otherwise the socket is closed with 4401. A user may hold several sockets; each gets every event.

**Frames.** Commands are `{"type","ref","data"}`; each is answered by `{"type":"reply","ref","ok":true,"data"}` \
or `{"type":"reply","ref","ok":false,"error":{"code","message","details"}}`. \
Events are `{"type","seq","data"}`, with `seq` on durable events only. Malformed JSON or an unknown type \
is answered with `bad_request`; a frame over 64 KiB closes the socket with 1009.

**Roles.** A command whose message carries `x-required-role` answers `forbidden` to anyone without that role.

**Rate limits.** Too many commands are answered with `rate_limited` and `details.retry_after_s`; \
sustained flooding closes the socket with 4429.

**Never lose a durable event.** Durable events carry a per-user, strictly increasing `seq` and are stored \
before they are sent. After a reconnect, send `sync` with the highest `seq` you hold: every later durable \
event is replayed in order, then the reply gives `last_seq`. Deduplicate by `seq`.
"""


def close_codes() -> list[dict[str, Any]]:
    """Every close code of ``realtime.closecodes`` with its name and meaning (aliases folded)."""
    names: dict[int, str] = {}
    for name, value in vars(closecodes).items():
        if name.isupper() and isinstance(value, int):
            names.setdefault(value, name)
    return [{"code": code, "name": names[code], "meaning": CLOSE_CODE_MEANINGS.get(code, "")}
            for code in sorted(names)]


def operation_suffix(type_: str) -> str:
    """``messages.send`` → ``MessagesSend`` for operation ids."""
    return "".join(part[:1].upper() + part[1:] for part in type_.replace("_", ".").split(".") if part)


def _ref_schema() -> dict[str, Any]:
    return {"description": "chosen by the client and echoed in the reply",
            "anyOf": [{"type": "string", "maxLength": 128}, {"type": "integer"}]}


def _message(name: str, summary: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "title": name, "summary": summary, "contentType": "application/json",
            "payload": payload, **extra}


def build_asyncapi(version: str, registry: Registry | None = None) -> dict[str, Any]:
    """Assemble the AsyncAPI 3.0.0 document of ``registry`` (the app's own by default)."""
    import realtime.commands  # noqa: F401  (registers every command)
    from realtime.event_schemas import ReplyError  # (importing the module registers every event)

    reg = REGISTRY if registry is None else registry
    events = {t: e for t, e in reg.events.items() if t not in FRAME_TYPES}
    models: set[Any] = {ReplyError}
    for cmd in reg.commands.values():
        models.add(cmd.model)
        if cmd.reply is not None:
            models.add(cmd.reply)
    models.update(e.model for e in events.values())
    refs, schemas = json_schemas(models, "#/components/schemas/{model}")

    messages: dict[str, Any] = {"reply.error": _message(
        "reply (error)", "A command failed; `error.code` is one of the contract's codes.", refs[ReplyError])}
    operations: dict[str, Any] = {}
    for cmd in reg.commands.values():
        role = {"x-required-role": cmd.role} if cmd.role else {}
        input_schema = schemas[refs[cmd.model]["$ref"].rsplit("/", 1)[-1]]
        required = ["type", "data"] if input_schema.get("required") else ["type"]
        messages[f"command.{cmd.type}"] = _message(cmd.type, cmd.summary, {
            "type": "object", "required": required,
            "properties": {"type": {"const": cmd.type}, "ref": _ref_schema(), "data": refs[cmd.model]}}, **role)
        reply_data = refs[cmd.reply] if cmd.reply is not None else {"type": "object"}
        messages[f"reply.{cmd.type}"] = _message(f"reply to {cmd.type}", f"Success reply to `{cmd.type}`.", {
            "type": "object", "additionalProperties": False, "required": ["type", "ref", "ok", "data"],
            "properties": {"type": {"const": "reply"}, "ref": _ref_schema(), "ok": {"const": True},
                           "data": reply_data}})
        op_id = f"send{operation_suffix(cmd.type)}"
        if op_id in operations:
            raise ValueError(f"two commands map to the operation id {op_id!r}")
        operations[op_id] = {
            "action": "send", "channel": {"$ref": CHANNEL_REF}, "summary": cmd.summary,
            "messages": [{"$ref": f"{CHANNEL_REF}/messages/command.{cmd.type}"}],
            "reply": {"channel": {"$ref": CHANNEL_REF}, "messages": [
                {"$ref": f"{CHANNEL_REF}/messages/reply.{cmd.type}"},
                {"$ref": f"{CHANNEL_REF}/messages/reply.error"}]},
            **role,
        }
    for event in events.values():
        properties: dict[str, Any] = {"type": {"const": event.type}}
        required = ["type", "data"]
        if event.durable:
            properties["seq"] = {"type": "integer", "minimum": 1,
                                 "description": "per-user, strictly increasing; give the highest to `sync`"}
            required.insert(1, "seq")
        properties["data"] = refs[event.model]
        messages[f"event.{event.type}"] = _message(event.type, event.summary, {
            "type": "object", "additionalProperties": False, "required": required, "properties": properties},
            **{"x-durable": event.durable})
        op_id = f"receive{operation_suffix(event.type)}"
        if op_id in operations:
            raise ValueError(f"two events map to the operation id {op_id!r}")
        operations[op_id] = {"action": "receive", "channel": {"$ref": CHANNEL_REF}, "summary": event.summary,
                             "messages": [{"$ref": f"{CHANNEL_REF}/messages/event.{event.type}"}]}

    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Delete realtime API (WebSocket)", "version": version, "description": DESCRIPTION,
                 "x-close-codes": close_codes()},
        "defaultContentType": "application/json",
        "servers": {"api": {
            "host": "{host}", "protocol": "ws", "pathname": "/v1/ws",
            "description": "The deployment's own host; use wss behind TLS.",
            "variables": {"host": {"default": "localhost:8000", "description": "host[:port] of the deployment"}},
            "security": [{"$ref": "#/components/securitySchemes/bearer"}],
        }},
        "channels": {CHANNEL: {
            "address": "/v1/ws", "title": "The realtime socket",
            "messages": {mid: {"$ref": f"#/components/messages/{mid}"} for mid in messages},
            "bindings": {"ws": {"method": "GET", "bindingVersion": "0.1.0", "headers": {
                "type": "object", "properties": {"Authorization": {
                    "type": "string", "description": "`Bearer <access_token>`; or send `auth` as first frame"}}}}},
        }},
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "On the upgrade request, or as the first frame `auth` within 10 s."}},
        },
    }


@cache
def _cached(version: str, commands: tuple[str, ...], events: tuple[str, ...]) -> dict[str, Any]:
    return build_asyncapi(version)


def document(version: str) -> dict[str, Any]:
    """The app's document, rebuilt only when the registry has changed."""
    return _cached(version, tuple(REGISTRY.commands), tuple(REGISTRY.events))


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    resolved: dict[str, Any] = node
    return resolved


def _label(schema: dict[str, Any]) -> str:
    """A short HTML type label; named schemas link to their definition below."""
    if "$ref" in schema:
        name = escape(str(schema["$ref"]).rsplit("/", 1)[-1])
        return f"<a href='#schema-{name}'>{name}</a>"
    if "const" in schema:
        return escape(json.dumps(schema["const"]))
    if "enum" in schema:
        return " | ".join(escape(json.dumps(v)) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_label(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return _label(schema.get("items", {})) + "[]"
    return escape(str(schema.get("type", "any")))


def _fields(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    """``name: type`` for each property (``?`` when optional), as HTML."""
    target = _resolve(doc, schema)
    props = target.get("properties", {})
    if not props:
        return "none" if "$ref" in schema else _label(schema)
    required = set(target.get("required", []))
    return ", ".join(f"<code>{escape(name)}{'' if name in required else '?'}</code>: {_label(sub)}"
                     for name, sub in props.items())


def _markdown(text: str) -> str:
    """The description's bold and code spans as HTML (nothing else of Markdown is used)."""
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escape(text, quote=False))
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html)


def render_page(doc: dict[str, Any]) -> str:
    """A readable HTML page of every command, reply, event and close code."""
    messages = doc["components"]["messages"]
    commands, events = [], []
    for mid, msg in messages.items():
        props = msg["payload"].get("properties", {})
        if mid.startswith("command."):
            reply = messages[f"reply.{msg['name']}"]["payload"]["properties"]["data"]
            role = msg.get("x-required-role")
            commands.append(f"<tr><td><code>{escape(msg['name'])}</code></td><td>{_markdown(msg['summary'])}</td>"
                            f"<td>{_fields(doc, props['data'])}</td>"
                            f"<td>{escape(role) if role else 'any user'}</td><td>{_fields(doc, reply)}</td></tr>")
        elif mid.startswith("event."):
            durable = "yes (carries <code>seq</code>)" if msg.get("x-durable") else "no"
            events.append(f"<tr><td><code>{escape(msg['name'])}</code></td><td>{durable}</td>"
                          f"<td>{_markdown(msg['summary'])}</td><td>{_fields(doc, props['data'])}</td></tr>")
    codes = "".join(f"<tr><td><code>{c['code']}</code></td><td><code>{escape(c['name'])}</code></td>"
                    f"<td>{escape(c['meaning'])}</td></tr>" for c in doc["info"]["x-close-codes"])
    intro = "".join(f"<p>{_markdown(p)}</p>" for p in doc["info"]["description"].split("\n\n") if p.strip())
    error = _fields(doc, messages["reply.error"]["payload"])
    schemas = "".join(f"<details id='schema-{escape(name)}'><summary><code>{escape(name)}</code></summary><pre>"
                      f"{escape(json.dumps(schema, indent=2, ensure_ascii=False))}</pre></details>"
                      for name, schema in doc["components"]["schemas"].items())
    title = escape(doc["info"]["title"])
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
            "table{border-collapse:collapse;width:100%}td,th{border-top:1px solid #ddd;padding:.3rem;"
            "text-align:left;vertical-align:top}code{background:#f4f4f4;padding:0 .2rem}"
            "pre{background:#f4f4f4;padding:.5rem;overflow:auto}</style></head><body>"
            f"<h1>{title} <small>{escape(doc['info']['version'])}</small></h1>{intro}"
            f"<p>Machine-readable: <a href='/v1/asyncapi.json'>/v1/asyncapi.json</a> "
            f"(AsyncAPI {escape(doc['asyncapi'])}). Socket: <code>GET /v1/ws</code>.</p>"
            "<h2>Commands</h2><table><tr><th>type</th><th>what</th><th>data</th><th>role</th>"
            f"<th>reply data</th></tr>{''.join(commands)}</table>"
            f"<p>Any command may instead fail with <code>{{\"type\":\"reply\",\"ok\":false}}</code>: {error}.</p>"
            "<h2>Events</h2><table><tr><th>type</th><th>durable</th><th>what</th><th>data</th></tr>"
            f"{''.join(events)}</table>"
            "<h2>Close codes</h2><table><tr><th>code</th><th>name</th><th>meaning</th></tr>"
            f"{codes}</table><h2>Schemas</h2>{schemas}</body></html>")


async def asyncapi_json(request: Request) -> Response:
    return JSONResponse(document(request.state.realtime.config.version))


async def asyncapi_page(request: Request) -> Response:
    html = render_page(document(request.state.realtime.config.version))
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP})
