"""Creating moderator accounts from the command line."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from delete_api.database import make_engine, make_sessionmaker
from delete_api.settings import Settings
from domain.auth import repository as repo
from domain.auth.passwords import MAX_LENGTH, MIN_LENGTH, PasswordHasher
from domain.models import User
from domain.transaction import unit_of_work


class ModeratorError(Exception):
    """The account cannot be created or promoted; the message says why."""


async def create_moderator(settings: Settings, email: str, password: str, *, promote: bool,
                           display_name: str, birthdate: date) -> str:
    """Create (or with ``promote``, promote) a moderator; return a one-line result."""
    assert settings.database_url is not None
    engine = make_engine(settings.database_url.reveal(), pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            existing = await repo.user_by_email(session, email.strip())
            if promote:
                if existing is None:
                    raise ModeratorError(f"no user with email {email}")
                await session.execute(update(User).where(User.id == existing.id).values(role="moderator"))
                return f"{email} is now a moderator"
            if existing is not None:
                raise ModeratorError(f"{email} already exists; use --promote to make them a moderator")
            if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
                raise ModeratorError(f"password must be {MIN_LENGTH} to {MAX_LENGTH} characters")
            password_hash = await PasswordHasher(settings.bcrypt_cost).hash(password)
            await repo.insert_user(session, {"email": email.strip(), "password_hash": password_hash,
                                             "display_name": display_name, "birthdate": birthdate,
                                             "role": "moderator"})
            return f"moderator {email} created"
    finally:
        await engine.dispose()
