"""The security suite's tools: forged tokens, recording clients, snapshots of a user's rows, leak scans, schema checks.

Nothing here is mocked: tokens are sent to the real server, snapshots read the
real tables, and the schema checks use the models the server documents itself
with (``domain/wire``, registered by ``realtime/event_schemas.py``, the command registry and ``rest/openapi.py``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from delete_client import Closed, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from websockets.typing import Data

import realtime.commands  # noqa: F401  (fills the registry)
from domain.wire.errors import ErrorEnvelope
from realtime.event_schemas import Reply
from realtime.registry import REGISTRY
from rest.openapi import OPERATIONS
from tests.support.server import RunningServer
from tests.support.settings import TEST_JWT_SECRET
from tests.support.shapes import closed_match

WAIT_S = 10.0
OUR_KEY = TEST_JWT_SECRET.encode()
ATTACKER_KEY = b"attacker-controlled-key-" + b"z" * 40
JWT_RE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")  # the brief's pattern, also matching an empty signature
BCRYPT_PREFIX = "$2b$"
# every field name that refers to a stored object (a user, match, message, photo, report or prompt)
# "query": moderation.search names accounts by id or email
REFERENCE_NAMES = frozenset({"user_id", "match_id", "photo_id", "report_id", "prompt_id", "up_to", "before",
                             "query", "id"})  # "id": moderation.words.remove


def ws_url(server: RunningServer) -> str:
    return server.ws_url + "/v1/ws"


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- forged tokens --------------------------------------------------------------------------------------------

def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64json(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def sign(header: dict[str, Any], payload: dict[str, Any], key: bytes | None,
         digest: Callable[..., Any] = hashlib.sha256) -> str:
    """A JWT with exactly ``header``; HMAC-signed with ``key``, or with an empty signature when ``key`` is None."""
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    signature = "" if key is None else b64url(hmac.new(key, signing_input.encode(), digest).digest())
    return f"{signing_input}.{signature}"


def claims_of(token: str) -> dict[str, Any]:
    """The payload of a token, unverified (to copy a genuine token's claims into a forgery)."""
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


@dataclass(frozen=True)
class Genuine:
    """A real login of the victim, and another user whose identity a forger would like to take."""

    access: str
    refresh: str
    user_id: uuid.UUID
    other_user_id: uuid.UUID


HS256 = {"alg": "HS256", "typ": "JWT"}
NONE = {"alg": "none", "typ": "JWT"}
KID = "../../../../../../dev/null"
JKU = "https://attacker.example/.well-known/jwks.json"
ATTACKER_JWK = {"kty": "oct", "k": b64url(ATTACKER_KEY)}


def _now() -> int:
    return int(time.time())


def _as_other(g: Genuine) -> dict[str, Any]:
    return {**claims_of(g.access), "sub": str(g.other_user_id)}


def _reuse_signature(g: Genuine, header: dict[str, Any] | None, payload: dict[str, Any]) -> str:
    head, _, signature = g.access.split(".")
    return f"{b64json(header) if header is not None else head}.{b64json(payload)}.{signature}"


def _without(claims: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != key}


# name -> how to forge it from the victim's genuine tokens; every one must be refused as an access token
FORGERIES: dict[str, Callable[[Genuine], str]] = {
    "alg_none": lambda g: sign(NONE, claims_of(g.access), None),
    "alg_None_mixed_case": lambda g: sign({"alg": "None"}, claims_of(g.access), None),
    "alg_none_keeping_the_real_signature": lambda g: _reuse_signature(g, NONE, claims_of(g.access)),
    "hs256_signed_with_another_key": lambda g: sign(HS256, claims_of(g.access), ATTACKER_KEY),
    "hs256_with_an_empty_signature": lambda g: sign(HS256, claims_of(g.access), None),
    "hs512_with_our_key_algorithm_not_pinned": lambda g: sign({"alg": "HS512", "typ": "JWT"}, claims_of(g.access),
                                                              OUR_KEY, hashlib.sha512),
    "sub_changed_signed_with_another_key": lambda g: sign(HS256, _as_other(g), ATTACKER_KEY),
    "sub_changed_unsigned_alg_none": lambda g: sign(NONE, _as_other(g), None),
    "sub_changed_keeping_the_real_signature": lambda g: _reuse_signature(g, None, _as_other(g)),
    "expired": lambda g: sign(HS256, {**claims_of(g.access), "iat": _now() - 3600, "exp": _now() - 60}, OUR_KEY),
    "iat_in_the_future": lambda g: sign(HS256, {**claims_of(g.access), "iat": _now() + 3600, "exp": _now() + 5400},
                                        OUR_KEY),
    "missing_type": lambda g: sign(HS256, _without(claims_of(g.access), "type"), OUR_KEY),
    "refresh_token_used_as_access": lambda g: g.refresh,
    "kid_header_with_our_key": lambda g: sign({**HS256, "kid": KID}, claims_of(g.access), OUR_KEY),
    "jku_header_with_our_key": lambda g: sign({**HS256, "jku": JKU}, claims_of(g.access), OUR_KEY),
    "jwk_header_with_our_key": lambda g: sign({**HS256, "jwk": ATTACKER_JWK}, claims_of(g.access), OUR_KEY),
    "kid_dev_null_signed_with_an_empty_key": lambda g: sign({**HS256, "kid": KID}, claims_of(g.access), b""),
    "jku_header_with_another_key": lambda g: sign({**HS256, "jku": JKU}, claims_of(g.access), ATTACKER_KEY),
    "jwk_header_embedding_another_key": lambda g: sign({**HS256, "jwk": ATTACKER_JWK}, _as_other(g), ATTACKER_KEY),
}


async def socket_refusal(server: RunningServer, token: str, *, header_auth: bool) -> int | None:
    """Open a socket with ``token`` (upgrade header or first frame): the close code, or None if it was accepted."""
    client = DeleteClient(ws_url(server), token, header_auth=header_auth, auto_resume=False)
    try:
        async with asyncio.timeout(WAIT_S):
            await client.connect()
    except Closed as exc:
        return exc.code
    await client.close()
    return None


async def closed_with(client: DeleteClient) -> int | None:
    """Read events until the server closes the socket for good; the close code (None if it stayed open)."""
    try:
        for _ in range(100):
            await client.next_event(timeout=WAIT_S)
    except Closed as exc:
        return exc.code
    except TimeoutError:
        return None
    return None


# -- a user's rows, before and after -----------------------------------------------------------------------------

SNAPSHOT_SQL: dict[str, str] = {
    "account": "SELECT id, email, password_hash, display_name, birthdate, bio, gender, interested_in, age_min, "
               "age_max, max_distance_km, lat, lon, role, status, suspended_until, last_pass_undo_at, updated_at, "
               "deleted_at, photo_count, prompt_count, traits::text FROM users WHERE id = :u",
    "photos": "SELECT * FROM photos WHERE user_id = :u ORDER BY id",
    "prompts": "SELECT * FROM prompt_answers WHERE user_id = :u ORDER BY prompt_id",
    "quiz": "SELECT answers::text, submitted_at FROM quiz_responses WHERE user_id = :u",
    "badges": "SELECT badge, awarded_at FROM user_badges WHERE user_id = :u ORDER BY badge",
    "likes_sent": "SELECT * FROM likes WHERE liker_id = :u ORDER BY id",
    "likes_received": "SELECT * FROM likes WHERE likee_id = :u ORDER BY id",
    "passes_by": "SELECT * FROM passes WHERE passer_id = :u ORDER BY passee_id",
    "passes_on": "SELECT * FROM passes WHERE passee_id = :u ORDER BY passer_id",
    "blocks": "SELECT * FROM blocks WHERE :u IN (blocker_id, blocked_id) ORDER BY blocker_id, blocked_id",
    "matches": "SELECT * FROM matches WHERE :u IN (user_a, user_b) ORDER BY id",
    "messages": "SELECT m.* FROM messages m JOIN matches x ON x.id = m.match_id "
                "WHERE :u IN (x.user_a, x.user_b) ORDER BY m.id",
    "reads": "SELECT r.* FROM match_reads r JOIN matches x ON x.id = r.match_id "
             "WHERE :u IN (x.user_a, x.user_b) ORDER BY r.match_id, r.user_id",
    "reports": "SELECT * FROM reports WHERE :u IN (reporter_id, reported_id) ORDER BY id",
    "moderation_actions": "SELECT * FROM moderation_actions WHERE target_user_id = :u ORDER BY id",
    "logins": "SELECT id, revoked_at FROM token_families WHERE user_id = :u ORDER BY id",
    "events": "SELECT count(*), coalesce(max(seq), 0) FROM user_events WHERE user_id = :u",
}


async def snapshot(engine: AsyncEngine, user_id: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    """Every row that belongs to or is about ``user_id``, by section (the durable events as count and max seq)."""
    async with engine.connect() as conn:
        return {name: [tuple(r) for r in (await conn.execute(text(sql), {"u": user_id})).all()]
                for name, sql in SNAPSHOT_SQL.items()}


def changed_sections(before: dict[str, list[tuple[Any, ...]]],
                     after: dict[str, list[tuple[Any, ...]]]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def execute(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


# -- recording everything a client receives ----------------------------------------------------------------------

class RecordingClient(DeleteClient):
    """A ``DeleteClient`` that keeps every frame it receives (hello included) and every command type it sends."""

    def __init__(self, url: str, token: str, **kwargs: Any) -> None:
        super().__init__(url, token, **kwargs)
        self.frames: list[str] = []
        self.sent: set[str] = set()

    async def _open(self, url: str) -> dict[str, Any]:
        hello = await super()._open(url)
        self.frames.append(json.dumps({"type": "hello", "data": hello}))
        return hello

    def _route(self, message: Data) -> Closed | None:
        self.frames.append(message if isinstance(message, str) else bytes(message).decode("utf-8", "replace"))
        return super()._route(message)

    async def call(self, type: str, data: dict[str, Any] | None = None, *,
                   timeout: float = 10.0) -> dict[str, Any]:
        self.sent.add(type)
        return await super().call(type, data, timeout=timeout)


@dataclass
class RestRecord:
    method: str
    path: str
    status: int
    body: bytes


@dataclass
class RestRecorder:
    """Every REST response one caller received."""

    records: list[RestRecord] = field(default_factory=list)

    async def hook(self, response: httpx.Response) -> None:
        await response.aread()
        self.records.append(RestRecord(response.request.method, response.request.url.path,
                                       response.status_code, response.content))

    def client(self, server: RunningServer) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=server.base_url, timeout=10, event_hooks={"response": [self.hook]})


# -- leak scans --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Private:
    """What of one person nobody else may ever receive."""

    name: str
    email: str
    birthdate: str
    lat: float
    lon: float


NUMBER_RE = re.compile(r"-?\d+\.\d{3,}")
# a timestamp's seconds and fraction ("…T18:00:11.492724Z") read as a number could sit within 0.001 of a
# coordinate by chance (a clean-clone CI run flagged "11.492724" against a longitude of 11.49218)
TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


def leaks_of(text_: str, other: Private, *, allow_identity: bool = False) -> list[str]:
    """What of ``other`` appears in ``text_``: email, birthdate, or a number within 0.001 of their lat or lon.

    ``allow_identity`` lets email and birthdate through (a moderator's dossier shows them, docs/moderation.md).
    """
    found = []
    if not allow_identity:
        if other.email.lower() in text_.lower():
            found.append(f"{other.name}'s email")
        if other.birthdate in text_:
            found.append(f"{other.name}'s birthdate")
    for number in NUMBER_RE.findall(TIMESTAMP_RE.sub("<time>", text_)):
        value = float(number)
        if abs(value - other.lat) < 0.001 or abs(value - other.lon) < 0.001:
            found.append(f"{other.name}'s exact location ({number})")
    return found


def secrets_in(text_: str, *, allowed_tokens: frozenset[str] = frozenset()) -> list[str]:
    """Password hashes and JWTs in ``text_`` (``allowed_tokens`` are the caller's own, where they belong)."""
    found = []
    if BCRYPT_PREFIX in text_:
        found.append("a bcrypt password hash")
    found += [f"a JWT ({token[:20]}...)" for token in JWT_RE.findall(text_) if token not in allowed_tokens]
    return found


# -- schema checks -----------------------------------------------------------------------------------------------

def check_server_frame(raw: str) -> dict[str, Any]:
    """Check one frame a client received against the registry; return it parsed."""
    frame: dict[str, Any] = json.loads(raw)
    kind = frame.get("type")
    if kind == "reply":
        closed_match(Reply, frame)
        return frame
    doc = REGISTRY.events.get(str(kind))
    assert doc is not None, f"an event type the registry does not document: {kind!r}"
    expected = {"type", "seq", "data"} if doc.durable else {"type", "data"}
    assert set(frame) == expected, f"{kind}: envelope {sorted(frame)}, expected {sorted(expected)}"
    if doc.durable:
        assert isinstance(frame["seq"], int) and not isinstance(frame["seq"], bool) and frame["seq"] > 0
    closed_match(doc.model, frame["data"])
    return frame


def check_reply_data(command: str, data: dict[str, Any]) -> None:
    """An ``ok`` reply's data against the reply model its command registered."""
    model = REGISTRY.commands[command].reply
    if model is not None:
        closed_match(model, data)


def _template_re(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")


def check_rest_body(record: RestRecord) -> None:
    """A REST response against its operation in ``rest/openapi.py``: the success model, empty, or ``ErrorEnvelope``."""
    for op in OPERATIONS:
        if op.method.upper() != record.method or not _template_re(op.path).match(record.path):
            continue
        if record.status == op.success:
            if op.response is None:
                assert record.body == b"", f"{record.method} {record.path}: {op.success} must have no body"
            else:
                closed_match(op.response, json.loads(record.body))
        else:
            closed_match(ErrorEnvelope, json.loads(record.body))
        return
