"""Hypothesis strategies for socket frames: valid-ish command data from the input models, then mutations.

A frame is built as a small tree and written out by ``dump``, so that it can hold what ``json.dumps``
will not write: raw tokens (``NaN``, ``1e400``, ``[[[[…]]]]``) and duplicate keys. Strings are written
with ``ensure_ascii`` so lone surrogates travel as ``\\ud800`` escapes inside a valid UTF-8 text frame.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

MAX_FRAME_BYTES = 64 * 1024  # the server closes bigger frames with 1009 (tested elsewhere): stay under it
MAX_TEXT = 300  # valid-ish strings; huge ones come from the "huge" mutation

# Text that has broken servers before: NUL, lone surrogates, BOM, bidi overrides, zero-width, combining marks,
# noncharacters, astral planes, SQL/format/path/HTML bait, line breaks.
ODD_TEXT: tuple[str, ...] = (
    "", " ", "\u0000", "a\u0000b", "\ud800", "\udfff", "x\udc00y", "\ufeff", "\u202eevil", "\u200b", "e\u0301",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467", "\uffff", "\ufffe", "\U0010ffff", "NaN", "null", "true",
    "'; DROP TABLE users; --", "%s%n%x", "{0}", "../../etc/passwd", "<script>alert(1)</script>", "\r\n", "\t",
    "\x7f", "\u2028", "\u0085", "🙂" * 40, "ß" * 60, "0", "-1", "1e309", "00000000-0000-0000-0000-000000000000",
)
RAW_NUMBERS: tuple[str, ...] = (
    "NaN", "-NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999", "-0", "0.0", "1.5", "1e-400",
    "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
    "1" + "0" * 30, "1" + "0" * 4299, "1" + "0" * 4400, "0.1e1", "5e0",
)
CONTRACT_CODES = frozenset({
    "bad_request", "validation_error", "unauthorized", "token_reused", "forbidden", "not_found", "conflict",
    "email_taken", "invalid_credentials", "account_suspended", "rate_limited", "daily_limit_reached",
    "comment_required", "spam_detected", "photo_limit", "prompt_limit", "internal",
})


@dataclass(frozen=True)
class Raw:
    """Text written into the frame exactly as it is (tokens ``json`` will not produce)."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """A JSON object written from ordered pairs, so a key may appear twice."""

    items: tuple[tuple[str, Any], ...]


def dump(value: Any) -> str:
    """Write ``value`` (JSON values plus ``Raw`` and ``Pairs``) as frame text."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=True)


@dataclass(frozen=True)
class Pools:
    """Values worth mixing into generated data: real ids and keys of the fuzzing world."""

    ids: tuple[str, ...] = ()
    strings: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()


@dataclass
class FuzzFrame:
    """One frame to send and what the reply may be."""

    command: str
    mutation: str
    text: str
    ref: str | int | None  # the ref the reply must echo (None: the frame cannot be read far enough to have one)
    expect: frozenset[str] | None = None  # allowed error codes besides success (None: any contract code)
    may_succeed: bool = True
    ref_may_be_lost: bool = False  # nesting past the parser's depth makes the whole frame unreadable


def text_values(min_size: int = 0, max_size: int = MAX_TEXT, pools: Pools | None = None) -> st.SearchStrategy[str]:
    """Ordinary text, odd text, and the pool's strings."""
    options: list[st.SearchStrategy[str]] = [
        st.text(min_size=min_size, max_size=max_size),
        st.sampled_from(ODD_TEXT),
        st.text(alphabet=st.sampled_from("\u0000\ud800\udfff\u202e\u200b\ufeff\u0301 a"), min_size=1, max_size=12),
    ]
    if pools is not None and pools.strings:
        options.append(st.sampled_from(pools.strings))
    return st.one_of(options)


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _resolve(defs[ref.rsplit("/", 1)[-1]], defs)
    return schema


