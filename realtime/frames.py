"""Client frames in, reply frames out (pure; CONTRACT section 2 "Frames")."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.events.wire import dumps, loads
from domain.quoting import quote
from domain.wire.errors import ErrorBody

Ref = str | int | None
MAX_REF_LENGTH = 128


class FrameError(Exception):
    """A frame that cannot be understood; ``ref`` is echoed when it could be read."""

    def __init__(self, message: str, ref: Ref = None) -> None:
        super().__init__(message)
        self.message = message
        self.ref = ref


@dataclass(frozen=True)
class ClientFrame:
    """``{"type", "ref"?, "data"?}`` sent by a client."""

    type: str
    ref: Ref
    data: dict[str, Any] = field(default_factory=dict)
    invalid_text: tuple[str, ...] = ()  # paths in ``data`` whose strings are not valid Unicode


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity are Python's extensions, not JSON


# NaN and Infinity refused; one decoder made once (json.loads with a keyword argument makes one per call)
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def parse(text: str) -> ClientFrame:
    """Decode one text frame; raise ``FrameError`` for anything but a well-formed command."""
    try:
        value = loads(text, _DECODER)  # an escaped lone surrogate is read, then reported by path below
    except (ValueError, RecursionError):  # deep nesting raises RecursionError
        raise FrameError("frame is not valid JSON (or is nested too deeply)") from None
    if not isinstance(value, dict):
        raise FrameError("frame must be a JSON object")
    ref = value.get("ref")
    if ref is not None and (isinstance(ref, bool) or not isinstance(ref, str | int)):
        raise FrameError("ref must be a string")
    if isinstance(ref, str) and len(ref) > MAX_REF_LENGTH:
        raise FrameError(f"ref is longer than {MAX_REF_LENGTH} characters")
    kind = value.get("type")
    if not isinstance(kind, str) or not kind:
        raise FrameError("type must be a non-empty string", ref)
    data = value.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrameError("data must be a JSON object", ref)
    # "\ud800"-style escapes can decode to lone surrogates, which PostgreSQL cannot store: find them
    # (a cheap scan of the raw text first, so ordinary frames pay nothing)
    bad = tuple(_surrogate_paths(data, "")) if _SURROGATE_ESCAPE.search(text) else ()
    return ClientFrame(kind, ref, data, bad)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _surrogate_paths(value: object, path: str) -> list[str]:
    """Dotted paths of the strings (keys or values) in ``value`` that hold unpaired surrogates."""
    found: list[str] = []
    if isinstance(value, str):
        if _has_lone_surrogate(value):
            found.append(path or "data")
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{quote(key)}" if path else quote(key)
            if _has_lone_surrogate(key):
                found.append(child)
            else:
                found.extend(_surrogate_paths(item, child))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_surrogate_paths(item, f"{path}.{index}" if path else str(index)))
    return found


def reply_ok(ref: Ref, data: Mapping[str, Any]) -> str:
    """A successful reply frame."""
    return dumps({"type": "reply", "ref": ref, "ok": True, "data": data})


def reply_error(ref: Ref, error: ErrorBody) -> str:
    """A failed reply frame; ``error`` is ``{"code", "message", "details"?}``."""
    return dumps({"type": "reply", "ref": ref, "ok": False, "error": error})
