"""Driving the dashboard in the system Chromium through Playwright (never a downloaded browser).

``find_chromium`` decides whether the browser tests can run: ``DELETE_TEST_CHROMIUM`` (a path) if
set, else ``/usr/bin/chromium``, else ``chromium`` / ``chromium-browser`` on PATH. ``Dashboard``
wraps one page of one moderator, with bounded waits and a record of page errors and CSP refusals.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from delete_api.settings import Settings
from tests.support.factory import Person
from tests.support.server import RunningServer, base_url_of, loopback_socket, run_server
from tests.support.settings import make_settings
from tests.support.users import PASSWORD

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage, Error, Locator, Page, ViewportSize

CHROMIUM_ENV = "DELETE_TEST_CHROMIUM"
SYSTEM_CHROMIUM = "/usr/bin/chromium"
# The machine's network is closed: these keep Chromium from phoning home (and from the noise of failing to).
LAUNCH_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
WAIT_MS = 15000     # default bound for every Playwright wait (generous: CI shares 2 cores with other suites)
LIVE_MS = 2000      # what the issue promises for a new report to show up


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_chromium() -> tuple[str | None, str]:
    """``(path, "")`` of the Chromium to drive, or ``(None, why not)`` as a skip reason."""
    override = os.environ.get(CHROMIUM_ENV)
    if override is not None:
        if _executable(override):
            return override, ""
        return None, (f"browser tests skipped: {CHROMIUM_ENV}={override!r} is not an executable Chromium "
                      f"(unset it to use {SYSTEM_CHROMIUM} or `chromium` on PATH)")
    if _executable(SYSTEM_CHROMIUM):
        return SYSTEM_CHROMIUM, ""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found, ""
    return None, (f"browser tests skipped: no Chromium at {SYSTEM_CHROMIUM} or as `chromium` on PATH "
                  "(install Debian's package: apt-get install chromium; .ci/run does this; "
                  "`playwright install` is never used)")


@asynccontextmanager
async def dashboard_server(database_url: str, redis_url: str, media_dir: Path,
                           **overrides: Any) -> AsyncIterator[RunningServer]:
    """A real server whose ``PUBLIC_BASE_URL`` is its own address, so the page's Origin may open the socket."""
    sock = loopback_socket()
    settings: Settings = make_settings(database_url, redis_url, media_dir, public_base_url=base_url_of(sock),
                                       **overrides)
    async with run_server(settings, sock=sock) as running:
        yield running


@dataclass
class Dashboard:
    """One moderator's dashboard page."""

    page: Page
    base_url: str
    problems: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, browser: Browser, base_url: str) -> Dashboard:
        context = await browser.new_context(viewport=VIEWPORT, base_url=base_url)
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        page = await context.new_page()
        dash = cls(page, base_url)
        page.on("pageerror", dash._on_page_error)
        page.on("console", dash._on_console)
        await page.goto("/moderation")
        return dash

    def _on_page_error(self, error: Error) -> None:
        self.problems.append(f"page error: {error}")

    def _on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.problems.append(f"console: {text}")

    async def close(self) -> None:
        await self.page.context.close()

    # -- signing in ---------------------------------------------------------------------------------

    async def submit_sign_in(self, email: str, password: str = PASSWORD) -> None:
        await self.page.get_by_label("Email").fill(email)
        await self.page.get_by_label("Password").fill(password)
        await self.page.get_by_role("button", name="Sign in").click()

    async def sign_in(self, person: Person) -> None:
        """Sign in and wait until the queue snapshot is on screen."""
        await self.submit_sign_in(person.email)
        await self.wait_state("connected")
        await self.page.locator('#queue[aria-busy="false"]').wait_for(state="attached")

    # -- reading the page -----------------------------------------------------------------------------

    def entry(self, report_id: object) -> Locator:
        return self.page.locator(f'#queue [data-report-id="{report_id}"]')

    def resolved(self, report_id: object) -> Locator:
        return self.page.locator(f'#resolved-log [data-report-id="{report_id}"]')

    async def state(self) -> str | None:
        return await self.page.locator("#conn").get_attribute("data-state")

    async def wait_state(self, state: str, timeout_ms: int = WAIT_MS) -> None:
        await self.page.locator(f'#conn[data-state="{state}"]').wait_for(state="attached", timeout=timeout_ms)

    async def selected_id(self) -> str | None:
        return await self.page.locator('#queue [aria-selected="true"]').get_attribute("data-report-id")

    async def record_states(self) -> None:
        """From now on, remember every state the connection indicator shows (read with ``states``)."""
        await self.page.evaluate("""() => {
            window.__connStates = [];
            const conn = document.getElementById('conn');
            new MutationObserver(() => window.__connStates.push(conn.dataset.state))
                .observe(conn, {attributes: true, attributeFilter: ['data-state']});
        }""")

    async def states(self) -> list[str]:
        states: list[str] = await self.page.evaluate("() => window.__connStates")
        return states

    async def press(self, *keys: str) -> None:
        for key in keys:
            await self.page.keyboard.press(key)
