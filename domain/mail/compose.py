"""A claimed outbox row as the ``EmailMessage`` a transport sends: plain text with an HTML alternative."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.mail.claims import ClaimedMail


def recipient_domain(address: str) -> str:
    """The part of ``address`` a log line may show: its domain, never the mailbox."""
    return address.rpartition("@")[2].lower() or "?"


def message_id(mail_id: uuid.UUID, mail_from: str) -> str:
    """The row's ``Message-ID``: the same on every attempt, so a receiver can spot an at-least-once repeat."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    return f"<{mail_id}@{domain}>"


def compose(mail: ClaimedMail, mail_from: str) -> EmailMessage:
    """The message for ``mail``: ``multipart/alternative`` of its text and HTML bodies.

    Raises ``ValueError`` when a header would not be well formed (the policy refuses line breaks).
    """
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = message_id(mail.id, mail_from)
    message.set_content(mail.text_body or "")
    message.add_alternative(mail.html_body or "", subtype="html")
    return message
