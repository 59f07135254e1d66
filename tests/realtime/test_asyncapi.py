"""GET /v1/asyncapi.json (AsyncAPI 3.0 of the socket) and GET /v1/asyncapi, built from the registry."""

from __future__ import annotations

import re
from typing import Any, get_args

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

import realtime.commands
import realtime.event_schemas  # noqa: F401  (registers every event)
from domain.models.moderation import REPORT_REASONS, RESOLUTIONS
from domain.models.social import MATCH_STATES
from domain.wire import enums
from domain.wire.events import LikeReceived
from domain.wire.objects import Card
from realtime import closecodes
from realtime.asyncapi import build_asyncapi, operation_suffix
from realtime.registry import REGISTRY, CommandInput, NoInput, Registry
from tests.support.documents import get_document as fetch_document
from tests.support.documents import refs, resolve

# CONTRACT section 2 "Events": type -> durable (plus hello, sent once after authentication)
CONTRACT_EVENTS = {
    "hello": False,
    "match.created": True,
    "match.updated": True,
    "like.received": True,
    "message.created": True,
    "message.read": True,
    "typing": False,
    "presence": False,
    "discovery.card": False,
    "discovery.empty": False,
    "account.suspended": True,
    "moderation.report": False,
    "moderation.resolved": False,
}
CARD_FIELDS = {"user_id", "display_name", "age", "distance_km", "photos", "prompts", "badges", "compatibility"}


async def get_document(http: httpx.AsyncClient) -> dict[str, Any]:
    return await fetch_document(http, "/v1/asyncapi.json")


def payload(doc: dict[str, Any], message_ref: str) -> dict[str, Any]:
    """The payload schema of a message reached through a channel or component reference."""
    message = resolve(doc, message_ref)
    if "$ref" in message:
        message = resolve(doc, message["$ref"])
    schema: dict[str, Any] = message["payload"]
    return resolve(doc, schema["$ref"]) if "$ref" in schema else schema


def data_schema(doc: dict[str, Any], event_type: str) -> dict[str, Any]:
    """The resolved ``data`` schema of an event."""
    schema: dict[str, Any] = resolve(doc, payload(doc, f"#/components/messages/event.{event_type}")
                                     ["properties"]["data"]["$ref"])
    return schema


async def test_document_is_asyncapi_3_for_the_socket(http: httpx.AsyncClient) -> None:
    """The document is AsyncAPI 3.0.0 at the running version, with a ws server and the /v1/ws channel."""
    doc = await get_document(http)
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["version"] == (await http.get("/v1/health")).json()["version"]
    [server] = doc["servers"].values()
    assert server["protocol"] == "ws" and server["pathname"] == "/v1/ws"
    assert "{host}" in server["host"] and "host" in server["variables"]
    [channel] = doc["channels"].values()
    assert channel["address"] == "/v1/ws"
    for word in ("Authorization", "auth", "hello", "sync", "4401", "4408"):
        assert word in doc["info"]["description"], word


async def test_every_registered_command_has_a_send_operation(http: httpx.AsyncClient) -> None:
    """Each registry command has a send operation whose message is its envelope and whose reply is documented."""
    doc = await get_document(http)
    assert {"ping", "auth", "sync"} <= set(REGISTRY.commands)
    for type_ in REGISTRY.commands:
        op = doc["operations"][f"send{operation_suffix(type_)}"]
        assert op["action"] == "send", type_
        [message] = op["messages"]
        envelope = payload(doc, message["$ref"])
        assert envelope["properties"]["type"] == {"const": type_}
        assert {"ref", "data"} <= set(envelope["properties"]), type_
        replies = [payload(doc, m["$ref"]) for m in op["reply"]["messages"]]
        assert {r["properties"]["ok"]["const"] for r in replies} == {True, False}, type_


async def test_every_contract_event_has_a_receive_message(http: httpx.AsyncClient) -> None:
    """Each event of the contract table (and hello) has a receive operation with its type constant."""
    doc = await get_document(http)
    for type_ in CONTRACT_EVENTS:
        op = doc["operations"].get(f"receive{operation_suffix(type_)}")
        assert op is not None, f"no receive operation for {type_}"
        assert op["action"] == "receive"
        [message] = op["messages"]
        assert payload(doc, message["$ref"])["properties"]["type"] == {"const": type_}


