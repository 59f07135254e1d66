"""The development transport: each mail becomes an ``.eml`` file in a folder (``DATA_DIR/mail`` when
``SMTP_URL`` is unset), and the sender's log line gives its path so a developer can open it and click the link.

Files are written whole (a temporary name, then a rename) and readable by the owner only: they hold the
links' tokens.
"""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class EmlFolder:
    """Writes messages into one folder (created on the first mail)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage) -> str | None:
        return str(await asyncio.to_thread(self._write, message))

    async def close(self) -> None:
        return None

    def _write(self, message: EmailMessage) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        mail_id = _UNSAFE.sub("", str(message.get("Message-ID", "")).split("@")[0]) or "mail"
        path = self.folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{mail_id}.eml"
        partial = path.with_suffix(".eml.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(message.as_bytes())
        partial.replace(path)
        return path


class EmlTransport:
    """The ``MailTransport`` of the development default: no server, a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def describe(self) -> str:
        return f".eml files in {self.folder}"

    async def connect(self) -> EmlFolder:
        return EmlFolder(self.folder)
