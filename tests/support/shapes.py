"""Checking data against a wire shape (a ``domain/wire`` TypedDict or a pydantic model)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter, ValidationError


def shape_name(shape: Any) -> str:
    return str(getattr(shape, "__name__", shape))


def closed_match(shape: Any, data: Any) -> None:
    """``data`` validates strictly against ``shape`` and has no field the shape does not declare.

    Shapes that ignored unknown fields would hide a leak, so the validated value is dumped again and must equal
    the input: an extra field (an email in a card) makes the two differ.
    """
    adapter: TypeAdapter[Any] = TypeAdapter(shape)
    try:
        parsed = adapter.validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        raise AssertionError(f"{shape_name(shape)}: {exc}\n  data: {json.dumps(data)[:400]}") from None
    again = json.loads(adapter.dump_json(parsed, by_alias=True, exclude_unset=True))
    assert again == data, f"{shape_name(shape)}: fields outside the shape\n  sent: {data}\n  shape: {again}"