async def test_durable_events_require_seq_and_ephemeral_ones_have_none(http: httpx.AsyncClient) -> None:
    """Durable events require an integer seq; ephemeral events do not carry one at all."""
    doc = await get_document(http)
    for type_, durable in CONTRACT_EVENTS.items():
        envelope = payload(doc, f"#/components/messages/event.{type_}")
        if durable:
            assert "seq" in envelope["required"], type_
            assert envelope["properties"]["seq"]["type"] == "integer", type_
        else:
            assert "seq" not in envelope["properties"], type_
            assert envelope["additionalProperties"] is False, type_
        assert resolve(doc, "#/components/messages/event." + type_)["x-durable"] is durable


async def test_every_ref_resolves(http: httpx.AsyncClient) -> None:
    """Every $ref in the document points at something that exists."""
    doc = await get_document(http)
    found = set(refs(doc))
    assert any(r.startswith("#/components/schemas/") for r in found)
    for ref in found:
        target = resolve(doc, ref)
        assert isinstance(target, dict) and target, ref


async def test_event_data_uses_the_contract_field_names(http: httpx.AsyncClient) -> None:
    """Event data schemas name exactly the contract's fields, optional ones (`?`) not required."""
    doc = await get_document(http)
    card = resolve(doc, data_schema(doc, "discovery.card")["properties"]["card"]["$ref"])
    assert set(card["properties"]) == set(card["required"]) == CARD_FIELDS
    assert card["additionalProperties"] is False
    assert set(resolve(doc, card["properties"]["compatibility"]["$ref"])["properties"]) == {"score", "summary"}
    hello = data_schema(doc, "hello")
    assert set(hello["required"]) == {"user_id", "session_id", "last_seq", "heartbeat_s"}
    updated = data_schema(doc, "match.updated")
    assert set(updated["properties"]) == {"match_id", "state", "by", "reason"}
    assert set(updated["required"]) == {"match_id", "state"}
    assert set(data_schema(doc, "like.received")["required"]) == {"like_id", "from", "comment"}
    message = resolve(doc, data_schema(doc, "message.created")["properties"]["message"]["$ref"])
    assert set(message["required"]) == {"id", "match_id", "sender_id", "body", "client_msg_id", "created_at",
                                        "safety"}
    match = resolve(doc, data_schema(doc, "match.created")["properties"]["match"]["$ref"])
    assert set(match["required"]) == {"id", "state", "matched_at", "user"}
    assert set(data_schema(doc, "message.read")["required"]) == {"match_id", "reader_id", "up_to"}
    assert set(data_schema(doc, "typing")["required"]) == {"match_id", "user_id"}
    assert set(data_schema(doc, "presence")["required"]) == {"user_id", "online"}
    assert data_schema(doc, "discovery.empty").get("properties", {}) == {}
    suspended = data_schema(doc, "account.suspended")
    assert set(suspended["properties"]) == {"until", "reason"} and suspended["required"] == ["reason"]
    report = resolve(doc, data_schema(doc, "moderation.report")["properties"]["report"]["$ref"])
    assert {"id", "reporter_id", "reported_id", "reason", "details", "created_at"} <= set(report["required"])
    assert set(data_schema(doc, "moderation.resolved")["required"]) == {"report_id", "action", "moderator_id"}


async def test_event_models_refuse_leaks_and_use_the_domain_vocabulary() -> None:
    """A card with an email fails validation; state, reason and action literals match the domain's."""
    card: dict[str, Any] = {"user_id": "u", "display_name": "Ada", "age": 30, "distance_km": 3, "photos": [],
                            "prompts": [], "badges": [], "compatibility": {"score": 87, "summary": "close"}}
    TypeAdapter(Card).validate_python(card)
    with pytest.raises(ValidationError):
        TypeAdapter(Card).validate_python({**card, "email": "ada@example.test"})
    liked = TypeAdapter(LikeReceived).validate_python({"like_id": "l", "from": card, "comment": None})
    assert liked["from"]["age"] == 30
    assert set(get_args(enums.MatchState)) == set(MATCH_STATES)
    assert set(get_args(enums.ReportReason)) == set(REPORT_REASONS)
    assert set(get_args(enums.Resolution)) == set(RESOLUTIONS)
    for type_, durable in CONTRACT_EVENTS.items():
        assert REGISTRY.events[type_].durable is durable, type_


async def test_error_reply_is_documented(http: httpx.AsyncClient) -> None:
    """The error reply carries ok false and an error object whose code is one of the contract's codes."""
    doc = await get_document(http)
    error_reply = payload(doc, "#/components/messages/reply.error")
    assert error_reply["properties"]["ok"]["const"] is False
    body = resolve(doc, error_reply["properties"]["error"]["$ref"])
    assert {"code", "message"} <= set(body["required"])
    assert {"bad_request", "forbidden", "rate_limited", "internal"} <= set(body["properties"]["code"]["enum"])


