"""Signup, login, refresh-token rotation, logout and access-token checks."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from domain.auth import repository as repo
from domain.auth import tokens
from domain.auth.account_mail import AccountMail
from domain.auth.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHasher
from domain.auth.verification import send_verification
from domain.errors import AccountSuspended, InvalidCredentials, TokenReused, Unauthorized, ValidationFailed
from domain.events.log import EventLog
from domain.mail.outbox import check_address
from domain.models import User
from domain.profiles.age import ADULT_AGE, age_on
from domain.text.names import check_display_name, clean_display_name
from domain.wire.enums import AccountStatus
from domain.wire.scalars import rfc3339

EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class LoginGuard(Protocol):
    """Counts failed logins and refuses attempts past its limits (``infra.login_throttle.LoginThrottle``)."""

    async def check(self, email: str, address: str) -> None:
        """Raise ``RateLimited`` if this attempt may not be tried now."""

    async def failed(self, email: str, address: str) -> None: ...

    async def succeeded(self, email: str, address: str) -> None: ...


@dataclass(frozen=True)
class AuthDeps:
    """What the auth service needs besides a database session."""

    hasher: PasswordHasher
    tokens: tokens.TokenConfig
    throttle: LoginGuard
    events: EventLog | None = None  # tells open sockets of a revoked login to close
    mail: AccountMail | None = None  # the account mails (verification, reset); None in command-line tools


@dataclass(frozen=True)
class IssuedTokens:
    """A fresh access/refresh pair for ``user``."""

    user: User
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request or socket."""

    user_id: uuid.UUID
    family_id: uuid.UUID
    role: str
    expires_at: datetime


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable (signup, reset and change share the rule), or None."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"must be {MIN_LENGTH} to {MAX_LENGTH} characters"
    return None


def _email_problem(email: str) -> str | None:
    if len(email) > 254 or not EMAIL_RE.match(email):
        return "must be a valid email address"
    try:
        check_address(email)  # the verification mail must be able to go there
    except ValueError:
        return "must be a plain email address"
    return None


def validate_signup(email: str, password: str, display_name: str, birthdate: date, today: date) -> dict[str, str]:
    """Return ``{field: reason}`` for every rule the signup input breaks (empty when valid)."""
    problems: dict[str, str] = {}
    email_problem = _email_problem(email)
    if email_problem:
        problems["email"] = email_problem
    pw_problem = password_problem(password)
    if pw_problem:
        problems["password"] = pw_problem
    name_problem, _ = check_display_name(display_name)  # the same rule as me.update (domain/text/names.py)
    if name_problem:
        problems["display_name"] = name_problem
    if birthdate > today:
        problems["birthdate"] = "must be in the past"
    elif age_on(birthdate, today) < ADULT_AGE:
        problems["birthdate"] = f"you must be at least {ADULT_AGE} years old"
    elif age_on(birthdate, today) > 120:
        problems["birthdate"] = "must be a real birthdate"
    return problems


async def issue_tokens(session: AsyncSession, deps: AuthDeps, user: User, family_id: uuid.UUID) -> IssuedTokens:
    """A fresh access/refresh pair of login ``family_id``; the refresh token is stored as its hash."""
    access, _ = tokens.issue(deps.tokens, "access", user.id, family_id)
    refresh, claims = tokens.issue(deps.tokens, "refresh", user.id, family_id)
    await repo.store_refresh_token(session, claims.jti, family_id, _token_hash(refresh), claims.expires_at)
    return IssuedTokens(user=user, access_token=access, refresh_token=refresh,
                        expires_in=deps.tokens.access_ttl_s)


async def signup(session: AsyncSession, deps: AuthDeps, *, email: str, password: str, display_name: str,
                 birthdate: date, today: date | None = None) -> IssuedTokens:
    """Create an adult's account, mail the verification link (same transaction) and log them in."""
    email = email.strip()
    display_name = clean_display_name(display_name)
    problems = validate_signup(email, password, display_name, birthdate, today or datetime.now(UTC).date())
    if problems:
        raise ValidationFailed("; ".join(f"{k}: {v}" for k, v in problems.items()), {"fields": problems})
    password_hash = await deps.hasher.hash(password)
    user = await repo.insert_user(session, {"email": email, "password_hash": password_hash,
                                            "display_name": display_name, "birthdate": birthdate})
    await send_verification(session, deps.mail, user, requested=False)
    family_id = await repo.create_family(session, user.id)
    return await issue_tokens(session, deps, user, family_id)


