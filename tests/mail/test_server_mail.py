"""The server's own sender (started and stopped by the lifespan): ``.eml`` files in ``DATA_DIR/mail`` without
``SMTP_URL``, SMTP with a login with it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delete_api.resources import random_prefix
from delete_api.settings import Secret
from tests.support.outbox import TOKEN, enqueue_committed, outbox_rows
from tests.support.server import run_server
from tests.support.settings import make_settings
from tests.support.smtp import smtp_sink

FAST_POLL = {"mail_poll_s": 0.05}


def server_log(caplog: pytest.LogCaptureFixture) -> str:
    """Every line the server logged (aiosmtpd's ``mail.log``, the test's SMTP server, left out)."""
    return "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("mail.log"))


async def test_without_smtp_url_each_mail_is_an_eml_file_under_data_dir_and_the_log_says_where(
        sessions: async_sessionmaker[AsyncSession], mail_database_url: str, redis_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """The embedded default: the start-up log names the folder, each mail's log line its file (owner-only),
    which holds the text and HTML parts with the link."""
    caplog.set_level(logging.INFO)
    settings = make_settings(mail_database_url, redis_url, tmp_path / "media", data_dir=tmp_path,
                             extra={"redis_prefix": random_prefix(), **FAST_POLL})
    async with run_server(settings):
        [mail_id] = await enqueue_committed(sessions, 1)
        async with asyncio.timeout(10):
            while not list((tmp_path / "mail").glob("*.eml")):
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
    [path] = (tmp_path / "mail").glob("*.eml")
    assert f"SMTP_URL is not set: mails are written as .eml files to {tmp_path / 'mail'}" in caplog.text
    assert f"mail {mail_id} to a recipient at example.test written to {path}" in caplog.text
    assert path.stat().st_mode & 0o077 == 0
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Message-ID"] == f"<{mail_id}@localhost>" and message["From"] == "Delete <no-reply@localhost>"
    assert message.get_content_type() == "multipart/alternative"
    assert TOKEN in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert TOKEN in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    [row] = await outbox_rows(sessions)
    assert row.sent_at is not None
    assert TOKEN not in server_log(caplog) and "someone.private" not in server_log(caplog)


async def test_with_smtp_url_the_server_logs_in_and_sends(
        sessions: async_sessionmaker[AsyncSession], mail_database_url: str, redis_url: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """``SMTP_URL`` with a user and password: the server's sender logs in and delivers; neither the password
    nor the address reaches the log."""
    caplog.set_level(logging.INFO)
    async with smtp_sink(login=("mailer", "p@ss w0rd")) as sink:
        url = sink.url.replace("p@ss w0rd", "p%40ss%20w0rd")
        settings = make_settings(mail_database_url, redis_url, tmp_path / "media", data_dir=tmp_path,
                                 smtp_url=Secret(url), mail_from="Delete <hello@delete.test>",
                                 extra={"redis_prefix": random_prefix(), **FAST_POLL})
        async with run_server(settings):
            [mail_id] = await enqueue_committed(sessions, 1)
            [message] = await sink.wait_for(1)
            await asyncio.sleep(0.2)
    assert message["Message-ID"] == f"<{mail_id}@delete.test>" and message["From"] == "Delete <hello@delete.test>"
    assert f"mail goes to smtp://127.0.0.1:{sink.port}" in caplog.text
    log = server_log(caplog)
    assert "p@ss" not in log and "p%40ss" not in log and "w0rd" not in log and "someone.private" not in log
    assert not (tmp_path / "mail").exists()
