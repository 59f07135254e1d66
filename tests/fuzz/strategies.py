"""Hypothesis strategies for socket frames: valid-ish command data from the input models, then mutations.

A frame is built as a small tree and written out by ``dump``, so that it can hold what ``json.dumps``
will not write: raw tokens (``NaN``, ``1e400``, ``[[[[…]]]]``) and duplicate keys. Strings are written
with ``ensure_ascii`` so lone surrogates travel as ``\\ud800`` escapes inside a valid UTF-8 text frame.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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
        return _string(schema, pools)
    if kind in _SCALARS:
        return _SCALARS[kind](schema)
    if kind == "array":
        items = from_schema(schema.get("items", {}), defs, pools)
        return st.lists(items, min_size=int(schema.get("minItems", 0)), max_size=int(schema.get("maxItems", 6)))
    if kind == "object" or "properties" in schema:
        return _object(schema, defs, pools)
    return json_values()


def _string(schema: dict[str, Any], pools: Pools) -> st.SearchStrategy[str]:
    if schema.get("format") == "uuid":
        ids = [st.uuids().map(str)] + ([st.sampled_from(pools.ids)] if pools.ids else [])
        return st.one_of(ids)
    low = int(schema.get("minLength", 0))
    high = min(int(schema.get("maxLength", MAX_TEXT)), MAX_TEXT)
    return text_values(low, max(low, high), pools)


# the JSON types whose values depend on the schema's bounds at most
_SCALARS: dict[str, Callable[[dict[str, Any]], st.SearchStrategy[Any]]] = {
    "integer": lambda schema: st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum")),
    "number": lambda schema: st.floats(min_value=schema.get("minimum"), max_value=schema.get("maximum"),
                                       allow_nan=False, allow_infinity=False),
    "boolean": lambda _: st.booleans(),
    "null": lambda _: st.none(),
}


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


@dataclass
class Draft:
    """A command's data before a mutation, and what the mutation may need of its command."""

    command: str
    schema: dict[str, Any]
    commands: Sequence[str]  # every command type, sorted
    data: dict[str, Any]
    ref: str

    @property
    def required(self) -> list[str]:
        return [k for k in self.schema.get("required", []) if k in self.data]

    @property
    def strings(self) -> list[str]:
        return [k for k, v in self.data.items() if isinstance(v, str)]

    def any_key(self, draw: st.DrawFn, default: str) -> str:
        """One of the data's keys, or ``default`` when there is none."""
        return draw(st.sampled_from(sorted(self.data))) if self.data else default

    def sent(self, frame: Any, expect: frozenset[str] | None = None, may_succeed: bool = True,
             ref_lost: bool = False) -> Mutated:
        """A frame whose reply must echo the draft's ref."""
        return Mutated(frame, self.ref, expect, may_succeed, ref_lost)


@dataclass(frozen=True)
class Mutated:
    """A mutated frame and what its reply may be (see ``FuzzFrame``)."""

    frame: Any
    reply_ref: str | int | None
    expect: frozenset[str] | None = None
    may_succeed: bool = True
    ref_lost: bool = False


VALIDATION = frozenset({"validation_error"})
BAD_REQUEST = frozenset({"bad_request"})


def unreadable(frame: Any) -> Mutated:
    """A frame the server cannot read far enough to find a ref: ``bad_request`` without one."""
    return Mutated(frame, None, BAD_REQUEST, False)


def _valid(draw: st.DrawFn, d: Draft) -> Mutated:
    return d.sent(framed(d.command, d.ref, d.data))


def _wrong_type(draw: st.DrawFn, d: Draft) -> Mutated:
    if d.data:
        key = draw(st.sampled_from(sorted(d.data)))
        d.data[key] = draw(other_type_value(d.data[key]))
        return d.sent(framed(d.command, d.ref, d.data))
    d.data["unexpected"] = draw(json_values())
    return d.sent(framed(d.command, d.ref, d.data), VALIDATION, False)


def _missing(draw: st.DrawFn, d: Draft) -> Mutated:
    required = d.required
    if not required:
        return d.sent(framed(d.command, d.ref, d.data))
    del d.data[draw(st.sampled_from(required))]
    return d.sent(framed(d.command, d.ref, d.data), VALIDATION, False)


def _extra(draw: st.DrawFn, d: Draft) -> Mutated:
    key = draw(st.one_of(st.sampled_from(["extra", "__proto__", "constructor", "$where", "user_id_", "ID"]),
                         text_values(1, 20)))
    if key in d.data or key in d.schema.get("properties", {}):
        key = "zz_" + key
    d.data[key] = draw(json_values())
    return d.sent(framed(d.command, d.ref, d.data), VALIDATION, False)


