"""``SMTP_URL`` read into connection options: ``smtp://user:pass@host:port`` or ``smtps://…``.

``smtp://`` (port 587 by default) upgrades with STARTTLS when the server offers it; ``smtps://`` (port 465
by default) speaks TLS from the first byte. User and password are percent-decoded. Errors never quote the
URL, which holds the password.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


@dataclass(frozen=True)
class SmtpOptions:
    """Where and how to connect; the password is left out of the repr."""

    hostname: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """``smtp://host:port`` without credentials, for log lines."""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{self.hostname}:{self.port}"


def parse_smtp_url(url: str) -> SmtpOptions:
    """Read ``url``; raise ``ValueError`` with a message that does not repeat it."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("SMTP_URL needs a host, e.g. smtp://user:pass@mail.example.com:587")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("SMTP_URL has a malformed port") from None
    return SmtpOptions(hostname=parts.hostname, port=port, implicit_tls=scheme == "smtps",
                       username=unquote(parts.username) if parts.username else None,
                       password=unquote(parts.password) if parts.password is not None else None)
