"""This process's mail sender, built from the settings: SMTP when ``SMTP_URL`` is set, else ``.eml`` files.

The sender's timing (``domain/mail/retry.py``) has production defaults; tests shorten it through
``settings.extra`` keys ``mail_poll_s``, ``mail_first_retry_s``, ``mail_max_retry_s``, ``mail_give_up_s``,
``mail_lease_s``, ``mail_send_timeout_s`` and ``mail_batch``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delete_api.settings import Settings
from domain.mail.retry import RetryPolicy
from domain.mail.sender import MailSender
from domain.mail.transport import MailTransport
from domain.raw_statements import Fetch
from infra.eml_transport import EmlTransport
from infra.smtp_transport import SmtpTransport
from infra.smtp_url import parse_smtp_url

log = logging.getLogger("delete_api.mail")

_EXTRA = {"mail_poll_s": "poll_s", "mail_first_retry_s": "first_retry_s", "mail_max_retry_s": "max_retry_s",
          "mail_give_up_s": "give_up_s", "mail_lease_s": "lease_s", "mail_send_timeout_s": "send_timeout_s",
          "mail_batch": "batch"}


def retry_policy(settings: Settings) -> RetryPolicy:
    """The defaults, with whatever ``settings.extra`` overrides."""
    defaults = RetryPolicy()
    overrides = {name: type(getattr(defaults, name))(float(settings.extra[key]))
                 for key, name in _EXTRA.items() if key in settings.extra}
    return replace(defaults, **overrides)


def mail_transport(settings: Settings, policy: RetryPolicy) -> MailTransport:
    """SMTP to ``SMTP_URL``, or the ``DATA_DIR/mail`` folder when it is unset."""
    if settings.smtp_url is not None:
        return SmtpTransport(parse_smtp_url(settings.smtp_url.reveal()), timeout_s=policy.send_timeout_s)
    return EmlTransport(settings.mail_path)


def mail_sender(settings: Settings, sessions: async_sessionmaker[AsyncSession],
                fetch: Fetch | None = None) -> MailSender:
    """The sender the lifespan starts (its poll's claim run by ``fetch`` when given); the log says where mail goes
    (never the credentials)."""
    policy = retry_policy(settings)
    transport = mail_transport(settings, policy)
    if settings.smtp_url is None:
        log.warning("SMTP_URL is not set: mails are written as .eml files to %s", settings.mail_path)
    else:
        log.info("mail goes to %s", transport.describe())
    return MailSender(sessions, transport, settings.mail_from, policy, fetch)
