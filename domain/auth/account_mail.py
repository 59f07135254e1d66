"""The mails of the account flows (verification, password reset): texts, links and writing them to the outbox.

Links are built on ``APP_BASE_URL`` with the token in the fragment (``domain/mail/links.py``):
``<APP_BASE_URL>/verify-email#token=…`` and ``<APP_BASE_URL>/reset-password#token=…``. Each mail has a plain-text
and an HTML body; the display name is the only thing of the user's in them, escaped in the HTML.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from domain.mail.compose import recipient_domain
from domain.mail.links import app_link
from domain.mail.outbox import check_address, enqueue

log = logging.getLogger("domain.auth")


@dataclass(frozen=True)
class AccountMail:
    """What the account flows need to send mail: the web app's base URL and the local sender's wake-up."""

    app_url: str
    wake: Callable[[], None] | None = None


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


def _html(greeting: str, paragraphs: list[str], link: str, button: str, after: str) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    href = html.escape(link, quote=True)
    return (f'<!doctype html>\n<html><body style="font-family: sans-serif">\n<p>{html.escape(greeting)}</p>\n'
            f'{body}<p><a href="{href}">{html.escape(button)}</a></p>\n'
            f'<p>If the button does not work, copy this address into your browser:<br>{html.escape(link)}</p>\n'
            f"<p>{html.escape(after)}</p>\n</body></html>\n")


def verification_mail(app_url: str, display_name: str, token: str) -> Mail:
    """The mail signup and ``email/resend`` send: a link to ``<app>/verify-email#token=…``, valid 48 hours."""
    link = app_link(app_url, "verify-email", token=token)
    greeting = f"Hi {display_name},"
    ask = "Please confirm that this is your email address. The link works once, for 48 hours."
    after = "If you did not sign up for Delete, ignore this mail: nothing happens without the link."
    text = f"{greeting}\n\n{ask}\n\n{link}\n\n{after}\n"
    return Mail("Confirm your email address for Delete", text,
                _html(greeting, [ask], link, "Confirm my email address", after))


def reset_mail(app_url: str, display_name: str, token: str) -> Mail:
    """The mail ``password/forgot`` sends: a link to ``<app>/reset-password#token=…``, valid 30 minutes."""
    link = app_link(app_url, "reset-password", token=token)
    greeting = f"Hi {display_name},"
    ask = ("Someone (hopefully you) asked to reset the password of your Delete account. Choose a new password "
           "with this link. It works once, for 30 minutes, and signs you out everywhere.")
    after = "If you did not ask for this, ignore this mail: your password stays as it is."
    text = f"{greeting}\n\n{ask}\n\n{link}\n\n{after}\n"
    return Mail("Reset your Delete password", text, _html(greeting, [ask], link, "Choose a new password", after))


async def send(session: AsyncSession, config: AccountMail, to: str, mail: Mail) -> bool:
    """Write ``mail`` to the outbox in the caller's transaction; False (logged, by domain only) when ``to`` is
    not an address a mail can go to (an account made before signup checked for that)."""
    try:
        check_address(to)
    except ValueError:
        log.warning("no account mail for a recipient at %s: not a bare address", recipient_domain(to))
        return False
    await enqueue(session, to, mail.subject, mail.text, mail.html, wake=config.wake)
    return True
