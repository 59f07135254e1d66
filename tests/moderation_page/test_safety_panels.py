"""The dashboard's safety panels in a real Chromium against a real server (issue 16): the word list, the photo
grid reviewed from the keyboard, and account search with actions; the statistics strip follows live events."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import httpx
import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.moderation.support import closed_with, scalar
from tests.moderation_page.browser import LIVE_MS, Dashboard
from tests.moderation_page.conftest import OpenDashboard
from tests.safety.conftest import cmid, fresh_word
from tests.support.factory import Person, make_match, make_person
from tests.support.photos import list_photos, picture, upload
from tests.support.server import RunningServer

if TYPE_CHECKING:
    from playwright.async_api import Locator

SETTLE_S = 5.0  # the filter's word cache and a closing socket: bounded waits, never sleeps for their own sake


def socket_url(server: RunningServer) -> str:
    return server.ws_url + "/v1/ws"


@pytest.fixture
async def http(site: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=site.base_url, timeout=10) as client:
        yield client


async def signed_in(open_dashboard: OpenDashboard, engine: AsyncEngine, name: str = "Mo") -> Dashboard:
    mod = await make_person(engine, name=name, role="moderator", photos=0)
    dash = await open_dashboard()
    await dash.sign_in(mod)
    return dash


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``check`` until it holds, for at most SETTLE_S."""
    deadline = asyncio.get_running_loop().time() + SETTLE_S
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.1)


async def refused(client: DeleteClient, match_id: str, body: str) -> bool:
    try:
        await client.call("messages.send", {"match_id": match_id, "body": body, "client_msg_id": cmid()})
    except ClientError as error:
        assert error.code == "content_blocked", error.code
        return True
    return False


async def test_a_block_word_added_on_the_page_refuses_a_message_until_it_is_removed(
        site: RunningServer, page_engine: AsyncEngine, open_dashboard: OpenDashboard) -> None:
    """Add a block word on the Word list tab: a user's message with it is refused; remove it: accepted again."""
    word = fresh_word()
    dash = await signed_in(open_dashboard, page_engine)
    ada, bo = await make_person(page_engine, name="Ada", photos=0), await make_person(page_engine, photos=0)
    match_id = str(await make_match(page_engine, ada, bo))

    await dash.page.get_by_role("tab", name="Word list").click()
    await dash.page.get_by_label("Word or phrase").fill(word)
    await dash.page.get_by_label("When a text contains it").select_option("block")
    await dash.page.get_by_role("button", name="Add").click()
    entry = dash.page.locator("#word-list li", has_text=word)
    await entry.wait_for()
    assert await entry.get_attribute("data-action") == "block"

    async with DeleteClient(socket_url(site), ada.token, auto_resume=False) as ada_socket:
        await eventually(lambda: refused(ada_socket, match_id, f"you are so {word} today"),
                         "a message with the new block word was accepted")
        await entry.get_by_role("button", name=f"Remove {word}").click()
        await entry.wait_for(state="detached")
        await eventually(lambda: _accepted(ada_socket, match_id, f"still {word}?"),
                         "a message with the removed word is still refused")
    assert await scalar(page_engine, "SELECT count(*) FROM messages WHERE sender_id = :u", u=ada.id) >= 1


async def _accepted(client: DeleteClient, match_id: str, body: str) -> bool:
    return not await refused(client, match_id, body)


async def new_photo(http: httpx.AsyncClient, owner: Person, shade: int) -> str:
    resp = await upload(http, owner.token, picture(size=(60, 40), color=(shade, 120, 200)))
    assert resp.status_code == 201, resp.text
    photo_id: str = resp.json()["id"]
    return photo_id


async def photo_status(engine: AsyncEngine, photo_id: str) -> str | None:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT review_status FROM photos WHERE id = :id"), {"id": photo_id})).first()
    return None if row is None else str(row[0])


