"""Turning pydantic validation errors into the contract's ``details.fields``."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from domain.quoting import listed, quote


def validation_details(exc: ValidationError) -> dict[str, Any]:
    """``{"fields": {dotted.path: reason}}`` from a pydantic error (each step of a path quoted: unknown field
    names and map keys are the client's)."""
    fields: dict[str, str] = {}
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(quote(p) for p in err["loc"]) or "body"
        fields.setdefault(path, err["msg"])
    return {"fields": listed(fields)}