def _huge(draw: st.DrawFn, d: Draft) -> Mutated:
    size = draw(st.integers(min_value=5_000, max_value=60_000))
    char = draw(st.sampled_from(["x", "é", "\u4e00", "\U0001f600", " "]))
    text = char * max(1, size // (len(dump(char)) - 2))  # escaped size, so the frame stays under the cap
    strings = d.strings
    key = draw(st.sampled_from(strings)) if strings else "huge"
    d.data[key] = text
    return d.sent(framed(d.command, d.ref, d.data))


def _deep(draw: st.DrawFn, d: Draft) -> Mutated:
    depth = draw(st.sampled_from([10, 100, 500, 999, 1_000, 1_001, 5_000, 20_000, 30_000]))
    kind = draw(st.sampled_from(["array", "object"]))
    if kind == "object":
        depth = min(depth, 9_000)
    key = d.any_key(draw, "nested")
    d.data[key] = deep(depth, kind)
    return d.sent(framed(d.command, d.ref, d.data), frozenset({"bad_request", "validation_error"}), False, True)


def _unicode(draw: st.DrawFn, d: Draft) -> Mutated:
    strings = d.strings
    key = draw(st.sampled_from(strings)) if strings else draw(st.sampled_from(["note", "x"]))
    d.data[key] = draw(st.sampled_from(ODD_TEXT) | text_values(1, 30))
    return d.sent(framed(d.command, d.ref, d.data))


def _number_token(draw: st.DrawFn, d: Draft) -> Mutated:
    token = draw(st.sampled_from(RAW_NUMBERS))
    key = d.any_key(draw, "n")
    d.data[key] = Raw(token)
    frame = framed(d.command, d.ref, d.data)
    if token in ("NaN", "-NaN", "Infinity", "-Infinity") or len(token) > 4300:
        # not JSON (or past Python's 4300-digit integer limit): the frame is unreadable, so no ref comes back
        return unreadable(frame)
    return d.sent(frame)


def _duplicate_keys(draw: st.DrawFn, d: Draft) -> Mutated:
    where = draw(st.sampled_from(["type", "data", "field"]))
    if where == "type":
        other = draw(st.sampled_from(d.commands))
        return d.sent(Pairs((("type", other), ("ref", d.ref), ("data", d.data), ("type", d.command))))
    if where == "data":
        return d.sent(Pairs((("type", d.command), ("ref", d.ref), ("data", {"junk": 1}), ("data", d.data))))
    key = d.any_key(draw, "dup")
    first = draw(json_values())
    pairs = [(key, first), *d.data.items()]
    return d.sent(Pairs((("type", d.command), ("ref", d.ref), ("data", Pairs(tuple(pairs))))))


def _non_object_frame(draw: st.DrawFn, d: Draft) -> Mutated:
    return unreadable(draw(st.sampled_from([Raw("[]"), Raw("null"), Raw("true"), Raw("1"), Raw('"ping"'),
                                            Raw("[" + json.dumps({"type": d.command}) + "]"), Raw(""), Raw("  "),
                                            Raw("{"), Raw('{"type":"ping"'), Raw("\ufeff{}")])))


def _non_object_data(draw: st.DrawFn, d: Draft) -> Mutated:
    bad = draw(st.sampled_from([[], [d.data], "data", 1, True, 1.5]))
    return d.sent(framed(d.command, d.ref, bad), BAD_REQUEST, False)


def _ref_oddity(draw: st.DrawFn, d: Draft) -> Mutated:
    odd_ref = draw(st.sampled_from([True, False, 1.5, {}, [], "r" * 129, -1, 2**70, "", "\u0000",
                                    "\ud800", 0]))
    frame = framed(d.command, odd_ref, d.data)
    if isinstance(odd_ref, bool) or not isinstance(odd_ref, str | int) or (
            isinstance(odd_ref, str) and len(odd_ref) > 128):
        return unreadable(frame)
    return Mutated(frame, odd_ref)


def _type_oddity(draw: st.DrawFn, d: Draft) -> Mutated:
    command = d.command
    odd_types = ["", 123, None, True, [command], {"t": command}, command.upper(), command + " ", " " + command,
                 command + "\u0000", "no.such.command", command.replace(".", "/"), "__class__", "constructor"]
    odd_type = draw(st.sampled_from([t for t in odd_types if t != command]))
    return d.sent(framed(odd_type, d.ref, d.data), BAD_REQUEST, False)


MUTATORS: dict[str, Callable[[st.DrawFn, Draft], Mutated]] = {
    "valid": _valid, "wrong_type": _wrong_type, "missing": _missing, "extra": _extra, "huge": _huge,
    "deep": _deep, "unicode": _unicode, "number_token": _number_token, "duplicate_keys": _duplicate_keys,
    "non_object_frame": _non_object_frame, "non_object_data": _non_object_data, "ref_oddity": _ref_oddity,
    "type_oddity": _type_oddity,
}


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
    mutated = MUTATORS[mutation](draw, Draft(command, schema, sorted(commands), data, ref))
    return FuzzFrame(command, mutation, dump(mutated.frame), mutated.reply_ref, mutated.expect, mutated.may_succeed,
                     mutated.ref_lost)
