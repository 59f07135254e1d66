"""Login throttling that a stranger cannot turn against the owner (issue 19).

Failures count per (account, client address) pair, per address and per account. Tests that need several
client addresses run a server with ``TRUSTED_PROXY_HEADER=X-Forwarded-For`` and send that header, as a
proxy in front of the server would; each test uses addresses of its own.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from infra.login_throttle import address_bucket
from rest.client_address import forwarded_address
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings
from tests.support.users import PASSWORD, new_email, signup

WRONG = "not the password"
ACCOUNT_CEILING = 12  # the proxied server's per-account ceiling (production: 100 per hour)
_serial = itertools.count(1)


def fresh_address() -> str:
    """An IPv4 address no other test of the session uses."""
    n = next(_serial)
    return f"10.{secrets.randbelow(250)}.{n // 250 % 250}.{n % 250 + 1}"


async def login(http: httpx.AsyncClient, email: str, password: str, address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address is not None else {}
    return await http.post("/v1/auth/login", json={"email": email, "password": password}, headers=headers)


def assert_throttled(resp: httpx.Response, window_s: int) -> int:
    """429 rate_limited with a Retry-After equal to ``details.retry_after_s``, within the window."""
    assert resp.status_code == 429, resp.text
    error = resp.json()["error"]
    assert error["code"] == "rate_limited"
    retry_after = int(resp.headers["Retry-After"])
    assert 0 < retry_after <= window_s
    assert error["details"]["retry_after_s"] == retry_after
    return retry_after


@pytest.fixture(scope="module")
async def proxied(database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[RunningServer]:
    """A server behind a (pretend) proxy: the client address comes from X-Forwarded-For."""
    settings = make_settings(database_url, redis_url, tmp_root / "media-throttle",
                             trusted_proxy_header="x-forwarded-for", login_max_failures_per_account=ACCOUNT_CEILING)
    async with run_server(settings) as srv:
        yield srv


@pytest.fixture(scope="module")
async def direct(database_url: str, redis_url: str, tmp_root: Path) -> AsyncIterator[RunningServer]:
    """A server with the default settings: no proxy header is trusted."""
    async with run_server(make_settings(database_url, redis_url, tmp_root / "media-throttle-direct")) as srv:
        yield srv


@pytest.fixture
async def http(proxied: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=proxied.base_url, timeout=10) as client:
        yield client


# -- per (account, address) pair --------------------------------------------------------------------------

async def test_a_strangers_failures_do_not_lock_the_owner_out(http: httpx.AsyncClient) -> None:
    """5 wrong passwords from a stranger's address: the stranger gets 429, the owner at home still logs in."""
    email = new_email()
    await signup(http, email=email)
    stranger, owner = fresh_address(), fresh_address()
    for _ in range(5):
        assert (await login(http, email, WRONG, stranger)).status_code == 401
    assert_throttled(await login(http, email, PASSWORD, stranger), 900)
    assert_throttled(await login(http, email, WRONG, stranger), 900)
    assert (await login(http, email, PASSWORD, owner)).status_code == 200


async def test_a_login_clears_the_failures_of_its_own_address(http: httpx.AsyncClient) -> None:
    """4 typos then the right password: the next 4 typos from that address are again plain 401s."""
    email = new_email()
    await signup(http, email=email)
    home = fresh_address()
    for _ in range(4):
        assert (await login(http, email, WRONG, home)).status_code == 401
    assert (await login(http, email, PASSWORD, home)).status_code == 200
    for _ in range(4):
        assert (await login(http, email, WRONG, home)).status_code == 401
    assert (await login(http, email, PASSWORD, home)).status_code == 200


# -- per address, across accounts -------------------------------------------------------------------------

