"""Checking REST answers in tests."""

from __future__ import annotations

import httpx


def assert_error(resp: httpx.Response, status: int, code: str) -> dict:
    """``resp`` is the contract's error shape with ``status`` and ``code`` and a message; return the error."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]
