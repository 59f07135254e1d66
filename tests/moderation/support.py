"""Set-up for moderation tests: reports inserted as rows, moderators, logins and feed publishing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from delete_client import ClientError, Closed, DeleteClient
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.database import make_sessionmaker
from domain.auth.passwords import PasswordHasher
from domain.events.log import EventLog
from domain.models import Report
from domain.moderation.feed import report_for_feed
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer
from tests.support.users import PASSWORD

WAIT_S = 10.0


def ws(server: RunningServer) -> str:
    return server.ws_url + "/v1/ws"


async def moderator(engine: AsyncEngine, name: str = "Mo") -> Person:
    """A moderator account with a valid access token."""
    return await make_person(engine, name=name, role="moderator")


async def make_report(engine: AsyncEngine, reporter: Person, reported: Person, *, reason: str = "harassment",
                      details: str | None = None, created_at: datetime | None = None,
                      resolution: str | None = None) -> uuid.UUID:
    """Insert a report row directly (open, or already resolved with ``resolution``)."""
    report_id = uuid.uuid4()
    values: dict[str, Any] = {"id": report_id, "reporter_id": reporter.id, "reported_id": reported.id,
                              "reason": reason, "details": details}
    if created_at is not None:
        values["created_at"] = created_at
    if resolution is not None:
        values.update(status="resolved", resolution=resolution, resolved_at=created_at or datetime.now(UTC))
    async with engine.begin() as conn:
        await conn.execute(insert(Report).values(**values))
    return report_id


async def publish_report(engine: AsyncEngine, log: EventLog, report_id: uuid.UUID) -> dict[str, Any]:
    """Publish ``moderation.report`` for an inserted report, as the ``report`` command does; return the entry."""
    async with make_sessionmaker(engine)() as session:
        entry = await report_for_feed(session, report_id)
    assert entry is not None
    await log.to_moderators("moderation.report", {"report": entry})
    return entry


async def row(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).one()


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def login(http: httpx.AsyncClient, person: Person) -> httpx.Response:
    return await http.post("/v1/auth/login", json={"email": person.email, "password": PASSWORD})


async def member(engine: AsyncEngine, name: str = "Sam") -> Person:
    """A factory person who can also log in with ``PASSWORD`` through REST.

    The factory's shared hash is plain bcrypt of the password, which the real hasher (SHA-256 first)
    does not accept, so it is replaced with one made by the service's own ``PasswordHasher``.
    """
    person = await make_person(engine, name=name)
    password_hash = await PasswordHasher(4).hash(PASSWORD)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE users SET password_hash = :h WHERE id = :id"),
                           {"h": password_hash, "id": person.id})
    return person


async def error_code(client: DeleteClient, type_: str, data: dict[str, Any]) -> str:
    """Send a command that must fail; return its error code."""
    with pytest.raises(ClientError) as caught:
        await client.call(type_, data)
    return caught.value.code


async def closed_with(client: DeleteClient) -> int | None:
    """Read events until the server closes the socket for good; return the close code."""
    with pytest.raises(Closed) as caught:
        for _ in range(100):
            await client.next_event(timeout=WAIT_S)
    return caught.value.code


@asynccontextmanager
async def client(url: str, person: Person) -> AsyncIterator[DeleteClient]:
    async with DeleteClient(url, person.token, auto_resume=False) as c:
        yield c