async def test_one_address_trying_many_accounts_hits_the_address_ceiling(http: httpx.AsyncClient,
                                                                         proxied: RunningServer) -> None:
    """50 failures on 50 accounts from one address: a 51st account gets 429 there, and from elsewhere 200.

    The stuffer logging into an account of their own every 10 tries does not reset the count; that account
    (logged into from this address) stays usable from it.
    """
    ceiling = proxied.settings.login_max_failures_per_address
    assert ceiling == 50  # the production default
    stuffer = fresh_address()
    own = new_email()
    await signup(http, email=own)
    targets = [new_email() for _ in range(ceiling)]
    for email in targets[::5]:  # a fifth of the targets exist, the rest are unknown: both count alike
        await signup(http, email=email)
    for i, email in enumerate(targets):
        if i % 10 == 0:
            assert (await login(http, own, PASSWORD, stuffer)).status_code == 200
        assert (await login(http, email, WRONG, stuffer)).status_code == 401
    victim = new_email()
    await signup(http, email=victim)
    assert_throttled(await login(http, victim, PASSWORD, stuffer), 900)
    assert_throttled(await login(http, new_email(), WRONG, stuffer), 900)
    assert (await login(http, victim, PASSWORD, fresh_address())).status_code == 200
    assert (await login(http, own, PASSWORD, stuffer)).status_code == 200


# -- per account, across addresses ------------------------------------------------------------------------

async def test_many_addresses_guessing_one_account_hit_the_account_ceiling(http: httpx.AsyncClient) -> None:
    """One failure from each of 12 addresses: a 13th address gets 429 even with the right password;
    the owner at an address they logged in from before is not locked out."""
    email = new_email()
    await signup(http, email=email)
    home = fresh_address()
    assert (await login(http, email, PASSWORD, home)).status_code == 200
    for _ in range(ACCOUNT_CEILING):
        assert (await login(http, email, WRONG, fresh_address())).status_code == 401
    assert_throttled(await login(http, email, PASSWORD, fresh_address()), 3600)
    assert (await login(http, email, PASSWORD, home)).status_code == 200


# -- unknown and known emails alike -----------------------------------------------------------------------

