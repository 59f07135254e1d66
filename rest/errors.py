"""The contract's error shape for every HTTP error, and the map from domain errors to statuses."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain import errors as e
from infra.outages import is_unavailable

log = logging.getLogger("rest.errors")

# walked along the MRO: the most specific class wins
STATUS_BY_ERROR: dict[type[e.DomainError], int] = {
    e.PayloadTooLarge: 413,
    e.RequestTimeout: 408,
    e.BadRequest: 400,
    e.UnsupportedMedia: 415,
    e.ValidationFailed: 422,
    e.Unauthorized: 401,
    e.InvalidCredentials: 401,
    e.AccountSuspended: 403,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.InvalidToken: 400,
    e.RateLimited: 429,
    e.DailyLimitReached: 429,
    e.CommentRequired: 422,
    e.ContentBlocked: 422,
    e.SpamDetected: 422,
}

HTTP_CODES = {400: "bad_request", 408: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "bad_request", 409: "conflict", 413: "bad_request", 415: "validation_error",
              422: "validation_error", 429: "rate_limited"}


def status_for(exc: e.DomainError) -> int:
    """The HTTP status of a domain error (500 if unmapped)."""
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    """``{"error": {"code", "message", "details"?}}`` with ``status``."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.DomainError)
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, e.RateLimited) else None
    if isinstance(exc, e.Unauthorized):
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse({"error": exc.to_dict()}, status_code=status_for(exc), headers=headers)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        message = "no such resource"
    elif exc.status_code == 405:
        message = "method not allowed"
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal", "something went wrong on our side")


class CatchAll:
    """Answer any unhandled error in the contract's shape without re-raising.

    Starlette's outermost error middleware re-raises after its 500, which makes uvicorn
    drop a keep-alive connection; answering here keeps the connection usable. A
    dependency outage is 503 (``internal``), anything else 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                raise
            if is_unavailable(exc):
                log.warning("%s %s: dependency unavailable (%s)", scope.get("method"), scope.get("path"),
                            type(exc).__name__)
                response = error_response(503, "internal", "a dependency is unavailable right now; retry shortly",
                                          headers={"Retry-After": "2"})
            else:
                log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
                response = error_response(500, "internal", "something went wrong on our side")
            await response(scope, receive, send)
