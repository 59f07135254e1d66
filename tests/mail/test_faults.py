"""Faults: the SMTP server down for a while, two nodes sending, a crash between acceptance and marking, a
mail that fails for 24 hours, refused recipients."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from email.message import EmailMessage

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delete_api.database import make_sessionmaker
from domain.mail.sender import MailSender
from domain.mail.transport import MailConnection
from domain.raw_statements import Fetch
from domain.read_lane import ReadLane
from infra.smtp_transport import SmtpTransport
from infra.smtp_url import parse_smtp_url
from tests.support.outbox import FAST, TOKEN, enqueue_committed, outbox_rows, running
from tests.support.pg import pooled_engine
from tests.support.smtp import SmtpSink

MAIL_FROM = "Delete <no-reply@delete.test>"


def smtp_sender(sessions: async_sessionmaker[AsyncSession], sink: SmtpSink, fetch: Fetch | None = None,
                **timing: float) -> MailSender:
    return MailSender(sessions, SmtpTransport(parse_smtp_url(sink.url)), MAIL_FROM, replace(FAST, **timing), fetch)


async def wait_until_sent(sessions: async_sessionmaker[AsyncSession], count: int, timeout_s: float = 15.0) -> None:
    async with asyncio.timeout(timeout_s):
        while sum(row.sent_at is not None for row in await outbox_rows(sessions)) < count:
            await asyncio.sleep(0.05)


async def test_smtp_down_for_a_while_then_back_delivers_every_mail_once(
        sessions: async_sessionmaker[AsyncSession], sink: SmtpSink, caplog: pytest.LogCaptureFixture) -> None:
    """Connections refused for a second (several failed attempts each, with back-off), then the server returns:
    each of 20 mails arrives exactly once."""
    caplog.set_level(logging.INFO, logger="domain.mail")
    await sink.stop()
    ids = await enqueue_committed(sessions, 20)
    sender = smtp_sender(sessions, sink)
    async with running(sender):
        await asyncio.sleep(1.0)
        rows = await outbox_rows(sessions)
        assert all(row.sent_at is None and row.attempts >= 2 for row in rows), [r.attempts for r in rows]
        assert {row.last_error for row in rows} == {"SMTPConnectError (ConnectionRefusedError)"}
        await sink.start()
        await sink.wait_for(20)
        await wait_until_sent(sessions, 20)
        await asyncio.sleep(0.5)  # nothing more arrives
    assert sink.copies() == {f"<{mail_id}@delete.test>": 1 for mail_id in ids}
    assert all(row.sent_at is not None and row.failed_at is None for row in await outbox_rows(sessions))
    assert "failed (SMTPConnectError (ConnectionRefusedError)); next try at" in caplog.text
    assert "someone.private" not in caplog.text and TOKEN not in caplog.text


@pytest.mark.parametrize("claims", ["in a unit of work", "alone on a kept connection"])
async def test_two_nodes_sending_the_same_outbox_never_send_a_mail_twice(
        sessions: async_sessionmaker[AsyncSession], mail_database_url: str, sink: SmtpSink, claims: str) -> None:
    """Two senders on their own engines (two nodes) drain 200 mails together: each arrives once, both worked;
    whether each claim is a transaction of the sender's or one statement alone in autocommit (as a node runs it)."""
    sink.delay_s = 0.005  # one node alone would take a second: the other one, started with it, surely takes part
    ids = await enqueue_committed(sessions, 200)
    async with pooled_engine(mail_database_url, pool_size=3) as other_engine:
        async with other_engine.connect() as warm:  # its first claim must not wait for a new connection (CI once:
            await warm.execute(text("SELECT 1"))  # node A sent all 200 while node B was still connecting)
        makers = [sessions, make_sessionmaker(other_engine)]
        lanes = [ReadLane(maker, width=1) for maker in makers]
        kept = claims.endswith("kept connection")
        node_a, node_b = (smtp_sender(maker, sink, fetch=lane.fetch if kept else None)
                          for maker, lane in zip(makers, lanes, strict=True))
        try:
            async with running(node_a, node_b):
                await sink.wait_for(200, timeout_s=30)
                await wait_until_sent(sessions, 200)
                await asyncio.sleep(0.5)
        finally:
            for lane in lanes:
                await lane.close()
    assert sink.copies() == {f"<{mail_id}@delete.test>": 1 for mail_id in ids}
    assert node_a.sent + node_b.sent == 200 and node_a.sent > 0 and node_b.sent > 0, (node_a.sent, node_b.sent)
    assert {row.attempts for row in await outbox_rows(sessions)} == {1}


class DiesAfterAcceptance:
    """A transport that hands the message to the real server and then never returns: the process dies right
    after the server accepted the mail, before the sender could mark the row sent."""

    def __init__(self, inner: SmtpTransport) -> None:
        self.inner = inner
        self.accepted = asyncio.Event()

    def describe(self) -> str:
        return "a node about to crash"

    async def connect(self) -> MailConnection:
        return _Dying(await self.inner.connect(), self.accepted)


class _Dying:
    def __init__(self, inner: MailConnection, accepted: asyncio.Event) -> None:
        self.inner = inner
        self.accepted = accepted

    async def send(self, message: EmailMessage) -> str | None:
        await self.inner.send(message)
        self.accepted.set()
        await asyncio.Event().wait()  # the crash: nothing after this line ever runs
        return None

    async def close(self) -> None:
        await self.inner.close()


