"""Every REST route, with its body cap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from rest import auth, docs, email_verification, export, health, media, passwords, photos
from rest.body import JSON_BODY_LIMIT, BodyLimit
from rest.photos import MULTIPART_OVERHEAD

PHOTO_BODY_LIMIT = 10 * 1024 * 1024 + MULTIPART_OVERHEAD


def _json(path: str, endpoint: Callable[..., Any], methods: list[str]) -> Route:
    return Route(path, endpoint, methods=methods, middleware=[Middleware(BodyLimit, max_bytes=JSON_BODY_LIMIT)])


def rest_routes() -> list[BaseRoute]:
    """The REST surface of CONTRACT section 1, plus media files."""
    return [
        Route("/v1/health", health.health, methods=["GET"]),
        _json("/v1/auth/signup", auth.signup, ["POST"]),
        _json("/v1/auth/login", auth.login, ["POST"]),
        _json("/v1/auth/refresh", auth.refresh, ["POST"]),
        _json("/v1/auth/logout", auth.logout, ["POST"]),
        _json("/v1/auth/email/verify", email_verification.verify, ["POST"]),
        _json("/v1/auth/email/resend", email_verification.resend, ["POST"]),
        _json("/v1/auth/password/forgot", passwords.forgot, ["POST"]),
        _json("/v1/auth/password/reset", passwords.reset, ["POST"]),
        _json("/v1/auth/password/change", passwords.change, ["POST"]),
        Route("/v1/account/export", export.export, methods=["GET"]),
        Route("/v1/profile/photos", photos.list_photos, methods=["GET"]),
        Route("/v1/profile/photos", photos.upload_photo, methods=["POST"],
              middleware=[Middleware(BodyLimit, max_bytes=PHOTO_BODY_LIMIT)]),
        Route("/v1/profile/photos/{photo_id}", photos.delete_photo, methods=["DELETE"]),
        Route("/v1/openapi.json", docs.openapi_json, methods=["GET"]),
        Route("/v1/docs", docs.docs_page, methods=["GET"]),
        Route("/media/{key}", media.media, methods=["GET"]),
    ]

