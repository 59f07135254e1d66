"""Reading the service's machine-readable documents (OpenAPI, AsyncAPI) in tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx


async def get_document(http: httpx.AsyncClient, path: str) -> dict[str, Any]:
    """GET a JSON document, asserting 200 and a JSON content type."""
    resp = await http.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = resp.json()
    return doc


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value anywhere in ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer such as ``#/components/schemas/Photo``."""
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node
