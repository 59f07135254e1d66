"""Creating users through the real REST API."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import httpx

PASSWORD = "correct horse battery"


def new_email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.test"


async def signup(http: httpx.AsyncClient, *, email: str | None = None, password: str = PASSWORD,
                 display_name: str = "Ada", birthdate: str = "1995-05-17") -> dict[str, Any]:
    """Sign a new user up and return the token body (asserting 201)."""
    resp = await http.post("/v1/auth/signup", json={"email": email or new_email(), "password": password,
                                                    "display_name": display_name, "birthdate": birthdate})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def years_ago(years: int, today: date | None = None) -> date:
    today = today or datetime.now(UTC).date()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)
