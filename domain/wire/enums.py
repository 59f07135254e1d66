"""The contract's closed vocabularies."""

from __future__ import annotations

from typing import Literal

MatchState = Literal["active", "unmatched", "archived", "dating", "deleted"]
UnmatchReason = Literal["not_interested", "no_response", "inappropriate", "met_offline", "other"]
ReportReason = Literal["fake_profile", "inappropriate_content", "harassment", "spam", "underage", "other"]
Resolution = Literal["dismiss", "warn", "suspend", "ban"]
ActionKind = Literal["dismiss", "warn", "suspend", "ban", "remove_photo", "remove_prompt"]
AccountStatus = Literal["active", "suspended", "banned", "deleted"]
Role = Literal["user", "moderator"]
Gender = Literal["woman", "man", "nonbinary"]
ErrorCode = Literal[
    "bad_request", "validation_error", "unauthorized", "token_reused", "forbidden", "not_found", "conflict",
    "email_taken", "invalid_credentials", "account_suspended", "rate_limited", "daily_limit_reached",
    "comment_required", "spam_detected", "photo_limit", "prompt_limit", "internal", "invalid_token",
    "content_blocked",
]
