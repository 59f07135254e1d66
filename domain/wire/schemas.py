"""JSON Schemas of wire shapes, for the protocol documents and the generated client types."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter


def json_schemas(shapes: set[Any], ref_template: str) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """A ``$ref`` to each of ``shapes`` (TypedDicts or pydantic models) and the named schemas they need.

    Names are the shapes' class names (the client types use them), so two shapes must not share one:
    pydantic would otherwise qualify both with their modules.
    """
    ordered = sorted(shapes, key=lambda shape: (shape.__module__, shape.__qualname__))
    refs, defs = TypeAdapter.json_schemas([(shape, "validation", TypeAdapter(shape)) for shape in ordered],
                                          ref_template=ref_template)
    named = defs.get("$defs", {})
    titles = [shape.__name__ for shape in ordered]
    clashes = sorted({title for title in titles if titles.count(title) > 1} | {n for n in named if "__" in n})
    if clashes:
        raise ValueError(f"two wire shapes share the name(s) {clashes}: rename one")
    return {shape: refs[(shape, "validation")] for shape in ordered}, named
