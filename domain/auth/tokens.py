"""JWT access and refresh tokens: pure encode/decode, the algorithm pinned by configuration."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

from domain.errors import Unauthorized

TokenType = Literal["access", "refresh"]
IAT_LEEWAY_S = 30
ALLOWED_HEADER_KEYS = frozenset({"alg", "typ"})


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
    try:
        # one parse for header and claims (every socket connect pays for this; the header no second time)
        complete = jwt.api_jwt.decode_complete(
            token,
            config.secret,
            algorithms=[config.algorithm],
            options={"require": ["sub", "type", "jti", "fam", "iat", "exp"], "verify_exp": verify_exp},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("invalid token") from None
    # we only ever issue {"alg","typ"}: a kid/jku/jwk/x5u header is someone else's token (none chooses our key)
    if set(complete["header"]) - ALLOWED_HEADER_KEYS:
        raise Unauthorized("invalid token")
    payload: dict[str, Any] = complete["payload"]
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