def effective_status(user: User, now: datetime) -> AccountStatus:
    """The account's status, treating a suspension whose time is over as active."""
    return status_at(user.status, user.suspended_until, now)


def status_at(status: AccountStatus, suspended_until: datetime | None, now: datetime) -> AccountStatus:
    """``effective_status`` of the stored ``status`` and ``suspended_until``."""
    if status == "suspended" and suspended_until is not None and suspended_until <= now:
        return "active"
    return status


async def login(session: AsyncSession, deps: AuthDeps, *, email: str, password: str, address: str) -> IssuedTokens:
    """Check credentials (same answer and cost for unknown email and wrong password) and log in.

    ``address`` is the client's address; failures are throttled per account and address (``throttle``).
    """
    email = email.strip()
    await deps.throttle.check(email, address)
    lookup = len(email) <= 254 and not CONTROL_RE.search(email) and email.isprintable()
    found = await repo.credentials_by_email(session, email) if lookup else None  # odd input: an unknown email
    if found is not None and found.status == "deleted":
        found = None
    ok = await deps.hasher.verify(password, found.password_hash if found is not None else None)
    user = await repo.user_by_id(session, found.id) if ok and found is not None else None
    if user is None:
        await deps.throttle.failed(email, address)
        raise InvalidCredentials("email or password is wrong")
    await deps.throttle.succeeded(email, address)
    now = datetime.now(UTC)
    status = effective_status(user, now)
    if status in ("suspended", "banned"):
        until = rfc3339(user.suspended_until) if status == "suspended" and user.suspended_until else None
        raise AccountSuspended("this account is suspended" if status == "suspended" else "this account is banned",
                               {"status": status, "until": until})
    if status != user.status:
        user.status = status
        user.suspended_until = None
    user.last_active_at = now
    family_id = await repo.create_family(session, user.id)
    return await issue_tokens(session, deps, user, family_id)


async def refresh(session: AsyncSession, deps: AuthDeps, refresh_token: str) -> IssuedTokens:
    """Rotate a refresh token; presenting a used one revokes its whole family (``token_reused``)."""
    claims = tokens.decode(deps.tokens, refresh_token, "refresh")
    token_hash = _token_hash(refresh_token)
    if not await repo.consume_refresh_token(session, claims.jti, token_hash):
        if await repo.refresh_token_was_used(session, claims.jti, token_hash):
            await repo.revoke_family(session, claims.family_id, "reuse")
            _close_sockets_of_family(session, deps, claims)
            raise TokenReused("refresh token was already used; every session of this login is signed out")
        raise Unauthorized("invalid token")
    user = await _live_user(session, claims)
    return await issue_tokens(session, deps, user, claims.family_id)


async def logout(session: AsyncSession, deps: AuthDeps, refresh_token: str) -> None:
    """Revoke the login (family) the refresh token belongs to; an expired token still logs out."""
    claims = tokens.decode(deps.tokens, refresh_token, "refresh", verify_exp=False)
    if await repo.session_state(session, claims.family_id, claims.user_id) is None:
        raise Unauthorized("invalid token")
    await repo.revoke_family(session, claims.family_id, "logout")
    _close_sockets_of_family(session, deps, claims)


def _close_sockets_of_family(session: AsyncSession, deps: AuthDeps, claims: tokens.Claims) -> None:
    if deps.events is not None:
        deps.events.control_after_commit(session, claims.user_id, "revoke", family=str(claims.family_id))


async def authenticate(session: AsyncSession, deps: AuthDeps, access_token: str) -> Principal:
    """Verify an access token and that its login is live and its account active."""
    claims = tokens.decode(deps.tokens, access_token, "access")
    user = await _live_user(session, claims)
    return Principal(user_id=user.id, family_id=claims.family_id, role=user.role, expires_at=claims.expires_at)


async def _live_user(session: AsyncSession, claims: tokens.Claims) -> User:
    state = await repo.session_state(session, claims.family_id, claims.user_id)
    if state is None:
        raise Unauthorized("invalid token")
    revoked_at, user = state
    check_login_live(revoked_at, effective_status(user, datetime.now(UTC)))
    return user


def check_login_live(revoked_at: datetime | None, status: AccountStatus) -> None:
    """Raise unless the login (revoked at ``revoked_at``) is live and its account's status lets it in."""
    if revoked_at is not None:
        raise Unauthorized("this session was signed out")
    if status == "deleted":
        raise Unauthorized("this account was deleted")
    if status in ("suspended", "banned"):
        raise AccountSuspended(f"this account is {status}", {"status": status})
