"""The outbox: a mail exists only if its transaction committed, leaves once, as text and HTML, and no log line
carries its address, body or token."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.mail.outbox import OutboxStats, enqueue, outbox_stats
from domain.mail.sender import MailSender
from domain.raw_statements import RawStatement
from domain.read_lane import ReadLane
from domain.transaction import unit_of_work
from infra.smtp_transport import SmtpTransport
from infra.smtp_url import parse_smtp_url
from tests.support.outbox import FAST, TOKEN, enqueue_committed, outbox_rows, running
from tests.support.smtp import SmtpSink
from tests.support.statements import round_trips

MAIL_FROM = "Delete <no-reply@delete.test>"


def smtp_sender(sessions: async_sessionmaker[AsyncSession], sink: SmtpSink) -> MailSender:
    return MailSender(sessions, SmtpTransport(parse_smtp_url(sink.url)), MAIL_FROM, FAST)


async def test_a_mail_of_a_rolled_back_transaction_is_never_sent(
        sessions: async_sessionmaker[AsyncSession], sink: SmtpSink) -> None:
    """Enqueued in a transaction that rolls back: no row, nothing sent."""
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions) as session:
            await enqueue(session, "someone@example.test", "Hello", "text", "<p>html</p>")
            raise RuntimeError("the request failed after the mail was enqueued")
    sender = smtp_sender(sessions, sink)
    assert await sender.run_once() == 0
    async with running(sender):
        await asyncio.sleep(0.3)
    assert await outbox_rows(sessions) == [] and sink.messages == []


async def test_a_committed_mail_is_delivered_once_with_text_and_html(
        sessions: async_sessionmaker[AsyncSession], sink: SmtpSink, caplog: pytest.LogCaptureFixture) -> None:
    """Committed: delivered once (after the commit wakes the sender), multipart/alternative, the row marked sent
    and its bodies erased; the log names the row and the recipient's domain only."""
    caplog.set_level(logging.DEBUG, logger="domain.mail")
    sender = MailSender(sessions, SmtpTransport(parse_smtp_url(sink.url)), MAIL_FROM,
                        replace(FAST, poll_s=30.0))  # only the wake can start a round
    async with running(sender):
        await asyncio.sleep(0.1)  # the first round found nothing; the next poll is 30 s away
        async with unit_of_work(sessions) as session:
            mail_id = await enqueue(session, "ada.lovelace@example.test", "Reset your password",
                                    f"Open https://app.test/reset#token={TOKEN}",
                                    f"<p><a href='https://app.test/reset#token={TOKEN}'>Reset</a></p>",
                                    wake=sender.wake)
        [message] = await sink.wait_for(1, timeout_s=5)
        await asyncio.sleep(0.3)
    assert len(sink.messages) == 1
    assert message["To"] == "ada.lovelace@example.test" and message["Subject"] == "Reset your password"
    assert message["From"] == MAIL_FROM and message["Message-ID"] == f"<{mail_id}@delete.test>"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    assert TOKEN in plain.get_content() and f"href='https://app.test/reset#token={TOKEN}'" in html.get_content()
    [row] = await outbox_rows(sessions)
    assert row.sent_at is not None and row.failed_at is None and row.attempts == 1 and row.claim is None
    assert row.text_body is None and row.html_body is None
    assert str(mail_id) in caplog.text and "example.test" in caplog.text
    assert "ada.lovelace" not in caplog.text and TOKEN not in caplog.text and "Reset" not in caplog.text


@pytest.mark.parametrize(("to", "subject"), [
    ("victim@example.test\r\nBcc: everyone@example.test", "Hello"),
    ("Someone <someone@example.test>", "Hello"),
    ("no-at-sign", "Hello"),
    ("someone@example.test", "Hello\r\nBcc: everyone@example.test"),
    ("someone@example.test", ""),
])
async def test_enqueue_refuses_what_could_inject_a_header(
        sessions: async_sessionmaker[AsyncSession], to: str, subject: str) -> None:
    """A recipient is a bare address and a subject one line: nothing a caller passes can add a header."""
    with pytest.raises(ValueError):
        async with unit_of_work(sessions) as session:
            await enqueue(session, to, subject, "text", "<p>html</p>")
    assert await outbox_rows(sessions) == []


async def test_outbox_stats_give_depth_and_oldest_age(
        sessions: async_sessionmaker[AsyncSession], sink: SmtpSink) -> None:
    """Depth counts pending rows only; the oldest age is that of the oldest pending row."""
    async with sessions() as session:
        assert await outbox_stats(session) == OutboxStats(depth=0, oldest_age_s=None)
    await enqueue_committed(sessions, 3)
    async with sessions.begin() as session:
        await session.execute(text("UPDATE mail_outbox SET created_at = now() - interval '90 seconds' "
                                   "WHERE subject = 'Mail 0'"))
    async with sessions() as session:
        stats = await outbox_stats(session)
    assert stats.depth == 3 and stats.oldest_age_s is not None and 89 < stats.oldest_age_s < 120
    await smtp_sender(sessions, sink).run_once()
    async with sessions() as session:
        assert (await outbox_stats(session)).depth == 0


async def test_a_nodes_poll_with_nothing_due_is_one_statement(sessions: async_sessionmaker[AsyncSession],
                                                              mail_engine: AsyncEngine, sink: SmtpSink) -> None:
    """Every node polls the outbox every second: on its kept connection a poll that finds nothing is one statement,
    with no BEGIN or COMMIT; a due mail is claimed by it and delivered as before."""
    lane = ReadLane(sessions, width=1)
    sender = MailSender(sessions, SmtpTransport(parse_smtp_url(sink.url)), MAIL_FROM, FAST, fetch=lane.fetch)
    try:
        await lane.fetch(RawStatement("SELECT 1"), {})  # the lease (the pool's ping) before counting
        with round_trips(mail_engine) as heard:
            assert await sender.run_once() == 0
        assert heard == Counter({"UPDATE": 1})
        [mail_id] = await enqueue_committed(sessions)
        assert await sender.run_once() == 1
    finally:
        await lane.close()
    assert sink.copies() == {f"<{mail_id}@delete.test>": 1}
