"""The account tests' tools: the mails a person received, the links in them, and the tokens in the links."""

from __future__ import annotations

import asyncio
import html
import re
import uuid
from email.message import EmailMessage
from typing import Any

import httpx

from tests.support.smtp import SmtpSink
from tests.support.users import PASSWORD, new_email

APP_BASE_URL = "https://app.delete.test/app"
MAIL_FROM = "Delete <hello@delete.test>"
LINK_RE = re.compile(r"https://app\.delete\.test/app/[a-z-]+#token=[A-Za-z0-9_-]+")
WAIT_S = 15.0


def mails_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages if str(m["To"]).lower() == address.lower()]


async def wait_for_mails(sink: SmtpSink, address: str, count: int = 1, timeout_s: float = WAIT_S) -> list[EmailMessage]:
    """Wait until ``address`` received at least ``count`` mails; return them, oldest first."""
    try:
        async with asyncio.timeout(timeout_s):
            while len(mails_to(sink, address)) < count:
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"{address} got {len(mails_to(sink, address))} mails, not {count}, "
                             f"within {timeout_s}s") from None
    return mails_to(sink, address)


def link_in(message: EmailMessage, path: str) -> str:
    """The one link of a mail (``<APP_BASE_URL>/<path>#token=…``), the same in its text and HTML bodies."""
    text_part, html_part = message.get_body(("plain",)), message.get_body(("html",))
    assert text_part is not None and html_part is not None, "a mail has a text and an HTML body"
    links = set(LINK_RE.findall(text_part.get_content()))
    assert len(links) == 1, links
    link = links.pop()
    assert link.startswith(f"{APP_BASE_URL}/{path}#token="), link
    assert f'href="{html.escape(link, quote=True)}"' in html_part.get_content()
    return link


def token_of(link: str) -> str:
    return link.partition("#token=")[2]


async def latest_token(sink: SmtpSink, address: str, path: str, count: int = 1) -> str:
    """The token of the ``count``-th mail to ``address`` (waiting for it)."""
    mails = await wait_for_mails(sink, address, count)
    return token_of(link_in(mails[count - 1], path))


async def new_account(http: httpx.AsyncClient, *, email: str | None = None,
                      display_name: str = "Ada") -> dict[str, Any]:
    """Sign up through REST; the token body."""
    resp = await http.post("/v1/auth/signup", json={"email": email or new_email(), "password": PASSWORD,
                                                    "display_name": display_name, "birthdate": "1994-02-03"})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await http.post("/v1/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unknown_email() -> str:
    return f"nobody-{uuid.uuid4().hex[:12]}@example.test"