async def test_a_crash_between_acceptance_and_marking_sends_the_mail_again(
        sessions: async_sessionmaker[AsyncSession], sink: SmtpSink) -> None:
    """The documented edge (docs/mail.md): the row stays claimed, and when the lease ends another node sends
    it again, with the same Message-ID. At-least-once for that row; every other row is unaffected."""
    [mail_id] = await enqueue_committed(sessions, 1)
    dying = DiesAfterAcceptance(SmtpTransport(parse_smtp_url(sink.url)))
    crashed = MailSender(sessions, dying, MAIL_FROM, FAST)
    crashed.start()
    await asyncio.wait_for(dying.accepted.wait(), 5)
    await crashed.stop(grace_s=0)  # killed: no cleanup marks or hands back the row
    [row] = await outbox_rows(sessions)
    assert len(sink.messages) == 1 and row.sent_at is None and row.claim is not None and row.attempts == 1

    survivor = smtp_sender(sessions, sink)
    async with running(survivor):
        await sink.wait_for(2, timeout_s=5)  # after the 1 s lease
        await wait_until_sent(sessions, 1)
        await asyncio.sleep(0.3)
    assert sink.copies() == {f"<{mail_id}@delete.test>": 2}
    [row] = await outbox_rows(sessions)
    assert row.sent_at is not None and row.attempts == 2


async def test_a_mail_still_failing_after_24_hours_is_given_up_and_logged(
        sessions: async_sessionmaker[AsyncSession], sink: SmtpSink, caplog: pytest.LogCaptureFixture) -> None:
    """Written 25 hours ago and the server still down: this attempt is the last; the row is marked failed, its
    bodies erased, and the log says so (row id, domain, attempts; never the address)."""
    caplog.set_level(logging.INFO, logger="domain.mail")
    await sink.stop()
    [old, young] = await enqueue_committed(sessions, 2)
    async with sessions.begin() as session:
        await session.execute(text("UPDATE mail_outbox SET created_at = now() - interval '25 hours', attempts = 29 "
                                   "WHERE id = :id"), {"id": old})
    sender = smtp_sender(sessions, sink, give_up_s=24 * 3600.0)
    assert await sender.run_once() == 2
    rows = {row.id: row for row in await outbox_rows(sessions)}
    assert rows[old].failed_at is not None and rows[old].sent_at is None and rows[old].attempts == 30
    assert rows[old].text_body is None and rows[old].html_body is None
    assert rows[old].last_error == "SMTPConnectError (ConnectionRefusedError)"
    assert rows[young].failed_at is None and rows[young].text_body is not None  # retried later
    assert f"mail {old} to a recipient at example.test given up after 30 attempts" in caplog.text
    assert sender.given_up == 1 and "someone.private" not in caplog.text

    await sink.start()
    async with running(sender):
        await wait_until_sent(sessions, 1)
        await asyncio.sleep(0.3)
    assert len(sink.messages) == 1 and sink.messages[0]["Message-ID"] == f"<{young}@delete.test>"


async def test_a_mailbox_that_does_not_exist_is_given_up_at_once_other_refusals_are_retried(
        sessions: async_sessionmaker[AsyncSession], sink: SmtpSink) -> None:
    """``550 5.1.1`` (no such mailbox) gives the mail up; ``450`` (mailbox busy) and ``550 5.7.1`` (relaying
    denied: our configuration, not the address) are retried. The other mails of the batch go through."""
    sink.refuse = {"gone@example.test": "550 5.1.1 No such user", "busy@example.test": "450 4.2.1 Try later",
                   "relay@example.test": "550 5.7.1 Relaying denied"}
    for to in (*sink.refuse, "fine@example.test"):
        await enqueue_committed(sessions, 1, to=to)
    sender = smtp_sender(sessions, sink, first_retry_s=30.0)
    assert await sender.run_once() == 4
    rows = {row.recipient: row for row in await outbox_rows(sessions)}
    assert rows["gone@example.test"].failed_at is not None
    assert rows["gone@example.test"].last_error == "recipient refused 550"
    assert rows["busy@example.test"].failed_at is None and rows["busy@example.test"].sent_at is None
    assert rows["relay@example.test"].failed_at is None and rows["relay@example.test"].sent_at is None
    assert rows["fine@example.test"].sent_at is not None
    assert [m["To"] for m in sink.messages] == ["fine@example.test"]


async def test_a_graceful_stop_finishes_the_mail_in_hand_and_hands_the_rest_back(
        sessions: async_sessionmaker[AsyncSession], sink: SmtpSink) -> None:
    """A deploy: the mail being sent completes and is marked; the rest of the batch is due again at once (no
    lease to wait out, no attempt counted), and the next node sends each of them once."""
    sink.delay_s = 0.2
    ids = await enqueue_committed(sessions, 5)
    first = smtp_sender(sessions, sink, lease_s=30.0)
    first.start()
    await sink.wait_for(1)
    await first.stop()
    rows = await outbox_rows(sessions)
    assert 1 <= sum(row.sent_at is not None for row in rows) < 5
    assert all(row.claim is None for row in rows)
    assert all(row.attempts == 0 for row in rows if row.sent_at is None)
    async with running(smtp_sender(sessions, sink, lease_s=30.0)):
        await wait_until_sent(sessions, 5, timeout_s=5)
    assert sink.copies() == {f"<{mail_id}@delete.test>": 1 for mail_id in ids}