async def test_close_codes_are_all_documented(http: httpx.AsyncClient) -> None:
    """Every close code of realtime.closecodes is listed with a meaning."""
    doc = await get_document(http)
    documented = {c["code"]: c["meaning"] for c in doc["info"]["x-close-codes"]}
    codes = {v for k, v in vars(closecodes).items() if k.isupper() and isinstance(v, int)}
    assert codes == set(documented)
    assert all(documented.values()), documented


async def test_builder_follows_a_registry_with_role_and_reply() -> None:
    """A fresh registry's moderator command carries x-required-role and its reply model; others carry none."""

    class BanIn(CommandInput):
        user_id: str

    class BanReply(BaseModel):
        banned: bool

    reg = Registry()

    async def handler(ctx: Any, data: Any) -> dict[str, Any]:
        return {}

    reg.command("moderation.ban_now", BanIn, summary="Ban someone.", role="moderator", reply=BanReply)(handler)
    reg.command("whoami", NoInput, summary="Who am I.")(handler)
    doc = build_asyncapi("9.9.9", registry=reg)
    assert set(doc["operations"]) == {"sendModerationBanNow", "sendWhoami"}
    op = doc["operations"]["sendModerationBanNow"]
    assert op["x-required-role"] == "moderator"
    assert doc["components"]["messages"]["command.moderation.ban_now"]["x-required-role"] == "moderator"
    envelope = payload(doc, op["messages"][0]["$ref"])
    assert envelope["required"] == ["type", "data"]
    assert resolve(doc, envelope["properties"]["data"]["$ref"])["required"] == ["user_id"]
    reply = payload(doc, "#/components/messages/reply.moderation.ban_now")
    assert set(resolve(doc, reply["properties"]["data"]["$ref"])["properties"]) == {"banned"}
    assert "x-required-role" not in doc["operations"]["sendWhoami"]
    assert payload(doc, "#/components/messages/command.whoami")["required"] == ["type"]
    assert payload(doc, "#/components/messages/reply.whoami")["properties"]["data"] == {"type": "object"}
    for ref in refs(doc):
        assert resolve(doc, ref), ref


async def test_served_document_marks_every_role_restricted_command(http: httpx.AsyncClient) -> None:
    """Each registered command with a role is marked x-required-role on its message and operation."""
    doc = await get_document(http)
    for command in REGISTRY.commands.values():
        op = doc["operations"][f"send{operation_suffix(command.type)}"]
        assert op.get("x-required-role") == command.role, command.type
        assert doc["components"]["messages"][f"command.{command.type}"].get("x-required-role") == command.role


async def test_page_is_self_contained_html_naming_every_command(http: httpx.AsyncClient) -> None:
    """/v1/asyncapi is HTML under a CSP without outside hosts, naming every command, event and close code."""
    resp = await http.get("/v1/asyncapi")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert "http" not in csp.lower() and "*" not in csp and "//" not in csp, csp
    assert "default-src 'none'" in csp
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", resp.text, re.IGNORECASE)
    for type_ in [*REGISTRY.commands, *CONTRACT_EVENTS]:
        assert f"<code>{type_}</code>" in resp.text, type_
    for code in (1008, 1009, 1012, 4401, 4403, 4408, 4429):
        assert str(code) in resp.text, code


@pytest.mark.parametrize("path", ["/v1/asyncapi.json", "/v1/asyncapi"])
async def test_protocol_docs_need_no_auth(http: httpx.AsyncClient, path: str) -> None:
    """The protocol docs are public: a garbage bearer token does not change the 200."""
    resp = await http.get(path, headers={"Authorization": "Bearer not-a-token"})
    assert resp.status_code == 200


async def test_every_reply_and_event_shape_is_the_one_of_domain_wire() -> None:
    """Replies, events and REST responses are documented with domain/wire's shapes, the ones the domain builds."""
    from rest.openapi import OPERATIONS

    shapes = [(f"reply to {c.type}", c.reply) for c in REGISTRY.commands.values()]
    shapes += [(f"event {e.type}", e.model) for e in REGISTRY.events.values() if e.type != "reply"]
    shapes += [(f"{op.method} {op.path}", op.response) for op in OPERATIONS if op.response is not None]
    outside = [f"{where}: {shape.__module__}.{shape.__qualname__}" for where, shape in shapes
               if shape is None or not shape.__module__.startswith("domain.wire.")]
    assert not outside, outside
    assert len(shapes) >= 50  # 34 commands, 14 events, 6 REST responses when this was written
