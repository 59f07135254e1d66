"""GET /v1/openapi.json and GET /v1/docs (a self-contained page rendered from the same document)."""

from __future__ import annotations

import json
from functools import cache
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from rest.context import deps
from rest.openapi import build_openapi

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"


@cache
def _document(version: str) -> dict[str, Any]:
    return build_openapi(version)


async def openapi_json(request: Request) -> Response:
    return JSONResponse(_document(deps(request).config.version))


def render_docs(doc: dict[str, Any]) -> str:
    """A readable HTML page of every operation, its body and its answers."""
    rows = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            answers = "".join(f"<li><code>{escape(code)}</code> {escape(r['description'])}</li>"
                              for code, r in op["responses"].items())
            body = op.get("requestBody", {}).get("content", {})
            body_html = "".join(f"<p>Body: <code>{escape(kind)}</code> "
                                f"<code>{escape(json.dumps(spec['schema']))}</code></p>" for kind, spec in body.items())
            lock = " 🔒 bearer" if op.get("security") else ""
            rows.append(f"<section><h2><span class='m'>{method.upper()}</span> <code>{escape(path)}</code>{lock}</h2>"
                        f"<p>{escape(op['summary'])}</p>{body_html}<ul>{answers}</ul></section>")
    schemas = "".join(f"<details><summary><code>{escape(name)}</code></summary><pre>"
                      f"{escape(json.dumps(schema, indent=2))}</pre></details>"
                      for name, schema in doc["components"]["schemas"].items())
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(doc['info']['title'])}"
            "</title><style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
            "section{border-top:1px solid #ddd;padding:.5rem 0}.m{display:inline-block;min-width:4.5rem;"
            "color:#a00}code{background:#f4f4f4;padding:0 .2rem}pre{background:#f4f4f4;padding:.5rem;"
            "overflow:auto}</style></head><body>"
            f"<h1>{escape(doc['info']['title'])} <small>{escape(doc['info']['version'])}</small></h1>"
            f"<p>{escape(doc['info']['description'])} Machine-readable: <a href='/v1/openapi.json'>"
            f"/v1/openapi.json</a> (OpenAPI {escape(doc['openapi'])}).</p>{''.join(rows)}"
            f"<h2>Schemas</h2>{schemas}</body></html>")


async def docs_page(request: Request) -> Response:
    html = render_docs(_document(deps(request).config.version))
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP})
