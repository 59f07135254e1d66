"""``python -m bench mail``: how many mails per second the outbox sender hands to a local SMTP server.

N mails are committed to the outbox of a throwaway database (the embedded PostgreSQL in a temporary directory,
durable as in production, or a database created on the server of ``DATABASE_URL``); then the real
``MailSender`` (one per ``--senders``, each on its own engine, as nodes would be) sends them over SMTP to an
aiosmtpd server in this process on a loopback port. The clock runs from the senders' start until the server
holds every mail and every row is marked sent. Prints one JSON document with the rate and the verdict against
the target (50 mails/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.harness import BenchError, say, throwaway_database
from delete_api.database import make_sessionmaker
from delete_api.settings import Settings
from domain.mail.outbox import OUTBOX
from domain.mail.retry import RetryPolicy
from domain.mail.sender import MailSender
from infra.smtp_transport import SmtpTransport
from infra.smtp_url import parse_smtp_url
from tests.support.pg import pooled_engine
from tests.support.smtp import SmtpSink, smtp_sink

TARGET_MAILS_PER_S = 50.0
TEXT = "Someone asked to reset your Delete password. Open this link within 30 minutes:\n\n{link}\n"
HTML = "<p>Someone asked to reset your Delete password.</p><p><a href=\"{link}\">Reset it</a> within 30 minutes.</p>"


async def _fill(sessions: async_sessionmaker[AsyncSession], count: int) -> None:
    """``count`` realistic mails committed to the outbox, 1,000 per statement."""
    link = "https://example.com/app/reset-password#token=" + "x" * 43
    for start in range(0, count, 1000):
        rows = [{"recipient": f"user{n}@example.test", "subject": "Reset your Delete password",
                 "text_body": TEXT.format(link=link), "html_body": HTML.format(link=link)}
                for n in range(start, min(count, start + 1000))]
        async with sessions.begin() as session:
            await session.execute(insert(OUTBOX), rows)


async def _until_all_marked(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Return once no row is left unmarked (the last marks commit just after the server's last 250)."""
    while True:
        async with sessions() as session:
            unmarked = (await session.execute(text("SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL"))
                        ).scalar_one()
        if not unmarked:
            return
        await asyncio.sleep(0.01)


async def _measure(url: str, args: argparse.Namespace, sink: SmtpSink) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        engines = [await stack.enter_async_context(pooled_engine(url, pool_size=3)) for _ in range(args.senders)]
        sessions = make_sessionmaker(engines[0])
        await _fill(sessions, args.mails)
        policy = RetryPolicy(batch=args.batch)
        senders = [MailSender(make_sessionmaker(engine), SmtpTransport(parse_smtp_url(sink.url)),
                              "Delete <no-reply@example.com>", policy) for engine in engines]
        say(f"sending {args.mails} mails with {args.senders} sender(s), batches of {args.batch}")
        started = time.perf_counter()
        for sender in senders:
            sender.start()
        try:
            await sink.wait_for(args.mails, timeout_s=args.timeout)
            await _until_all_marked(sessions)
            seconds = time.perf_counter() - started
        finally:
            for sender in senders:
                await sender.stop()
    copies = sink.copies()
    return {"seconds": round(seconds, 3), "mails_per_s": round(args.mails / seconds, 1),
            "per_sender": [sender.sent for sender in senders],
            "duplicates": sum(n - 1 for n in copies.values()), "received": len(sink.messages)}


async def _run(url: str, args: argparse.Namespace) -> dict[str, Any]:
    async with smtp_sink() as sink:
        try:
            return await _measure(url, args, sink)
        except TimeoutError:
            raise BenchError(f"only {len(sink.messages)} of {args.mails} mails arrived within "
                             f"{args.timeout:.0f} s") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``python -m bench mail``: print the JSON document; 1 if the benchmark could not run."""
    import logging

    for noisy in ("alembic", "delete_api.migrate", "domain.mail", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        with ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="delete-bench-mail-")))
            url = throwaway_database(stack, settings, work, "delete_bench_mail",
                                     why="every mark of a sent mail is an fsynced commit")
            figures = asyncio.run(_run(url, args))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    met = figures["mails_per_s"] >= TARGET_MAILS_PER_S and figures["duplicates"] == 0
    document = {"benchmark": "mail", "mails": args.mails, "senders": args.senders, "batch": args.batch,
                **figures, "target_mails_per_s": TARGET_MAILS_PER_S, "verdict": "met" if met else "missed"}
    output = json.dumps(document, indent=2)
    print(output)
    if args.json_out:
        Path(args.json_out).write_text(output + "\n")
    return 0
