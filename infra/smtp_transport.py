"""The SMTP transport (aiosmtplib) behind ``domain.mail.transport.MailTransport``: one connection per batch.

A refusal of one message (sender, recipient or content refused, the connection still up) becomes
``MailRefused``; it is permanent only for a recipient refused with an RFC 3463 addressing status
(``5.1.x``: no such mailbox, bad address), so a misconfigured relay (``5.7.1``) or sender never throws mail
away. Everything else (refused connection, timeout, disconnection, failed login) propagates and the sender
retries with back-off.
"""

from __future__ import annotations

import asyncio
import re
import socket
from email.message import EmailMessage

import aiosmtplib

from domain.mail.transport import MailRefused
from infra.smtp_url import SmtpOptions

DEFAULT_TIMEOUT_S = 30.0
_BAD_ADDRESS = re.compile(r"\s*5\.1\.\d+\b")


def _refusal(exc: aiosmtplib.SMTPException) -> MailRefused:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        permanent = all(500 <= r.code < 600 and _BAD_ADDRESS.match(r.message) for r in exc.recipients)
        return MailRefused(f"recipient refused {codes[0]}", permanent=permanent)
    code = getattr(exc, "code", 0)
    return MailRefused(f"{type(exc).__name__} {code}", permanent=False)


class SmtpConnection:
    """One SMTP session (after EHLO, STARTTLS when offered, and login when the URL has a user)."""

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self._client = client

    async def send(self, message: EmailMessage) -> str | None:
        try:
            await self._client.send_message(message)
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError,
                aiosmtplib.SMTPNotSupported) as exc:  # SMTPNotSupported: an address needs SMTPUTF8, not offered
            if not self._client.is_connected:
                raise
            raise _refusal(exc) from None
        return None

    async def close(self) -> None:
        if self._client.is_connected:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._client.close()


class SmtpTransport:
    """Connects to the server of ``SMTP_URL``."""

    def __init__(self, options: SmtpOptions, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.options = options
        self.timeout_s = timeout_s
        self._local_hostname: str | None = None

    def describe(self) -> str:
        return self.options.describe()

    async def connect(self) -> SmtpConnection:
        if self._local_hostname is None:  # the EHLO name, looked up once (getfqdn may wait on DNS)
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        o = self.options
        client = aiosmtplib.SMTP(hostname=o.hostname, port=o.port, username=o.username, password=o.password,
                                 use_tls=o.implicit_tls, start_tls=False if o.implicit_tls else None,
                                 timeout=self.timeout_s, local_hostname=self._local_hostname)
        await client.connect()
        return SmtpConnection(client)
