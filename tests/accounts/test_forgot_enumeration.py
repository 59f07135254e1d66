"""password/forgot must not tell whether an email has an account: same status, body, headers and time.

100 requests for emails with an account (each account its own, so every one of them does the whole work: the
lookup, the hourly count, the token and the mail) and 100 for emails without, interleaved in a seeded random
order, compared as the login enumeration test compares (``tests/support/timing.py``, docs/fuzzing.md). The
request only queues the address; the lookup and the mail follow the answer (``domain/auth/reset_requests.py``).
That work starts 0.1 s after the request (``SETTLE_S``); before the next sample the test waits for it to end (for
a known email, until its reset mail arrived), so it neither overlaps the answer it belongs to nor slows a later
sample (within a pair the kinds alternate, so leftover work of one kind would mostly land on the other).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time

import httpx

from tests.accounts.support import mails_to, new_account, unknown_email, wait_for_mails
from tests.support.server import RunningServer
from tests.support.smtp import SmtpSink
from tests.support.timing import Samples, pct, permutation_p_value

SAMPLES = 100  # of each kind
WARM_UP = 5
MEDIAN_TOLERANCE = 0.15  # |median difference| / pooled median, as the login test
PERMUTATIONS = 4_000
MIN_P_VALUE = 0.001
SEED = 20_261_206
SETTLE_S = 0.1  # domain/auth/reset_requests.py
QUIET_S = 0.03  # the sender marks the mail sent after the SMTP server took it


async def timed_forgot(http: httpx.AsyncClient, email: str, into: Samples) -> None:
    started = time.perf_counter()
    resp = await http.post("/v1/auth/password/forgot", json={"email": email})
    into.add(resp, time.perf_counter() - started)


async def test_known_and_unknown_emails_match_in_status_body_headers_and_time(
        accounts_server: RunningServer, sink: SmtpSink) -> None:
    async with httpx.AsyncClient(base_url=accounts_server.base_url, timeout=30) as http:
        accounts: list[str] = []
        for batch in range(0, SAMPLES + WARM_UP, 10):
            bodies = await asyncio.gather(*(new_account(http) for _ in range(min(10, SAMPLES + WARM_UP - batch))))
            accounts += [b["user"]["email"] for b in bodies]
        for email in accounts:  # signup's verification mails are out of the way before timing starts
            await wait_for_mails(sink, email, 1, timeout_s=30)
        known, unknown = Samples(), Samples()
        for email in accounts[:WARM_UP]:
            await timed_forgot(http, unknown_email(), Samples())
            await timed_forgot(http, email, Samples())
        rng = random.Random(SEED)
        for email in accounts[WARM_UP:]:
            pair = [(unknown_email(), unknown), (email, known)]
            rng.shuffle(pair)
            for who, into in pair:
                await timed_forgot(http, who, into)
                await asyncio.sleep(SETTLE_S)
                if into is known:  # the known path does its work after all: the account gets its reset mail
                    await wait_for_mails(sink, who, 2)
                await asyncio.sleep(QUIET_S)
        for email in accounts[:WARM_UP]:
            await wait_for_mails(sink, email, 2)
        assert all(len(mails_to(sink, email)) == 2 for email in accounts)

    med_unknown, med_known = statistics.median(unknown.times), statistics.median(known.times)
    pooled = statistics.median(unknown.times + known.times)
    gap = abs(med_unknown - med_known)
    p_value = permutation_p_value(unknown.times, known.times, PERMUTATIONS, SEED)
    print(f"\nforgot-password timing, {SAMPLES} samples each: unknown email median {med_unknown * 1000:.2f} ms "
          f"(p10 {pct(unknown.times, 10):.2f}, p90 {pct(unknown.times, 90):.2f}); known email median "
          f"{med_known * 1000:.2f} ms (p10 {pct(known.times, 10):.2f}, p90 {pct(known.times, 90):.2f}); "
          f"gap {gap * 1000:.2f} ms = {gap / pooled:.1%} of {pooled * 1000:.2f} ms; permutation p = {p_value:.3f}")

    assert unknown.statuses == known.statuses == {202}
    assert unknown.bodies == known.bodies == {b"{}"}
    assert unknown.headers == known.headers and len(unknown.headers) == 1, unknown.headers ^ known.headers
    assert gap <= MEDIAN_TOLERANCE * pooled, f"medians differ by {gap / pooled:.1%}"
    assert p_value >= MIN_P_VALUE, f"the two timings differ systematically (permutation p = {p_value:.4f})"
