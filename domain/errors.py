"""Domain errors: each carries a stable contract ``code``, never an HTTP status.

    DomainError                      code
    ├── BadRequest                   bad_request
    │   ├── PayloadTooLarge          bad_request (REST: 413)
    │   └── RequestTimeout           bad_request (REST: 408)
    ├── ValidationFailed             validation_error
    │   └── UnsupportedMedia         validation_error (REST: 415)
    ├── Unauthorized                 unauthorized
    │   └── TokenReused              token_reused
    ├── InvalidCredentials           invalid_credentials
    ├── AccountSuspended             account_suspended
    ├── Forbidden                    forbidden
    ├── NotFound                     not_found
    ├── Conflict                     conflict
    │   ├── EmailTaken               email_taken
    │   ├── PhotoLimit               photo_limit
    │   └── PromptLimit              prompt_limit
    ├── InvalidToken                 invalid_token (REST: 400)
    ├── RateLimited                  rate_limited (carries retry_after_s)
    ├── DailyLimitReached            daily_limit_reached
    ├── CommentRequired              comment_required
    ├── SpamDetected                 spam_detected
    └── ContentBlocked               content_blocked (details.field; REST: 422)

REST (``rest/errors.py``) and the socket map these by class, walking the MRO.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from domain.wire.enums import ErrorCode
from domain.wire.errors import ErrorBody


class DomainError(Exception):
    """Base of every error a user can be shown; ``message`` is human text, ``details`` optional."""

    code: ClassVar[ErrorCode] = "internal"
    keep_changes = False  # True: the unit of work commits what was written before raising

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> ErrorBody:
        """The contract's error object: ``{"code", "message", "details"?}``."""
        body: ErrorBody = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class BadRequest(DomainError):
    code = "bad_request"


class PayloadTooLarge(BadRequest):
    """The body or upload is over its size cap."""


class RequestTimeout(BadRequest):
    """The body arrived too slowly (REST: 408)."""


class ValidationFailed(DomainError):
    """Input fields are wrong; ``details["fields"]`` maps each offending field to a reason."""

    code = "validation_error"

    @classmethod
    def field(cls, name: str, reason: str) -> ValidationFailed:
        return cls(f"{name}: {reason}", {"fields": {name: reason}})


class UnsupportedMedia(ValidationFailed):
    """An upload that is not an accepted image (judged by content)."""


class Unauthorized(DomainError):
    code: ClassVar[ErrorCode] = "unauthorized"  # annotated again: a subclass has another code


class TokenReused(Unauthorized):
    """A refresh token presented a second time; its whole family is revoked (and that is kept)."""

    code = "token_reused"
    keep_changes = True


class InvalidCredentials(DomainError):
    code = "invalid_credentials"


class AccountSuspended(DomainError):
    code = "account_suspended"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code: ClassVar[ErrorCode] = "conflict"  # annotated again: subclasses have other codes


class EmailTaken(Conflict):
    code = "email_taken"


class PhotoLimit(Conflict):
    code = "photo_limit"


class PromptLimit(Conflict):
    code = "prompt_limit"


class InvalidToken(DomainError):
    """A mailed link's token (email verification, password reset) that is unknown, used, superseded or expired."""

    code = "invalid_token"


class RateLimited(DomainError):
    """Too many attempts; retry after ``retry_after_s`` seconds (whole, at least 1)."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: float) -> None:
        self.retry_after_s = max(1, math.ceil(retry_after_s))  # never tell a client to retry too early
        super().__init__(message, {"retry_after_s": self.retry_after_s})


class DailyLimitReached(DomainError):
    code = "daily_limit_reached"


class CommentRequired(DomainError):
    code = "comment_required"


class SpamDetected(DomainError):
    code = "spam_detected"


class ContentBlocked(DomainError):
    """Text that a ``block`` pattern of the content filter matched (docs/safety.md); ``details.field`` names it."""

    code = "content_blocked"

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} contains words that are not allowed here", {"field": field})
