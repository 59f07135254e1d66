"""Channel names and the message format on Redis pub/sub (pure).

Routing scheme: every user has a channel ``{prefix}u{<partition>}:{user_id}``. A node
subscribes to it while it holds at least one socket of that user, so a
PUBLISH reaches exactly the nodes that need it. The partition (one of
``PARTITIONS``, from the user id) is a Redis Cluster hash tag: on a cluster
the channels of a partition share a slot, so a node subscribes to all of its
users of one partition with one SSUBSCRIBE and holds one subscriber
connection per shard (``infra.redis_cluster``); on one Redis it is just part
of the name. Moderators share
``{prefix}moderators`` (the report queue) and ``{prefix}moderators:photos`` (photo review). A message is one of:

    D<seq> <frame>   a durable event; <frame> is the exact JSON frame the client receives
                     (``D<seq>@<ms>`` once published: the publisher stamps the publication time, Unix ms,
                     from which the receiving node measures the delivery lag)
    E <frame>        an ephemeral event (typing, presence, discovery, moderation feed)
    C <json>         a control instruction for the user's sockets (close, revoke a login)

so a node forwards frames to sockets without decoding and re-encoding them.
"""

from __future__ import annotations

import json
import re
import uuid
import zlib
from collections.abc import Mapping
from typing import Any, Literal

import orjson

Kind = Literal["D", "E", "C"]

PARTITIONS = 64  # fixed: every node and publisher must agree (changing it is a restart of every node at once)


def partition(user_id: uuid.UUID | str) -> int:
    """The user's partition, 0 to ``PARTITIONS - 1`` (stable across processes)."""
    return zlib.crc32(str(user_id).encode()) % PARTITIONS


def user_channel(prefix: str, user_id: uuid.UUID | str) -> str:
    """The channel of one user's sockets (its ``{n}`` is the partition's hash tag on a Redis Cluster)."""
    return f"{prefix}u{{{partition(user_id)}}}:{user_id}"


def moderators_channel(prefix: str) -> str:
    """The channel every moderator dashboard listens to."""
    return f"{prefix}moderators"


def photo_reviewers_channel(prefix: str) -> str:
    """The channel of the photo review queue (``moderation.photos.subscribe``)."""
    return f"{prefix}moderators:photos"


def dumps(value: Any) -> str:
    """Compact JSON (datetimes must already be strings), always encodable as UTF-8.

    orjson writes it (5 to 10 times less CPU than ``json`` for our frames); what orjson refuses goes to
    ``json``: text with unpaired surrogates (echoed from a client's escapes), which is then escaped to ASCII,
    still valid JSON; an integer past 64 bits; a key that is not a string; a datetime or dataclass, which
    ``json`` refuses too.
    """
    try:
        return orjson.dumps(value, option=_STRICT).decode()
    except TypeError:
        pass
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    return text


_PLAIN = json.JSONDecoder()


def loads(text: str, fallback: json.JSONDecoder = _PLAIN) -> Any:
    """A JSON text's value, as ``fallback`` (``json``) reads it, mostly by orjson: what orjson reads otherwise
    (a number of 20 digits or more, which it makes a float) or refuses where ``json`` may read it (an escaped
    lone surrogate, NaN, 1e400, nesting deeper than 1024) goes to ``fallback``, whose answer or error stands."""
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return fallback.decode(text)


def loads_stored(text: str) -> Any:
    """The value of a JSON text this service stored (photos, prompts, event data: written by ``dumps`` from
    validated values, so no integer past 64 bits), by orjson; what it refuses (1e400) by ``json``. No scan for
    long numbers: on texts full of UUIDs it costs more than orjson's whole parse (7 us for 556 characters)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _PLAIN.decode(text)


_LONG_NUMBER = re.compile(r"[0-9]{20}")  # frames are short: a few microseconds at most
_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS  # both raise TypeError, as in json


def around(data: Mapping[str, Any], marker: str) -> tuple[str, str]:
    """``data``'s JSON before and after ``marker``, a string value in it that the database writes later (its
    clock's time): a function stores ``head || to_json(value)::text || tail``, the same text as
    ``head + dumps(value) + tail`` here. ``marker`` must be unguessable, so no user text can hold it."""
    head, _, tail = dumps(data).rpartition(dumps(marker))
    return head, tail


def frame(event_type: str, data: Mapping[str, Any], seq: int | None = None) -> str:
    """A server event frame: ``{"type", "seq"?, "data"}``."""
    if seq is None:
        return dumps({"type": event_type, "data": data})
    return dumps({"type": event_type, "seq": seq, "data": data})


def frame_from_json(event_type: str, data_json: str, seq: int) -> str:
    """A durable frame around already-encoded ``data`` (saves encoding the payload twice)."""
    return f'{{"type":{dumps(event_type)},"seq":{seq},"data":{data_json}}}'


def durable(seq: int, frame_text: str) -> bytes:
    return b"D%d " % seq + frame_text.encode()


def ephemeral(frame_text: str) -> bytes:
    return b"E " + frame_text.encode()


def control(op: str, **fields: Any) -> bytes:
    return b"C " + dumps({"op": op, **fields}).encode()


def stamped(message: bytes, at_ms: int) -> bytes:
    """A durable message stamped with its publication time (others, and stamped ones, unchanged)."""
    head, space, payload = message.partition(b" ")
    if head[:1] != b"D" or b"@" in head:
        return message
    return head + b"@%d" % at_ms + space + payload


def published_ms(message: bytes) -> int | None:
    """The publication time stamped on a durable message (Unix ms), if any."""
    head = message[:message.find(b" ")]
    _, at, ms = head.partition(b"@")
    return int(ms) if at and head[:1] == b"D" else None


def decode(message: bytes) -> tuple[Kind, int, str]:
    """Split a message into (kind, seq or 0, payload text); raise ValueError if malformed."""
    head, _, payload = message.partition(b" ")
    kind = head[:1]
    if kind == b"D":
        return "D", int(head[1:].partition(b"@")[0]), payload.decode()
    if kind == b"E" and len(head) == 1:
        return "E", 0, payload.decode()
    if kind == b"C" and len(head) == 1:
        return "C", 0, payload.decode()
    raise ValueError("not a hub message")
