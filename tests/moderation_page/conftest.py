"""Fixtures of the browser tests: a private database, a server that knows its own URL, Chromium.

The dashboard shows the whole open queue, so these tests use a database of their own: other
test modules' reports would otherwise crowd the page (and the screenshot).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.moderation_page.browser import LAUNCH_ARGS, Dashboard, dashboard_server, find_chromium
from tests.support.pg import PostgresHandle, create_database, fresh_name, pooled_engine
from tests.support.server import RunningServer

if TYPE_CHECKING:
    from playwright.async_api import Browser


@pytest.fixture(scope="module")
def page_database_url(postgres: PostgresHandle) -> str:
    """A fresh, migrated database for this module's server."""
    return create_database(postgres, fresh_name("delete_page"))


@pytest.fixture(scope="module")
async def page_engine(page_database_url: str) -> AsyncIterator[AsyncEngine]:
    async with pooled_engine(page_database_url, pool_size=3) as eng:
        yield eng


@pytest.fixture(scope="module")
def media_dir(tmp_root: Path) -> Path:
    path = tmp_root / f"page-media-{secrets.token_hex(4)}"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
async def site(page_database_url: str, redis_url: str, media_dir: Path) -> AsyncIterator[RunningServer]:
    """The server the pages talk to; its PUBLIC_BASE_URL is its own address."""
    async with dashboard_server(page_database_url, redis_url, media_dir) as running:
        yield running


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """The system Chromium, headless; skips (with the reason) when there is none or no playwright."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("browser tests skipped: the playwright package is not installed (pip install -e '.[test]')")
    path, reason = find_chromium()
    if path is None:
        pytest.skip(reason)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS, timeout=30_000)
        try:
            yield chromium
        finally:
            await chromium.close()


OpenDashboard = Callable[..., Awaitable[Dashboard]]


@pytest.fixture
async def open_dashboard(browser: Browser, site: RunningServer) -> AsyncIterator[OpenDashboard]:
    """Open dashboards (each in its own browser context: its own memory); checks them for errors at the end."""
    opened: list[Dashboard] = []

    async def open_one(server: RunningServer | None = None) -> Dashboard:
        dash = await Dashboard.open(browser, (server or site).base_url)
        opened.append(dash)
        return dash

    yield open_one
    problems = [problem for dash in opened for problem in dash.problems]
    for dash in opened:
        await dash.close()
    assert problems == [], "the page raised errors or the CSP refused something"
