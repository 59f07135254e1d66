"""CONTRACT: every HTTP error has the one error shape; unknown paths, wrong methods, no trailing slashes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

CONTRACT_CODES = {
    "bad_request", "validation_error", "unauthorized", "token_reused", "forbidden", "not_found", "conflict",
    "email_taken", "invalid_credentials", "account_suspended", "rate_limited", "daily_limit_reached",
    "comment_required", "spam_detected", "photo_limit", "prompt_limit", "internal",
}


def assert_error_shape(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """``resp`` is ``status`` with a JSON body of exactly ``{"error": {"code", "message", "details"?}}``."""
    assert resp.status_code == status, (resp.status_code, resp.headers.get("location"), resp.text)
    assert resp.headers["content-type"].split(";")[0].strip() == "application/json"
    body = resp.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert {"code", "message"} <= set(error) <= {"code", "message", "details"}
    assert error["code"] == code and code in CONTRACT_CODES
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error.get("details", {}), dict)
    return error


@pytest.mark.parametrize("path", ["/v1/nope", "/nope", "/", "/v1", "/v1/profile/photos/a/b", "/v2/health"])
async def test_unknown_path_is_404_in_the_error_shape(http: httpx.AsyncClient, path: str) -> None:
    """A path the API does not have answers 404 not_found in the error shape."""
    assert_error_shape(await http.get(path), 404, "not_found")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", "/v1/auth/login", "POST"),
    ("GET", "/v1/auth/signup", "POST"),
    ("DELETE", "/v1/health", "GET"),
    ("POST", "/v1/health", "GET"),
    ("PUT", "/v1/profile/photos", "GET"),
    ("GET", "/v1/profile/photos/6f1c2b1e-0000-4000-8000-000000000000", "DELETE"),
    ("POST", "/v1/openapi.json", "GET"),
])
async def test_wrong_method_is_405_in_the_error_shape(http: httpx.AsyncClient, method: str, path: str,
                                                      allowed: str) -> None:
    """A known path with a method it does not serve is 405 in the error shape, with an Allow header."""
    resp = await http.request(method, path)
    assert_error_shape(resp, 405, "bad_request")
    assert allowed in [m.strip() for m in resp.headers.get("allow", "").split(",")]


@pytest.mark.parametrize("path", ["/v1/health/", "/v1/profile/photos/", "/v1/openapi.json/", "/v1/docs/"])
async def test_trailing_slash_is_404_not_a_redirect(http: httpx.AsyncClient, path: str) -> None:
    """The contract has no trailing slashes: "/v1/health/" is an unknown path (404), not a redirect."""
    assert_error_shape(await http.get(path, follow_redirects=False), 404, "not_found")


async def test_trailing_slash_post_is_not_redirected(http: httpx.AsyncClient) -> None:
    """POST /v1/auth/login/ is 404 too: a client is never bounced to another URL with its password."""
    resp = await http.post("/v1/auth/login/", json={"email": "a@b.test", "password": "whatever1"},
                           follow_redirects=False)
    assert_error_shape(resp, 404, "not_found")


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), [
    ("GET", "/v1/missing", {}, 404, "not_found"),
    ("DELETE", "/v1/health", {}, 405, "bad_request"),
    ("GET", "/v1/profile/photos", {}, 401, "unauthorized"),
    ("GET", "/v1/profile/photos", {"headers": {"Authorization": "Bearer x.y.z"}}, 401, "unauthorized"),
    ("DELETE", "/v1/profile/photos/abc", {}, 401, "unauthorized"),
    ("POST", "/v1/auth/signup", {"json": {}}, 422, "validation_error"),
    ("POST", "/v1/auth/login", {"content": b"{oops", "headers": {"Content-Type": "application/json"}},
     400, "bad_request"),
    ("POST", "/v1/auth/login", {"content": b'{"email": "' + b"a" * 70_000 + b'"}'}, 413, "bad_request"),
    ("POST", "/v1/auth/refresh", {"json": {"refresh_token": "nope"}}, 401, "unauthorized"),
    ("GET", "/media/doesnotexistdoesnotexistdoesnot.jpg", {}, 404, "not_found"),
], ids=["404", "405", "401-missing", "401-bad", "401-delete", "422", "400", "413", "401-refresh", "404-media"])
async def test_every_error_is_json_with_only_the_error_key(http: httpx.AsyncClient, method: str, path: str,
                                                           kwargs: dict[str, Any], status: int, code: str) -> None:
    """Errors of every kind are application/json with exactly {"error": {"code", "message"}} (details optional)."""
    assert_error_shape(await http.request(method, path, **kwargs), status, code)


async def test_head_of_unknown_path_is_404(http: httpx.AsyncClient) -> None:
    """HEAD of an unknown path is 404 with the JSON content type (and, being HEAD, no body)."""
    resp = await http.head("/v1/nope")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.content == b""