def from_schema(schema: dict[str, Any], defs: dict[str, Any], pools: Pools) -> st.SearchStrategy[Any]:
    """A valid-ish value of a pydantic JSON schema (the subset our input models use)."""
    schema = _resolve(schema, defs)
    if "anyOf" in schema:
        return st.one_of([from_schema(s, defs, pools) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "uuid":
            ids = [st.uuids().map(str)] + ([st.sampled_from(pools.ids)] if pools.ids else [])
            return st.one_of(ids)
        low = int(schema.get("minLength", 0))
        high = min(int(schema.get("maxLength", MAX_TEXT)), MAX_TEXT)
        return text_values(low, max(low, high), pools)
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "number":
        return st.floats(min_value=schema.get("minimum"), max_value=schema.get("maximum"),
                         allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = from_schema(schema.get("items", {}), defs, pools)
        return st.lists(items, min_size=int(schema.get("minItems", 0)), max_size=int(schema.get("maxItems", 6)))
    if kind == "object" or "properties" in schema:
        return _object(schema, defs, pools)
    return json_values()


def _object(schema: dict[str, Any], defs: dict[str, Any], pools: Pools) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fixed = st.fixed_dictionaries(
        {k: from_schema(v, defs, pools) for k, v in properties.items() if k in required},
        optional={k: from_schema(v, defs, pools) for k, v in properties.items() if k not in required},
    )
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):  # a map such as quiz answers: keys from the pool and anything else
        keys = st.one_of([text_values(0, 40)] + ([st.sampled_from(pools.keys)] if pools.keys else []))
        mapping = st.dictionaries(keys, from_schema(extra, defs, pools), max_size=8)
        return st.builds(lambda a, b: {**b, **a}, fixed, mapping)
    return fixed


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    """Any JSON value (small)."""
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                       text_values(0, 40))
    return st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(text_values(0, 12), inner, max_size=4)),
                        max_leaves=max_leaves)


def other_type_value(value: Any) -> st.SearchStrategy[Any]:
    """A value of a different JSON type than ``value`` (strict inputs must refuse it)."""
    candidates: list[st.SearchStrategy[Any]] = []
    if not isinstance(value, str):
        candidates.append(st.sampled_from(["", "5", "true", "null", "2024-01-01", "x" * 20]))
    if isinstance(value, bool) or not isinstance(value, int | float):
        candidates.append(st.sampled_from([0, 1, -1, 2**31, 2**63, 1.5, -0.0]))
    if not isinstance(value, bool):
        candidates.append(st.booleans())
    if not isinstance(value, list):
        candidates.append(st.sampled_from([[], [value], [[1]]]))
    if not isinstance(value, dict):
        candidates.append(st.sampled_from([{}, {"value": value}, {"$ref": "#"}]))
    if value is not None:
        candidates.append(st.none())
    return st.one_of(candidates)


def deep(depth: int, kind: str) -> Raw:
    """``depth`` nested arrays or objects as raw text (two to seven bytes a level)."""
    if kind == "array":
        return Raw("[" * depth + "]" * depth)
    return Raw('{"a":' * depth + "1" + "}" * depth)


def framed(type_: Any, ref: Any, data: Any, *, with_data: bool = True) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": type_, "ref": ref}
    if with_data:
        frame["data"] = data
    return frame


MUTATIONS: tuple[str, ...] = (
    "valid", "valid", "valid", "wrong_type", "missing", "extra", "huge", "deep", "unicode", "number_token",
    "duplicate_keys", "non_object_frame", "non_object_data", "ref_oddity", "type_oddity",
)


