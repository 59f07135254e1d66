"""The loop every node runs: claim due mails, send them, record each outcome (docs/mail.md).

Exactly once per row across nodes, as long as no node stops between the transport's acceptance and the
``mark_sent`` commit: a row is claimed by one node at a time (``claims.py``), a node starts sending a claimed
row only while a send timeout and room to record the outcome are left on its lease
(``RetryPolicy.send_window_s``), and every send is cut off at that timeout. A crash
(or a database outage) right after the server accepted a mail leaves the row claimed: when the lease ends,
a node sends it again. That edge is at-least-once; the repeat carries the same ``Message-ID``.

Wake-up: the loop polls every ``poll_s`` (1 s) with an indexed query on pending rows, and ``wake()``
(passed to ``outbox.enqueue`` after commit) starts a round at once on this node. Given ``fetch`` (the node's
kept autocommit connection, ``ReadSessions.fetch_alone``), the poll's claim is that one statement alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.background import cancel_and_wait
from domain.mail.claims import ClaimedMail, Failure, claim_due, claim_due_alone, mark_failed, mark_sent, release
from domain.mail.compose import compose, recipient_domain
from domain.mail.outbox import prune_finished
from domain.mail.retry import RetryPolicy
from domain.mail.transport import MailConnection, MailRefused, MailTransport
from domain.raw_statements import Fetch
from domain.transaction import unit_of_work

log = logging.getLogger("domain.mail")

STOP_GRACE_S = 3.0
JITTER = 0.1


def _reason(exc: BaseException) -> str:
    """What a log line and the row may say about a failure: the exception's class, an SMTP code and the class
    of its cause, if any (``SMTPConnectError (ConnectionRefusedError)``). Never its text, which may quote an
    address."""
    code = getattr(exc, "code", None)
    reason = f"{type(exc).__name__} {code}" if isinstance(code, int) else type(exc).__name__
    return f"{reason} ({type(exc.__cause__).__name__})" if exc.__cause__ is not None else reason


class MailSender:
    """Sends the outbox: ``start`` in the lifespan, ``stop`` before the engine closes; ``run_once`` for tests."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], transport: MailTransport, mail_from: str,
                 policy: RetryPolicy | None = None, fetch: Fetch | None = None) -> None:
        self.sessions = sessions
        self.fetch = fetch
        self.transport = transport
        self.mail_from = mail_from
        self.policy = policy or RetryPolicy()
        self.sent = 0  # accepted by the transport in this process (the bench reads it)
        self.given_up = 0
        self._wake = asyncio.Event()
        self._stopping = False
        self._failing = False
        self._pruned_at: float | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._loop(), name="delete-mail-sender")

    def wake(self) -> None:
        """Start a round now (call after a commit that enqueued mail)."""
        self._wake.set()

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Finish the mail in hand (up to ``grace_s``), hand the rest of the batch back, stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await asyncio.wait({self._task}, timeout=grace_s)
        await cancel_and_wait(self._task)  # past the grace: as a crash, the lease brings the rows back
        self._task = None

    async def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            claimed = await self._round()
            if claimed < self.policy.batch and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.policy.poll_s):
                        await self._wake.wait()

    async def _round(self) -> int:
        try:
            await self._prune_now_and_then()
            claimed = await self.run_once()
        except Exception as exc:  # the class only: a database error's text would carry the statement's values
            if not self._failing:
                log.warning("mail sender: %s; trying again every %.1f s", _reason(exc), self.policy.poll_s)
            self._failing = True
            return 0
        if self._failing:
            log.info("mail sender: working again")
        self._failing = False
        return claimed

    async def run_once(self) -> int:
        """Claim one batch of due mails and send it; return how many were claimed."""
        claim = uuid.uuid4()
        deadline = asyncio.get_running_loop().time() + self.policy.lease_s  # taken before the database's
        batch = await self._claim(claim)
        if batch:
            await self._deliver(batch, claim, deadline)
        return len(batch)

    async def _claim(self, claim: uuid.UUID) -> list[ClaimedMail]:
        if self.fetch is not None:
            return await claim_due_alone(self.fetch, claim, self.policy.batch, self.policy.lease_s)
        async with unit_of_work(self.sessions) as session:
            return await claim_due(session, claim, self.policy.batch, self.policy.lease_s)

    async def _deliver(self, batch: list[ClaimedMail], claim: uuid.UUID, deadline: float) -> None:
        try:
            async with asyncio.timeout(self.policy.send_timeout_s):
                connection = await self.transport.connect()
        except Exception as exc:
            await self._fail(batch, claim, _reason(exc))
            return
        try:
            await self._send_batch(connection, batch, claim, deadline)
        finally:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.policy.send_timeout_s):
                    await connection.close()

    async def _send_batch(self, connection: MailConnection, batch: list[ClaimedMail], claim: uuid.UUID,
                          deadline: float) -> None:
        loop = asyncio.get_running_loop()
        for index, mail in enumerate(batch):
            if self._stopping or loop.time() + self.policy.send_window_s > deadline:
                await self._release(batch[index:], claim)
                return
            if not await self._send_one(connection, mail, claim):
                await self._release(batch[index + 1:], claim)  # tried again at once, on a new connection
                return

    async def _send_one(self, connection: MailConnection, mail: ClaimedMail, claim: uuid.UUID) -> bool:
        """Send ``mail`` and record the outcome; False when the connection is no longer usable."""
        try:
            message = compose(mail, self.mail_from)
        except ValueError:
            await self._fail([mail], claim, "malformed header", permanent=True)
            return True
        try:
            async with asyncio.timeout(self.policy.send_timeout_s):
                where = await connection.send(message)
        except MailRefused as exc:
            await self._fail([mail], claim, exc.reason, permanent=exc.permanent)
            return True
        except Exception as exc:  # accepted or not is unknown: tried again (at-least-once)
            await self._fail([mail], claim, _reason(exc))
            return False
        await self._record_sent(mail, claim, where)
        return True

    async def _record_sent(self, mail: ClaimedMail, claim: uuid.UUID, where: str | None) -> None:
        self.sent += 1
        domain = recipient_domain(mail.recipient)
        if where is not None:
            log.info("mail %s to a recipient at %s written to %s", mail.id, domain, where)
        else:
            log.info("mail %s sent to a recipient at %s (attempt %d)", mail.id, domain, mail.attempts)
        async with unit_of_work(self.sessions) as session:
            marked = await mark_sent(session, mail.id, claim)
        if not marked:
            log.warning("mail %s was sent after its claim had lapsed: another node may send it too", mail.id)

    async def _fail(self, mails: Sequence[ClaimedMail], claim: uuid.UUID, reason: str, *,
                    permanent: bool = False) -> None:
        outcomes: list[tuple[ClaimedMail, Failure | None]] = []
        async with unit_of_work(self.sessions) as session:
            for mail in mails:
                retry_in_s = self.policy.retry_in_s(mail.attempts) * random.uniform(1 - JITTER, 1 + JITTER)
                outcomes.append((mail, await mark_failed(session, mail.id, claim, reason, retry_in_s=retry_in_s,
                                                         give_up_s=self.policy.give_up_s, permanent=permanent)))
        for mail, outcome in outcomes:
            self._log_failure(mail, reason, outcome)

    def _log_failure(self, mail: ClaimedMail, reason: str, outcome: Failure | None) -> None:
        domain = recipient_domain(mail.recipient)
        if outcome is None:
            log.warning("mail %s: attempt %d failed (%s) after its claim had lapsed", mail.id, mail.attempts, reason)
        elif outcome.failed:
            self.given_up += 1
            log.error("mail %s to a recipient at %s given up after %d attempts (%s)",
                      mail.id, domain, mail.attempts, reason)
        else:
            log.warning("mail %s to a recipient at %s: attempt %d failed (%s); next try at %s",
                        mail.id, domain, mail.attempts, reason, outcome.due_at.isoformat(timespec="seconds"))

    async def _release(self, mails: Sequence[ClaimedMail], claim: uuid.UUID) -> None:
        if mails:
            async with unit_of_work(self.sessions) as session:
                await release(session, [mail.id for mail in mails], claim)

    async def _prune_now_and_then(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._pruned_at is not None and now - self._pruned_at < self.policy.prune_every_s:
            return
        self._pruned_at = now
        async with unit_of_work(self.sessions) as session:
            deleted = await prune_finished(session, self.policy.keep_s)
        if deleted:
            log.info("mail outbox: deleted %d rows finished over %.0f days ago", deleted, self.policy.keep_s / 86400)
