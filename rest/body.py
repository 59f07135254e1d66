"""Request bodies: a size cap that answers in the contract's shape, and strict JSON parsing."""

from __future__ import annotations

import asyncio
import time
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.errors import BadRequest, PayloadTooLarge, RequestTimeout, ValidationFailed
from infra.validation_details import validation_details

JSON_BODY_LIMIT = 64 * 1024
CHUNK_IDLE_S = 20.0
RATE_GRACE_S = 10.0
MIN_RATE_BPS = 240  # as Kestrel's default minimum request body data rate

M = TypeVar("M", bound=BaseModel)


class BodyLimit:
    """Refuse bodies over ``max_bytes`` (declared or streamed) with 413 before they are read whole,
    and bodies that come too slowly with 408: each chunk within ``CHUNK_IDLE_S``, and after
    ``RATE_GRACE_S`` at least ``MIN_RATE_BPS`` on average (a slow-drip client cannot hold a worker)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                raise PayloadTooLarge(f"request body is over {self.max_bytes} bytes",
                                      {"limit_bytes": self.max_bytes})
        received = 0
        started = time.monotonic()

        async def limited_receive() -> Message:
            nonlocal received
            try:
                async with asyncio.timeout(CHUNK_IDLE_S):
                    message = await receive()
            except TimeoutError:
                raise RequestTimeout("the request body stopped arriving") from None
            elapsed = time.monotonic() - started
            if elapsed > RATE_GRACE_S and received < MIN_RATE_BPS * elapsed and message.get("more_body"):
                raise RequestTimeout(f"the request body is arriving slower than {MIN_RATE_BPS} bytes/s")
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PayloadTooLarge(f"request body is over {self.max_bytes} bytes",
                                          {"limit_bytes": self.max_bytes})
            return message

        await self.app(scope, limited_receive, send)


def parse_model(model: type[M], raw: bytes | str) -> M:
    """Validate a JSON document into ``model``: bad JSON is ``bad_request``, bad fields ``validation_error``."""
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        kinds = {err["type"] for err in exc.errors(include_url=False, include_input=False)}
        if "json_invalid" in kinds:
            raise BadRequest("body is not valid JSON") from None
        if "model_type" in kinds or "model_attributes_type" in kinds:
            raise BadRequest("body must be a JSON object") from None
        details = validation_details(exc)
        raise ValidationFailed("invalid fields: " + ", ".join(details["fields"]), details) from None


async def read_json(request: Request, model: type[M]) -> M:
    """Read the request body (capped by the route) and validate it into ``model``."""
    return parse_model(model, await request.body())
