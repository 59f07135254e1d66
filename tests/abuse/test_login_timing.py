"""Login must not tell whether an email has an account: same status, same body, same time.

A dedicated server hashes at bcrypt cost 8 (the production 12 costs the same on both paths, just 16x
longer) with the failed-login limits raised (every sample comes from one address), and every sample uses an
email of its own, so throttling never answers instead of the password check. The two kinds of request are
interleaved in a seeded random order (slow drift of the machine hits both alike). Method and figures:
docs/fuzzing.md.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings
from tests.support.timing import Samples, pct, permutation_p_value
from tests.support.users import PASSWORD, new_email, signup

SAMPLES = 100  # of each kind
WARM_UP = 5
BCRYPT_COST = 8
MEDIAN_TOLERANCE = 0.15  # |median difference| / pooled median
PERMUTATIONS = 4_000
MIN_P_VALUE = 0.001
SEED = 20_240_601


@pytest.fixture(scope="module")
async def timing_server(database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[RunningServer]:
    settings = make_settings(database_url, redis_url, tmp_root / "media-timing", bcrypt_cost=BCRYPT_COST,
                             login_max_failures=1_000, login_max_failures_per_address=100_000)
    async with run_server(settings) as srv:
        yield srv


async def timed_login(http: httpx.AsyncClient, email: str, password: str, into: Samples) -> None:
    started = time.perf_counter()
    resp = await http.post("/v1/auth/login", json={"email": email, "password": password})
    into.add(resp, time.perf_counter() - started)


async def test_unknown_email_and_wrong_password_match_in_status_body_and_time(timing_server: RunningServer) -> None:
    """Over 100 interleaved samples each, both failures answer the same 401 body with medians within 15%."""
    async with httpx.AsyncClient(base_url=timing_server.base_url, timeout=30) as http:
        accounts: list[str] = []
        for batch in range(0, SAMPLES + WARM_UP, 10):
            bodies = await asyncio.gather(*(signup(http) for _ in range(min(10, SAMPLES + WARM_UP - batch))))
            accounts += [b["user"]["email"] for b in bodies]
        unknown, wrong = Samples(), Samples()
        for email in accounts[:WARM_UP]:  # the first unknown email also creates the server's dummy hash
            await timed_login(http, new_email(), PASSWORD, Samples())
            await timed_login(http, email, PASSWORD + "!", Samples())
        rng = random.Random(SEED)
        for email in accounts[WARM_UP:]:
            pair = [(new_email(), PASSWORD, unknown), (email, PASSWORD + "!", wrong)]
            rng.shuffle(pair)
            for who, password, into in pair:
                await timed_login(http, who, password, into)

    med_unknown, med_wrong = statistics.median(unknown.times), statistics.median(wrong.times)
    pooled = statistics.median(unknown.times + wrong.times)
    gap = abs(med_unknown - med_wrong)
    p_value = permutation_p_value(unknown.times, wrong.times, PERMUTATIONS, SEED)
    print(f"\nlogin timing at bcrypt cost {BCRYPT_COST}, {SAMPLES} samples each: unknown email median "
          f"{med_unknown * 1000:.2f} ms (p10 {pct(unknown.times, 10):.2f}, p90 {pct(unknown.times, 90):.2f}); "
          f"wrong password median {med_wrong * 1000:.2f} ms (p10 {pct(wrong.times, 10):.2f}, "
          f"p90 {pct(wrong.times, 90):.2f}); gap {gap * 1000:.2f} ms = {gap / pooled:.1%} of {pooled * 1000:.2f} ms; "
          f"permutation p = {p_value:.3f}")

    assert unknown.statuses == wrong.statuses == {401}
    assert len(unknown.bodies | wrong.bodies) == 1, unknown.bodies | wrong.bodies
    assert b'"invalid_credentials"' in next(iter(unknown.bodies))
    assert unknown.headers == wrong.headers and len(unknown.headers) == 1
    assert gap <= MEDIAN_TOLERANCE * pooled, f"medians differ by {gap / pooled:.1%}"
    assert p_value >= MIN_P_VALUE, f"the two timings differ systematically (permutation p = {p_value:.4f})"
