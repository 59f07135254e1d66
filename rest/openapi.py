"""The OpenAPI 3.1 document of the REST surface, generated from the pydantic models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.wire.errors import ErrorEnvelope
from domain.wire.export import AccountExport
from domain.wire.http import Health, PhotoList, Tokens
from domain.wire.objects import Photo
from domain.wire.replies import Empty, UserReply
from domain.wire.schemas import json_schemas
from rest import schemas as s


@dataclass(frozen=True)
class Operation:
    """One documented endpoint."""

    method: str
    path: str
    summary: str
    success: int
    response: Any = None  # a wire shape (domain/wire)
    body: Any = None  # a request model (rest/schemas.py)
    multipart: bool = False
    auth: bool = False
    errors: dict[int, str] = field(default_factory=dict)


OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/v1/health", "Service health with database and Redis checks", 200, Health,
              errors={503: "a dependency is down (`status: degraded`)"}),
    Operation("post", "/v1/auth/signup", "Create an account (18+) and log in", 201, Tokens, s.SignupIn,
              errors={400: "malformed JSON", 409: "`email_taken`", 422: "`validation_error`, under 18"}),
    Operation("post", "/v1/auth/login", "Log in with email and password", 200, Tokens, s.LoginIn,
              errors={401: "`invalid_credentials`", 403: "`account_suspended`",
                      429: "`rate_limited` after repeated failures (Retry-After)"}),
    Operation("post", "/v1/auth/refresh", "Rotate a refresh token", 200, Tokens, s.RefreshIn,
              errors={401: "`unauthorized`, or `token_reused` (the whole login is revoked)"}),
    Operation("post", "/v1/auth/logout", "Revoke the login of a refresh token", 204, None, s.RefreshIn,
              errors={401: "`unauthorized`"}),
    Operation("post", "/v1/auth/email/verify", "Verify my email address with the token of the verification mail",
              200, UserReply, s.TokenIn, errors={400: "`invalid_token`: unknown, used, superseded or expired (48 h)"}),
    Operation("post", "/v1/auth/email/resend", "Send a new verification mail (earlier links stop working)", 202,
              Empty, auth=True, errors={429: "`rate_limited`: 3 an hour (Retry-After)"}),
    Operation("post", "/v1/auth/password/forgot", "Mail a password reset link (the same answer for any email)", 202,
              Empty, s.EmailIn),
    Operation("post", "/v1/auth/password/reset", "Set a new password with the token of the reset mail", 200, Tokens,
              s.ResetIn, errors={400: "`invalid_token`: unknown, used, superseded or expired (30 min)",
                                 403: "`account_suspended`", 422: "`validation_error`: the password's rules"}),
    Operation("post", "/v1/auth/password/change", "Change my password (every other login is signed out)", 200,
              Tokens, s.ChangePasswordIn, auth=True,
              errors={401: "`invalid_credentials`: the current password is wrong; or no valid access token",
                      422: "`validation_error`: the new password's rules",
                      429: "`rate_limited` after repeated failures, as login (Retry-After)"}),
    Operation("get", "/v1/account/export", "Download everything stored about me (JSON attachment)", 200,
              AccountExport, auth=True, errors={429: "`rate_limited`: one export an hour (Retry-After)"}),
    Operation("get", "/v1/profile/photos", "List my photos", 200, PhotoList, auth=True),
    Operation("post", "/v1/profile/photos", "Upload a photo (JPEG, PNG or WebP, at most 10 MiB)", 201,
              Photo, multipart=True, auth=True,
              errors={400: "`bad_request`: a malformed multipart body", 408: "`bad_request`: the body came too slowly",
                      409: "`photo_limit` (6 photos)", 413: "over 10 MiB or too many pixels",
                      415: "not a JPEG, PNG or WebP image", 422: "`validation_error`: no `file` field"}),
    Operation("delete", "/v1/profile/photos/{photo_id}", "Delete one of my photos", 204, auth=True,
              errors={404: "`not_found` (also for anyone else's photo)"}),
)


def build_openapi(version: str) -> dict[str, Any]:
    """Assemble the document (cheap; cached by the caller)."""
    shapes = {m for op in OPERATIONS for m in (op.response, op.body) if m is not None} | {ErrorEnvelope}
    _, defs = json_schemas(shapes, "#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        responses: dict[str, Any] = {}
        if op.response is not None:
            responses[str(op.success)] = {"description": "success", "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{op.response.__name__}"}}}}
        else:
            responses[str(op.success)] = {"description": "success, no body"}
        errors = dict(op.errors)
        if op.body is not None:
            errors.setdefault(400, "`bad_request`: the body is not a JSON object")
            errors.setdefault(413, "`bad_request`: the body is over 64 KiB")
            errors.setdefault(422, "`validation_error`: `details.fields` names each offending field")
        if op.auth:
            errors.setdefault(401, "missing, invalid or expired access token")
        for status, text in sorted(errors.items()):
            responses[str(status)] = {"description": text, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
        entry: dict[str, Any] = {"summary": op.summary, "operationId": f"{op.method}_{op.path}",
                                 "responses": responses}
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}}}
        if op.multipart:
            entry["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}}}}}}
        if op.auth:
            entry["security"] = [{"bearer": []}]
        if "{photo_id}" in op.path:
            entry["parameters"] = [{"name": "photo_id", "in": "path", "required": True,
                                    "schema": {"type": "string", "format": "uuid"}}]
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Delete API (REST)", "version": version,
                 "description": "The small REST surface. The app's main line is the WebSocket `/v1/ws`."},
        "paths": paths,
        "components": {"schemas": defs,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }
