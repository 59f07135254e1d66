"""Fixtures of the web app's browser tests: two real server nodes on a private database, the app served from two
allowed origins (one per person, each naming the nodes in its own order) and from one origin the nodes do not
allow, and the system Chromium.

The sockets of the three static sites are bound before the nodes start, so ``ALLOWED_ORIGINS`` can name two of
them. The database is this module's own: discovery shows everyone eligible, and other modules' people would
crowd the cards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.moderation_page.browser import LAUNCH_ARGS, find_chromium
from tests.support.nodes import Nodes, running_nodes
from tests.support.pg import PostgresHandle, create_database, fresh_name
from tests.support.server import base_url_of, loopback_socket
from tests.support.web_app_site import Site, running_site

if TYPE_CHECKING:
    from playwright.async_api import Browser


@dataclass(frozen=True)
class Sites:
    """Where the pages come from: ``a`` and ``b`` are allowed (APIs node 0 first / node 1 first), ``rogue`` not."""

    a: Site
    b: Site
    rogue: Site


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


@pytest.fixture(scope="module")
def web_database_url(postgres: PostgresHandle) -> str:
    """A fresh, migrated database for this module's nodes."""
    return create_database(postgres, fresh_name("delete_webapp"))


@pytest.fixture(scope="module")
async def web_setup(browser: Browser, web_database_url: str, redis_url: str,
                    tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Nodes, Sites]]:
    """Two nodes that allow the origins of sites ``a`` and ``b`` (not ``rogue``), and the three sites."""
    database_url = web_database_url
    socks = [loopback_socket() for _ in range(3)]
    allowed = ",".join(base_url_of(s) for s in socks[:2])
    root: Path = tmp_path_factory.mktemp("web-app")
    async with running_nodes(2, database_url=database_url, redis_url=redis_url, root=root,
                             extra_env={"ALLOWED_ORIGINS": allowed}) as nodes:
        urls = [n.base_url for n in nodes.nodes]
        async with running_site(socks[0], urls) as a, running_site(socks[1], urls[::-1]) as b, \
                running_site(socks[2], urls) as rogue:
            yield nodes, Sites(a, b, rogue)
