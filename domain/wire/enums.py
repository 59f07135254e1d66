"""The contract's closed vocabularies."""

from __future__ import annotations

from typing import Literal

MatchState = Literal["active", "unmatched", "archived", "dating", "deleted"]
UnmatchReason = Literal["not_interested", "no_response", "inappropriate", "met_offline", "other"]
ReportReason = Literal["fake_profile", "inappropriate_content", "harassment", "spam", "underage", "other"]
# what a stored report may carry: a user's category, or ``auto_flag`` for a report the filters filed (no reporter)
StoredReportReason = Literal["fake_profile", "inappropriate_content", "harassment", "spam", "underage", "other",
                             "auto_flag"]
SafetyFlag = Literal["link", "email", "phone", "handle"]  # contact shielding (CONTRACT section 3)
WordAction = Literal["block", "flag"]  # the content filter's two actions
Resolution = Literal["dismiss", "warn", "suspend", "ban"]
ActionKind = Literal["dismiss", "warn", "suspend", "ban", "remove_photo", "remove_prompt", "reinstate",
                     "approve_photo", "reject_photo"]
ModerationAct = Literal["warn", "suspend", "ban", "reinstate"]  # moderation.act: a decision without a report
PhotoReviewStatus = Literal["pending", "approved", "rejected"]  # photo review (docs/moderation.md)
PhotoDecision = Literal["approve", "reject"]
# why a photo was rejected: the violation types moderators choose from (docs/moderation.md "Photo review")
PhotoRejectReason = Literal["nudity", "violence", "not_a_person", "someone_else", "text_or_contact", "other"]
AccountStatus = Literal["active", "suspended", "banned", "deleted"]
Role = Literal["user", "moderator"]
Gender = Literal["woman", "man", "nonbinary"]
ErrorCode = Literal[
    "bad_request", "validation_error", "unauthorized", "token_reused", "forbidden", "not_found", "conflict",
    "email_taken", "invalid_credentials", "account_suspended", "rate_limited", "daily_limit_reached",
    "comment_required", "spam_detected", "photo_limit", "prompt_limit", "internal", "invalid_token",
    "content_blocked",
]
