"""JWT access and refresh tokens: pure encode/decode, the algorithm pinned by configuration.

PyJWT signs every token. Verifying one is on every socket connect, so for the HMAC algorithms (HS256, the
default, HS384, HS512: the only ones configuration allows, ``HMAC_DIGESTS``) ``decode`` checks it here with
the standard library, strictly — three base64url segments, an HMAC over the first two compared in constant
time, a header of ``alg`` (the configured one) and optionally ``typ``, the claims PyJWT would check — in
about half of PyJWT's time (PyJWT prepares the key, looks the algorithm up and merges options on every
call). PyJWT's own verification stays as the reference: ``decode`` uses it for any other algorithm a
``TokenConfig`` is given, and tests/domain/test_token_verification.py checks both accept and refuse the same
tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

from domain.errors import Unauthorized

TokenType = Literal["access", "refresh"]
IAT_LEEWAY_S = 30  # a token issued by a node whose clock runs a little ahead is still good
ALLOWED_HEADER_KEYS = frozenset({"alg", "typ"})
REQUIRED_CLAIMS = ("sub", "type", "jti", "fam", "iat", "exp")
HMAC_DIGESTS: dict[str, Callable[..., Any]] = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
                                               "HS512": hashlib.sha512}
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")  # base64url without padding, as JWTs carry it


@dataclass(frozen=True)
class TokenConfig:
    """Signing key, algorithm and lifetimes."""

    secret: str
    algorithm: str = "HS256"
    access_ttl_s: int = 1800
    refresh_ttl_s: int = 7 * 24 * 3600

    def __repr__(self) -> str:
        return f"TokenConfig(algorithm={self.algorithm!r}, access_ttl_s={self.access_ttl_s})"


@dataclass(frozen=True)
class Claims:
    """Verified claims of a token."""

    user_id: uuid.UUID
    type: TokenType
    jti: uuid.UUID
    family_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime


def issue(config: TokenConfig, token_type: TokenType, user_id: uuid.UUID, family_id: uuid.UUID,
          *, jti: uuid.UUID | None = None, now: datetime | None = None) -> tuple[str, Claims]:
    """Sign a token of ``token_type`` for ``user_id`` in login ``family_id``."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    ttl = config.access_ttl_s if token_type == "access" else config.refresh_ttl_s
    claims = Claims(user_id=user_id, type=token_type, jti=jti or uuid.uuid4(), family_id=family_id,
                    issued_at=now, expires_at=now + timedelta(seconds=ttl))
    payload = {
        "sub": str(user_id),
        "type": token_type,
        "jti": str(claims.jti),
        "fam": str(family_id),
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    return jwt.encode(payload, config.secret, algorithm=config.algorithm), claims


def decode(config: TokenConfig, token: str, expected: TokenType, *, verify_exp: bool = True) -> Claims:
    """Verify header, signature, algorithm, type and times; raise ``Unauthorized`` on any doubt."""
    digest = HMAC_DIGESTS.get(config.algorithm)
    if digest is not None:
        header, payload = _verified_hmac(config, digest, token, verify_exp)
    else:
        header, payload = _verified_by_pyjwt(config, token, verify_exp)
    # we only ever issue {"alg","typ"}: a kid/jku/jwk/x5u header is someone else's token (none chooses our key)
    if set(header) - ALLOWED_HEADER_KEYS:
        raise Unauthorized("invalid token")
    if payload.get("type") != expected:
        raise Unauthorized(f"not an {expected} token" if expected == "access" else "not a refresh token")
    try:
        iat = int(payload["iat"])
        exp = int(payload["exp"])
        claims = Claims(
            user_id=uuid.UUID(str(payload["sub"])),
            type=expected,
            jti=uuid.UUID(str(payload["jti"])),
            family_id=uuid.UUID(str(payload["fam"])),
            issued_at=datetime.fromtimestamp(iat, UTC),
            expires_at=datetime.fromtimestamp(exp, UTC),
        )
    except (TypeError, ValueError, OverflowError):
        raise Unauthorized("invalid token") from None
    if claims.issued_at > datetime.now(UTC) + timedelta(seconds=IAT_LEEWAY_S):
        raise Unauthorized("invalid token")
    return claims


def _verified_by_pyjwt(config: TokenConfig, token: str, verify_exp: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a token PyJWT verified with the configured key and algorithm."""
    try:
        # one parse for header and claims; iat is checked by ``decode`` (with its leeway), not by PyJWT (without)
        complete = jwt.api_jwt.decode_complete(
            token,
            config.secret,
            algorithms=[config.algorithm],
            options={"require": list(REQUIRED_CLAIMS), "verify_exp": verify_exp, "verify_iat": False},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("invalid token") from None
    return complete["header"], complete["payload"]


def _verified_hmac(config: TokenConfig, digest: Callable[..., Any], token: str,
                   verify_exp: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a token whose HMAC with the configured key checks out, and whose claims would pass
    PyJWT's checks (required claims present, ``nbf``/``exp`` whole numbers and in force, no ``aud``, ``sub``
    and ``jti`` strings); ``Unauthorized`` otherwise."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not all(_SEGMENT.fullmatch(part) for part in parts):
        raise Unauthorized("invalid token")
    head, body, signature = parts
    mac = hmac.new(config.secret.encode(), f"{head}.{body}".encode("ascii"), digest).digest()
    # the signature's one canonical spelling only: a last character that differs in the bits base64 leaves
    # unused decodes to the same bytes, and PyJWT refuses it (tests/domain/test_token_verification.py)
    if not hmac.compare_digest(base64.urlsafe_b64encode(mac).rstrip(b"="), signature.encode("ascii")):
        raise Unauthorized("invalid token")
    header, payload = _json_object(head), _json_object(body)
    if header.get("alg") != config.algorithm:
        raise Unauthorized("invalid token")
    _check_claims(payload, verify_exp)
    return header, payload


def _check_claims(payload: dict[str, Any], verify_exp: bool) -> None:
    if any(payload.get(claim) is None for claim in REQUIRED_CLAIMS):
        raise Unauthorized("invalid token")
    now = time.time()
    if "nbf" in payload and _whole(payload["nbf"]) > now:
        raise Unauthorized("invalid token")
    if verify_exp and _whole(payload["exp"]) <= now:
        raise Unauthorized("token expired")
    if payload.get("aud") or not isinstance(payload["sub"], str) or not isinstance(payload["jti"], str):
        raise Unauthorized("invalid token")


def _whole(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise Unauthorized("invalid token") from None


def _unbase64(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise Unauthorized("invalid token") from None


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_unbase64(segment))
    except ValueError:  # not JSON, or not UTF-8
        raise Unauthorized("invalid token") from None
    if not isinstance(value, dict):
        raise Unauthorized("invalid token")
    return value