def comparable(resp: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    """Status, body and headers without the parts that tick with the clock (checked separately)."""
    body = resp.json()
    retry = body["error"].get("details", {}).pop("retry_after_s", None)
    assert retry is None or retry == int(resp.headers["Retry-After"])
    headers = {k: v for k, v in resp.headers.items() if k not in ("date", "retry-after", "content-length")}
    return resp.status_code, body, headers


def assert_same_answer(known: httpx.Response, unknown: httpx.Response) -> None:
    assert comparable(known) == comparable(unknown)
    assert abs(int(known.headers.get("Retry-After", 0)) - int(unknown.headers.get("Retry-After", 0))) <= 1


async def test_unknown_and_known_emails_are_throttled_identically(http: httpx.AsyncClient) -> None:
    """Per pair and per account, an unknown email gets the same 401s, then the same 429, as a real one."""
    known, unknown = new_email(), new_email()
    await signup(http, email=known)
    stranger = fresh_address()
    for _ in range(5):
        assert_same_answer(await login(http, known, WRONG, stranger), await login(http, unknown, WRONG, stranger))
    first = await login(http, known, WRONG, stranger)
    assert_throttled(first, 900)
    assert_same_answer(first, await login(http, unknown, WRONG, stranger))

    known, unknown = new_email(), new_email()
    await signup(http, email=known)
    for _ in range(ACCOUNT_CEILING):
        address = fresh_address()
        assert_same_answer(await login(http, known, WRONG, address), await login(http, unknown, WRONG, address))
    address = fresh_address()
    first = await login(http, known, WRONG, address)
    assert_throttled(first, 3600)
    assert_same_answer(first, await login(http, unknown, WRONG, address))


# -- where the client address comes from ------------------------------------------------------------------

async def test_without_the_setting_a_client_sent_forwarded_for_is_ignored(direct: RunningServer) -> None:
    """With no trusted header, a new X-Forwarded-For on every try does not escape the pair limit."""
    async with httpx.AsyncClient(base_url=direct.base_url, timeout=10) as client:
        email = new_email()
        await signup(client, email=email)
        for _ in range(5):
            assert (await login(client, email, WRONG, fresh_address())).status_code == 401
        assert_throttled(await login(client, email, PASSWORD, fresh_address()), 900)


async def test_the_rightmost_forwarded_entry_is_the_client(http: httpx.AsyncClient) -> None:
    """Entries the client wrote to the left (on one header line or several) change nothing; the last does."""
    email = new_email()
    await signup(http, email=email)
    stranger = fresh_address()
    for _ in range(5):
        assert (await login(http, email, WRONG, f"{fresh_address()}, {stranger}")).status_code == 401
    assert_throttled(await login(http, email, PASSWORD, f"{fresh_address()},{stranger}"), 900)
    two_lines = [("X-Forwarded-For", fresh_address()), ("X-Forwarded-For", stranger)]
    resp = await http.post("/v1/auth/login", json={"email": email, "password": PASSWORD}, headers=two_lines)
    assert_throttled(resp, 900)
    assert (await login(http, email, PASSWORD, f"{stranger}, {fresh_address()}")).status_code == 200


@pytest.mark.parametrize("garbage", ["not-an-ip", "unknown", "", "10.0.0.1:8443", "300.1.2.3", "10.0.0.1,"])
async def test_a_malformed_forwarded_value_falls_back_to_the_peer(http: httpx.AsyncClient, garbage: str) -> None:
    """Failures sent with a malformed header count for the TCP peer: the peer without the header is throttled."""
    email = new_email()
    await signup(http, email=email)
    for _ in range(5):
        assert (await login(http, email, WRONG, garbage)).status_code == 401
    assert_throttled(await login(http, email, PASSWORD), 900)
    assert (await login(http, email, PASSWORD, fresh_address())).status_code == 200


async def test_ipv6_addresses_count_per_64_block(http: httpx.AsyncClient) -> None:
    """Rotating addresses inside one /64 does not escape the pair limit; another /64 is someone else."""
    email = new_email()
    await signup(http, email=email)
    block = f"2001:db8:{secrets.randbelow(0xffff):x}:{secrets.randbelow(0xffff):x}"
    for i in range(1, 6):
        assert (await login(http, email, WRONG, f"{block}::{i}")).status_code == 401
    assert_throttled(await login(http, email, PASSWORD, f"{block}:ffff:ffff:ffff:ffff"), 900)
    other = f"2001:db8:{secrets.randbelow(0xffff):x}:{secrets.randbelow(0xffff):x}::1"
    assert (await login(http, email, PASSWORD, other)).status_code == 200


async def test_redis_holds_no_raw_email_or_address(http: httpx.AsyncClient, proxied: RunningServer,
                                                   redis_client: aioredis.Redis) -> None:
    """The throttle's keys and values name neither the email nor the address (nor its /24)."""
    email = new_email()
    await signup(http, email=email)
    address = fresh_address()
    for _ in range(2):
        await login(http, email, WRONG, address)
    assert (await login(http, email, PASSWORD, address)).status_code == 200
    prefix = str(proxied.settings.extra["redis_prefix"])
    keys = [k.decode() async for k in redis_client.scan_iter(match=f"{prefix}login-*", count=1000)]
    assert any("login-known" in k for k in keys) and any("login-fail" in k for k in keys)
    values = [str(await redis_client.get(k)) for k in keys]
    needles = (email, email.split("@")[0], address, address.rsplit(".", 1)[0])
    assert not [n for n in needles for text in keys + values if n in text]


# -- the parsing rules, piece by piece --------------------------------------------------------------------

@pytest.mark.parametrize(("values", "expected"), [
    (["203.0.113.9"], "203.0.113.9"),
    (["198.51.100.1, 203.0.113.9"], "203.0.113.9"),
    (["198.51.100.1", "203.0.113.9"], "203.0.113.9"),
    (["  2001:DB8::1  "], "2001:db8::1"),
    (["203.0.113.9, garbage"], None),
    (["203.0.113.9:443"], None),
    ([""], None),
])
def test_forwarded_address_takes_the_rightmost_valid_entry(values: list[str], expected: str | None) -> None:
    assert forwarded_address(values) == expected


@pytest.mark.parametrize(("address", "bucket"), [
    ("203.0.113.9", "203.0.113.9"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("unknown", "unknown"),
])
def test_addresses_are_counted_per_ipv4_address_or_ipv6_64(address: str, bucket: str) -> None:
    assert address_bucket(address) == bucket
