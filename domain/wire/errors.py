"""The error body of every HTTP error and every failed command (CONTRACT, top)."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import Field, with_config
from typing_extensions import TypedDict

from domain.wire.enums import ErrorCode
from domain.wire.scalars import CLOSED


@with_config(CLOSED)
class ErrorBody(TypedDict):
    code: ErrorCode
    message: Annotated[str, Field(description="for people; the code is for programs")]
    details: NotRequired[Annotated[dict[str, Any] | None, Field(
        description="for validation_error, `fields` names each offending field; rate_limited carries "
                    "retry_after_s")]]


@with_config(CLOSED)
class ErrorEnvelope(TypedDict):
    """``{"error": {...}}``: the body of every HTTP error."""

    error: ErrorBody