@st.composite
def fuzz_frames(draw: st.DrawFn, commands: dict[str, tuple[dict[str, Any], dict[str, Any]]], pools: Pools,
                ref: str, valid_only_invalid: Sequence[str] = ()) -> FuzzFrame:
    """One frame for one of ``commands`` (type -> (schema, $defs)), valid-ish or mutated.

    ``valid_only_invalid`` names commands whose valid input must not be sent (``account.delete`` would
    delete the fuzzing account): they get only mutations that make the data invalid.
    """
    command = draw(st.sampled_from(sorted(commands)))
    schema, defs = commands[command]
    mutation = draw(st.sampled_from(MUTATIONS))
    if command in valid_only_invalid and mutation not in ("extra", "non_object_data", "wrong_type_data"):
        mutation = draw(st.sampled_from(["extra", "non_object_data"]))
    data: dict[str, Any] = draw(from_schema(schema, defs, pools))
    required = [k for k in schema.get("required", []) if k in data]
    strings = [k for k, v in data.items() if isinstance(v, str)]
    frame: Any = None
    expect: frozenset[str] | None = None
    may_succeed = True
    reply_ref: str | int | None = ref
    ref_lost = False
    validation = frozenset({"validation_error"})

    if mutation == "valid":
        frame = framed(command, ref, data)
    elif mutation == "wrong_type":
        if data:
            key = draw(st.sampled_from(sorted(data)))
            data[key] = draw(other_type_value(data[key]))
        else:
            data["unexpected"] = draw(json_values())
            expect, may_succeed = validation, False
        frame = framed(command, ref, data)
    elif mutation == "missing":
        if required:
            del data[draw(st.sampled_from(required))]
            expect, may_succeed = validation, False
        frame = framed(command, ref, data)
    elif mutation == "extra":
        key = draw(st.one_of(st.sampled_from(["extra", "__proto__", "constructor", "$where", "user_id_", "ID"]),
                             text_values(1, 20)))
        if key in data or key in schema.get("properties", {}):
            key = "zz_" + key
        data[key] = draw(json_values())
        frame = framed(command, ref, data)
        expect, may_succeed = validation, False
    elif mutation == "huge":
        size = draw(st.integers(min_value=5_000, max_value=60_000))
        char = draw(st.sampled_from(["x", "é", "\u4e00", "\U0001f600", " "]))
        text = char * max(1, size // (len(dump(char)) - 2))  # escaped size, so the frame stays under the cap
        key = draw(st.sampled_from(strings)) if strings else "huge"
        data[key] = text
        frame = framed(command, ref, data)
    elif mutation == "deep":
        depth = draw(st.sampled_from([10, 100, 500, 999, 1_000, 1_001, 5_000, 20_000, 30_000]))
        kind = draw(st.sampled_from(["array", "object"]))
        if kind == "object":
            depth = min(depth, 9_000)
        key = draw(st.sampled_from(sorted(data))) if data else "nested"
        data[key] = deep(depth, kind)
        frame = framed(command, ref, data)
        expect = frozenset({"bad_request", "validation_error"})
        may_succeed, ref_lost = False, True
    elif mutation == "unicode":
        key = draw(st.sampled_from(strings)) if strings else draw(st.sampled_from(["note", "x"]))
        data[key] = draw(st.sampled_from(ODD_TEXT) | text_values(1, 30))
        frame = framed(command, ref, data)
    elif mutation == "number_token":
        token = draw(st.sampled_from(RAW_NUMBERS))
        key = draw(st.sampled_from(sorted(data))) if data else "n"
        data[key] = Raw(token)
        frame = framed(command, ref, data)
        if token in ("NaN", "-NaN", "Infinity", "-Infinity") or len(token) > 4300:
            # not JSON (or past Python's 4300-digit integer limit): the frame is unreadable, so no ref comes back
            reply_ref, expect, may_succeed = None, frozenset({"bad_request"}), False
    elif mutation == "duplicate_keys":
        where = draw(st.sampled_from(["type", "data", "field"]))
        if where == "type":
            other = draw(st.sampled_from(sorted(commands)))
            frame = Pairs((("type", other), ("ref", ref), ("data", data), ("type", command)))
        elif where == "data":
            frame = Pairs((("type", command), ("ref", ref), ("data", {"junk": 1}), ("data", data)))
        else:
            key = draw(st.sampled_from(sorted(data))) if data else "dup"
            first = draw(json_values())
            pairs = [(key, first), *data.items()]
            frame = Pairs((("type", command), ("ref", ref), ("data", Pairs(tuple(pairs)))))
    elif mutation == "non_object_frame":
        frame = draw(st.sampled_from([Raw("[]"), Raw("null"), Raw("true"), Raw("1"), Raw('"ping"'),
                                      Raw("[" + json.dumps({"type": command}) + "]"), Raw(""), Raw("  "),
                                      Raw("{"), Raw('{"type":"ping"'), Raw("\ufeff{}")]))
        reply_ref, expect, may_succeed = None, frozenset({"bad_request"}), False
    elif mutation == "non_object_data":
        bad = draw(st.sampled_from([[], [data], "data", 1, True, 1.5]))
        frame = framed(command, ref, bad)
        expect, may_succeed = frozenset({"bad_request"}), False
    elif mutation == "ref_oddity":
        odd_ref = draw(st.sampled_from([True, False, 1.5, {}, [], "r" * 129, -1, 2**70, "", "\u0000",
                                        "\ud800", 0]))
        frame = framed(command, odd_ref, data)
        if isinstance(odd_ref, bool) or not isinstance(odd_ref, str | int) or (
                isinstance(odd_ref, str) and len(odd_ref) > 128):
            reply_ref, expect, may_succeed = None, frozenset({"bad_request"}), False
        else:
            reply_ref = odd_ref
    else:  # type_oddity
        odd_types = ["", 123, None, True, [command], {"t": command}, command.upper(), command + " ", " " + command,
                     command + "\u0000", "no.such.command", command.replace(".", "/"), "__class__", "constructor"]
        odd_type = draw(st.sampled_from([t for t in odd_types if t != command]))
        frame = framed(odd_type, ref, data)
        expect, may_succeed = frozenset({"bad_request"}), False
    text = dump(frame)
    return FuzzFrame(command, mutation, text, reply_ref, expect, may_succeed, ref_lost)
