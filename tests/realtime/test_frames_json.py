"""Frames and events are read and written by orjson, falling back to ``json`` wherever the two would differ:
what a client sends means what ``json`` says it means, and what goes out is valid JSON that reads back equal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from domain.events import wire
from realtime.frames import FrameError, parse


def test_a_long_integer_keeps_every_digit() -> None:
    """orjson alone reads integers past 64 bits as floats (1.2345678901234568e+29)."""
    frame = parse('{"type": "sync", "ref": 1, "data": {"after": 123456789012345678901234567890}}')
    assert frame.data["after"] == 123456789012345678901234567890 and isinstance(frame.data["after"], int)
    assert wire.loads('{"n": -98765432109876543210987}') == {"n": -98765432109876543210987}


@pytest.mark.parametrize("text", ['{"type": "ping", "data": {"x": NaN}}', '{"type": "ping", "data": {"x": -Infinity}}',
                                  '{"type": "ping"', '{"type": "ping"} trailing', "\ufeff{}"])
def test_what_json_refuses_stays_refused(text: str) -> None:
    with pytest.raises(FrameError, match="not valid JSON"):
        parse(text)


def test_an_escaped_lone_surrogate_is_read_and_reported_by_path() -> None:
    frame = parse('{"type": "messages.send", "data": {"body": "a \\ud800 b", "ok": "\\ud83d\\ude00"}}')
    assert frame.data["body"] == "a \ud800 b" and frame.data["ok"] == "\U0001f600"
    assert frame.invalid_text == ("body",)


@pytest.mark.parametrize("value", [
    {"type": "message.created", "data": {"body": "é ü 日本 😀 / <script> \u2028 \x1f \" \\", "n": 7, "ok": True,
                                          "none": None, "list": [1, 2.5, -0.001, 1e16, 1e-7], "nested": {"a": []}}},
    {"big": 2**70, "negative_big": -(2**65)},
    {1: "an integer key", "x": (1, 2)},
])
def test_written_json_reads_back_as_the_same_value(value: dict[Any, Any]) -> None:
    assert json.loads(wire.dumps(value)) == json.loads(json.dumps(value))


def test_written_json_is_compact_and_keeps_text_as_it_is() -> None:
    assert wire.dumps({"a": [1, {"b": "c d é"}], "t": True}) == '{"a":[1,{"b":"c d é"}],"t":true}'


def test_unpaired_surrogates_are_escaped_to_ascii_and_datetimes_refused() -> None:
    text = wire.dumps({"echo": "bad \ud800 text", "fine": "é"})
    assert text.isascii() and json.loads(text) == {"echo": "bad \ud800 text", "fine": "é"}
    text.encode("utf-8")  # always sendable
    with pytest.raises(TypeError):  # datetimes must be made strings first (rfc3339), as with json
        wire.dumps({"at": datetime.now(UTC)})


def test_stored_json_reads_as_written() -> None:
    """The database's json columns are read by orjson; what it refuses is read by json."""
    value = {"photos": [{"id": "3f2a9c1e-0000-4000-8000-000000000000", "position": 1}], "text": "é 😀", "n": 2**63}
    assert wire.loads_stored(wire.dumps(value)) == value
    assert wire.loads_stored('{"x": 1e400}') == {"x": float("inf")}  # jsonb's numeric allows it; json reads inf
