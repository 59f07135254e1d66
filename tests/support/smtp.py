"""A real SMTP server (aiosmtpd) on an ephemeral loopback port, in the test's own event loop.

``SmtpSink`` keeps every message it accepted (parsed), can be stopped and started again on the same port
(the "server down for a while" fault: connections are refused meanwhile, open ones are cut), can refuse
chosen recipients with a given reply, can require a login, and can answer slowly.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class SmtpSink:
    """The server and what it received; ``url`` is an ``SMTP_URL`` for it (with the login, if one is set)."""

    def __init__(self, *, login: tuple[str, str] | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}  # recipient -> the RCPT reply, e.g. "550 5.1.1 no such user"
        self.delay_s = 0.0  # before answering DATA
        self.login = login
        self.port = 0
        self._server: asyncio.Server | None = None
        self._sessions: list[SMTP] = []
        self._arrived = asyncio.Condition()

    @property
    def url(self) -> str:
        credentials = f"{self.login[0]}:{self.login[1]}@" if self.login else ""
        return f"smtp://{credentials}127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen (again, on the same port once it has one)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._session, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and cut every open session: the server is down."""
        if self._server is not None:
            self._server.close()
            for session in self._sessions:
                if isinstance(session.transport, asyncio.Transport):
                    session.transport.abort()
            self._sessions.clear()
            await self._server.wait_closed()
            self._server = None

    def _session(self) -> SMTP:
        session = SMTP(self, hostname="sink.test", auth_require_tls=False,
                       authenticator=self._authenticate if self.login else None)
        self._sessions.append(session)
        return session

    def _authenticate(self, server: SMTP, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and self.login is not None
              and (auth_data.login.decode(), auth_data.password.decode()) == self.login)
        return AuthResult(success=ok)

    async def handle_RCPT(self, server: SMTP, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        if self.login and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        async with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    async def wait_for(self, count: int, timeout_s: float = 10.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived; return them all."""
        async with asyncio.timeout(timeout_s), self._arrived:
            await self._arrived.wait_for(lambda: len(self.messages) >= count)
        return list(self.messages)

    def copies(self) -> Counter[str]:
        """How many times each ``Message-ID`` arrived."""
        return Counter(str(m["Message-ID"]) for m in self.messages)


@asynccontextmanager
async def smtp_sink(*, login: tuple[str, str] | None = None) -> AsyncIterator[SmtpSink]:
    """A started ``SmtpSink``, stopped on exit."""
    sink = SmtpSink(login=login)
    await sink.start()
    try:
        yield sink
    finally:
        await sink.stop()
