"""The port through which the sender hands messages on: SMTP or a folder of ``.eml`` files (``infra/``)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol


class MailRefused(Exception):
    """The server refused this one message (the connection stays usable).

    ``reason`` is safe to log and store: a status code and an exception class, never the server's text
    (which may quote the address). ``permanent`` (a 5xx answer) gives the mail up at once; otherwise it is
    retried like any failure.
    """

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class MailConnection(Protocol):
    """One open session with the transport, used for one batch."""

    async def send(self, message: EmailMessage) -> str | None:
        """Hand ``message`` over; return where it went when a log line should say so (a file), else None.

        Raises ``MailRefused`` for a refusal of this message; any other exception means the connection is
        unusable (and whether the message was accepted is unknown).
        """
        ...

    async def close(self) -> None: ...


class MailTransport(Protocol):
    """Opens connections; ``describe`` names where mail goes for the start-up log (no credentials)."""

    async def connect(self) -> MailConnection: ...

    def describe(self) -> str: ...