async def test_the_photo_grid_reviews_from_the_keyboard_and_follows_other_moderators(
        site: RunningServer, page_engine: AsyncEngine, open_dashboard: OpenDashboard,
        http: httpx.AsyncClient) -> None:
    """Uploads appear live; another moderator's decision removes a tile; r + reason rejects (gone from the
    owner's photos), the next photo is selected and a approves it; the statistics follow."""
    dash = await signed_in(open_dashboard, page_engine)
    other = await make_person(page_engine, name="Other", role="moderator", photos=0)
    owner = await make_person(page_engine, name="Uma", photos=0)
    await dash.page.get_by_role("tab", name="Photos").click()
    await dash.page.locator('#photo-grid[aria-busy="false"]').wait_for(state="attached")
    pending = dash.page.locator('#stats [data-stat="photos_pending"] dd')

    first, second, third = [await new_photo(http, owner, shade) for shade in (20, 90, 160)]
    for photo_id in (first, second, third):
        await tile(dash, photo_id).wait_for(state="visible", timeout=LIVE_MS)
    await pending.filter(has_text="3").wait_for()  # refreshed on the live events, not only every 10 s

    async with DeleteClient(socket_url(site), other.token, auto_resume=False) as colleague:
        await colleague.call("moderation.photos.review", {"photo_id": third, "decision": "approve"})
    await tile(dash, third).wait_for(state="detached", timeout=LIVE_MS)

    assert await selected_photo(dash) == first  # the first to arrive in an empty grid; newest first: [second, first]
    await dash.press("ArrowLeft")
    assert await selected_photo(dash) == second
    await dash.press("ArrowRight")
    assert await selected_photo(dash) == first

    await dash.press("r")
    dialog = dash.page.get_by_role("dialog", name="Reject this photo?")
    await dialog.wait_for(state="visible")
    await dialog.get_by_role("button", name="Someone else's photo").click()
    await tile(dash, first).wait_for(state="detached")
    assert await photo_status(page_engine, first) in (None, "rejected")
    assert first not in [p["id"] for p in await list_photos(http, owner.token)]
    assert await selected_photo(dash) == second  # the next photo is selected after a decision

    await dash.press("a")
    await tile(dash, second).wait_for(state="detached")
    assert await photo_status(page_engine, second) == "approved"
    await dash.page.locator("#photos-empty").wait_for(state="visible")
    await pending.filter(has_text="0").wait_for()


def tile(dash: Dashboard, photo_id: str) -> Locator:
    return dash.page.locator(f'#photo-grid [data-photo-id="{photo_id}"]')


async def selected_photo(dash: Dashboard) -> str | None:
    return await dash.page.locator('#photo-grid [aria-selected="true"]').get_attribute("data-photo-id")


async def test_search_finds_by_email_prefix_and_suspends_then_reinstates(
        site: RunningServer, page_engine: AsyncEngine, open_dashboard: OpenDashboard) -> None:
    """Search by email prefix, open the account, suspend it (its socket closes with 4403), then reinstate it."""
    stem = f"zq{secrets.token_hex(4)}"
    target = await make_person(page_engine, name="Robin", photos=0)
    async with page_engine.begin() as conn:
        await conn.execute(text("UPDATE users SET email = :e WHERE id = :id"),
                           {"e": f"{stem}.robin@example.com", "id": target.id})
    dash = await signed_in(open_dashboard, page_engine)
    page = dash.page

    await page.get_by_role("tab", name="Search").click()
    await page.get_by_label("Find an account").fill(stem.upper())
    await page.get_by_role("button", name="Search", exact=True).click()
    result = page.locator(f'#search-results [data-user-id="{target.id}"]')
    await result.wait_for()
    assert f"{stem}.robin@example.com" in await result.inner_text()
    assert await page.locator("#search-results li").count() == 1
    await result.get_by_role("button").click()
    await page.locator("#account-title", has_text="Robin").wait_for()
    await page.locator("#account-meta", has_text=f"{stem}.robin@example.com").wait_for()

    async with DeleteClient(socket_url(site), target.token, auto_resume=False) as target_socket:
        await page.get_by_label("Action", exact=True).select_option("suspend")
        await page.get_by_label("for days").fill("3")
        await page.get_by_label("Why").fill("Spam in every chat, confirmed.")
        await page.get_by_role("button", name="Apply").click()
        assert await closed_with(target_socket) == 4403
    assert await scalar(page_engine, "SELECT status FROM users WHERE id = :id", id=target.id) == "suspended"
    await page.locator("#account-status", has_text="suspended until").wait_for()
    await page.locator("#account-history", has_text="suspended for 3 days").wait_for()
    await result.locator(".badge", has_text="suspended").wait_for()

    await page.get_by_label("Action", exact=True).select_option("reinstate")
    await page.get_by_label("Why").fill("Appeal accepted.")
    await page.get_by_role("button", name="Apply").click()
    await page.locator("#account-status", has_text="active").wait_for()
    assert await scalar(page_engine, "SELECT status FROM users WHERE id = :id", id=target.id) == "active"
    await page.locator("#account-history", has_text="reinstated").wait_for()
