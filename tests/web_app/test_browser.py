"""The reference web app in the system Chromium, loaded from ANOTHER origin than the API, against two real server
nodes: two people sign up, upload a photo, set their profile, take the quiz, see each other's card, like each
other (the first like needs a comment: the page explains the rule), both see the match appear live, chat live
(typing and read receipts), one on each node; node 0 is killed mid-chat and the conversation continues on node 1
with nothing lost. A page from an origin the nodes do not allow can neither log in nor open the socket.

``DELETE_UPDATE_SCREENSHOT=1`` refreshes the README's picture (docs/web-app.png).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.moderation_page.test_browser import write_small_png
from tests.support.nodes import Nodes
from tests.support.users import PASSWORD, new_email
from tests.web_app.app_page import LIVE_MS, PHONE, AppPage
from tests.web_app.conftest import Sites

if TYPE_CHECKING:
    from playwright.async_api import Browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "web-app.png"
BERLIN = (52.5200, 13.4050)


async def set_up(person: AppPage, *, gender: str, interested_in: str, near: tuple[float, float], hue: int,
                 bio: str, prompt: str, quiz: list[int]) -> None:
    """Everything discovery needs: profile with location, a photo, the quiz (and a prompt, for the card)."""
    await person.sign_up()
    await person.set_profile(gender=gender, interested_in=interested_in, lat=near[0], lon=near[1], bio=bio)
    await person.upload_photo(hue)
    await person.answer_prompt(prompt)
    await person.take_quiz(quiz)
    await person.page.locator('#discoverable[data-discoverable="true"]').wait_for()


async def test_two_people_match_and_chat_live_across_a_node_failure(
        browser: Browser, web_setup: tuple[Nodes, Sites], tmp_path: Path) -> None:
    nodes, sites = web_setup
    ana = await AppPage.open(browser, sites.a.origin, "Ana")                  # APIs: node 0, then node 1
    ben = await AppPage.open(browser, sites.b.origin, "Ben", viewport=PHONE)  # APIs: node 1, then node 0
    try:
        await run_scenario(ana, ben, nodes, tmp_path)
    finally:
        problems = ana.problems + ben.problems
        await ana.close()
        await ben.close()
    assert problems == [], "the page raised errors or the CSP refused something"


async def run_scenario(ana: AppPage, ben: AppPage, nodes: Nodes, tmp_path: Path) -> None:
    # -- two people set up, Ana first: she waits in Discover, and Ben's card streams in once he is eligible
    await set_up(ana, gender="woman", interested_in="man", near=BERLIN, hue=10, bio="Climbing, cooking, cold lakes.",
                 prompt="Sunday mornings at the flea market.", quiz=[2, 4, 3, 2, 4, 3])
    await ana.go("Discover")
    await ana.page.get_by_text("No one new right now").wait_for()
    await set_up(ben, gender="man", interested_in="woman", near=(52.5300, 13.4100), hue=120,
                 bio="Cyclist and amateur baker.", prompt="I will bake you bread.", quiz=[2, 4, 3, 3, 4, 2])
    await ana.card("Ben").wait_for(timeout=LIVE_MS)
    assert "km away" in await ana.card("Ben").inner_text()

    # -- Ana likes without a comment: the page explains the rule; with a comment the like goes through
    await ana.page.get_by_role("button", name="Like").click()
    await ana.alert().wait_for()
    rule = await ana.alert().inner_text()
    assert "first 5 likes need a comment" in rule and "10 to 500" in rule, rule
    await ana.page.get_by_label("Comment").fill("A baker who cycles? Tell me about your sourdough.")
    await ana.page.get_by_role("button", name="Like").click()
    await ana.card("Ben").wait_for(state="detached")

    # -- Ben gets the like live (the Likes badge), sees Ana's card in Discover and likes back: a match for both
    await ben.page.locator("#likes-count", has_text="1").wait_for(timeout=LIVE_MS)
    await ben.go("Discover")
    await ben.card("Ana").wait_for()
    await ben.page.get_by_label("Comment").fill("The flea market sounds perfect, which one?")
    await ana.go("Matches")
    await ben.page.get_by_role("button", name="Like").click()
    await ana.match_entry("Ben").wait_for(timeout=LIVE_MS)   # match.created, live on Ana's page (node 0)
    await ben.page.get_by_text("It's a match with Ana!").wait_for(timeout=LIVE_MS)
    await ben.go("Matches")
    await ben.match_entry("Ana").click()
    await ana.match_entry("Ben").click()

    # -- chat live, typing and read receipts both ways
    await ana.send("Hi Ben! Sourdough first, then the market?")
    await ben.page.locator("#messages", has_text="Sourdough first").wait_for(timeout=LIVE_MS)
    await ben.page.get_by_label("Message", exact=True).press_sequentially("Deal", delay=20)
    await ana.page.locator("#typing", has_text="Ben is typing").wait_for(timeout=LIVE_MS)
    await ben.send("Deal. Saturday at ten?")
    await ana.page.locator("#messages", has_text="Saturday at ten").wait_for(timeout=LIVE_MS)
    await ana.page.locator("#messages .receipt").wait_for(timeout=LIVE_MS)  # Ben's page read Ana's message
    await ben.page.locator("#messages .receipt").wait_for(timeout=LIVE_MS)  # and Ana's read Ben's
    # contact shielding: in a match's first day a link is delivered with a `safety` flag, shown as a warning
    await ben.send("My recipe is at https://example.com/sourdough")
    await ana.page.locator("#messages .safety", has_text="contains a link").wait_for(timeout=LIVE_MS)
    # presence: Ben's tab reloads (the session resumes from sessionStorage); Ana sees him come back online
    await ben.page.reload()
    await ben.page.locator("#messages", has_text="recipe").wait_for()
    await ana.page.locator('.chat-head [data-presence="online"]').wait_for(timeout=LIVE_MS)
    await screenshot(ana, tmp_path)

    # -- node 0 (Ana's) dies mid-chat: her page resumes on node 1; what both send meanwhile arrives once each
    await ana.page.evaluate("""() => {
        window.__connStates = [];
        const conn = document.getElementById('conn');
        new MutationObserver(() => window.__connStates.push(conn.dataset.state))
            .observe(conn, {attributes: true, attributeFilter: ['data-state']});
    }""")
    nodes.kill(0)
    await ben.send("Still there?")
    await ana.send("Yes! My connection hiccuped.")   # sent while reconnecting: retried with the same client_msg_id
    await ana.page.wait_for_function("() => window.__connStates.includes('reconnecting')", timeout=LIVE_MS)
    await ana.wait_state("open", timeout_ms=LIVE_MS * 2)
    await ben.send("Great, see you Saturday.")
    expected = ["Hi Ben! Sourdough first, then the market?", "Deal. Saturday at ten?",
                "My recipe is at https://example.com/sourdough", "Still there?",
                "Yes! My connection hiccuped.", "Great, see you Saturday."]
    for person in (ana, ben):
        await person.page.locator("#messages", has_text="see you Saturday").wait_for(timeout=LIVE_MS)
        await person.page.locator("#messages", has_text="connection hiccuped").wait_for(timeout=LIVE_MS)
        texts = await person.message_texts()
        assert sorted(texts) == sorted(expected), f"{person.name}: {texts}"
    # a reload resumes from the stored session (refresh through node 1) and shows the same history, once each
    await ana.page.reload()
    await ana.page.locator("#messages", has_text="see you Saturday").wait_for()
    assert sorted(await ana.message_texts()) == sorted(expected)


async def screenshot(person: AppPage, tmp_path: Path) -> None:
    await person.page.evaluate("() => document.getElementById('toasts').replaceChildren()")
    png = await person.page.screenshot(animations="disabled", caret="hide")
    target = SCREENSHOT if os.environ.get("DELETE_UPDATE_SCREENSHOT") == "1" else tmp_path / SCREENSHOT.name
    write_small_png(png, target)
    assert 5_000 < target.stat().st_size < 250_000


async def test_a_page_from_an_unlisted_origin_can_neither_log_in_nor_open_the_socket(
        browser: Browser, web_setup: tuple[Nodes, Sites]) -> None:
    nodes, sites = web_setup
    node = next(n for n in nodes.nodes if n.running)
    async with httpx.AsyncClient(base_url=node.base_url, timeout=10) as http:   # no Origin: an app, not a page
        email = new_email()
        signup = await http.post("/v1/auth/signup", json={"email": email, "password": PASSWORD,
                                                          "display_name": "Ro", "birthdate": "1990-01-01"})
        assert signup.status_code == 201, signup.text
        token = signup.json()["access_token"]
        preflight = await http.options("/v1/auth/login", headers={
            "Origin": sites.rogue.origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers

    page = await AppPage.open(browser, sites.rogue.origin, "Ro")
    try:
        await page.log_in(email)
        await page.alert().wait_for()
        assert "Cannot reach the Delete server" in await page.alert().inner_text()
        assert await page.page.locator("#conn").get_attribute("data-state") == "signed-out"
        # the socket, opened by hand from this page with a valid token: the upgrade is refused, never opened
        outcome = await page.page.evaluate("""([url, token]) => new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.onopen = () => { ws.send(JSON.stringify({type: 'auth', data: {token}})); resolve('open'); };
            ws.onclose = (event) => resolve(`closed ${event.code}`);
        })""", [node.ws_url, token])
        assert outcome == "closed 1006", outcome
    finally:
        await page.close()
    # what the browser hides (it reports 1006): the server answered the upgrade with HTTP 403
    with pytest.raises(InvalidStatus) as refused:
        async with connect(node.ws_url, origin=sites.rogue.origin, open_timeout=10):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403


async def test_the_mail_link_pages_read_the_token_from_the_fragment_and_explain_a_bad_one(
        browser: Browser, web_setup: tuple[Nodes, Sites]) -> None:
    """/app/verify-email#token=… and /app/reset-password#token=…: a bad token is explained, and the token leaves the
    address bar at once."""
    _, sites = web_setup
    page = await AppPage.open(browser, sites.a.origin, "Link", path="/app/verify-email#token=not-a-real-token")
    try:
        await page.alert().wait_for()
        assert "expired or was already used" in await page.alert().inner_text()
        assert page.page.url.endswith("/app/verify-email")
        await page.page.goto("/app/reset-password#token=not-a-real-token")
        await page.page.get_by_label("New password", exact=True).fill("a brand new password")
        await page.page.get_by_role("button", name="Set password").click()
        await page.alert().wait_for()
        assert "expired or was already used" in await page.alert().inner_text()
        assert "#" not in page.page.url
    finally:
        problems = page.problems
        await page.close()
    assert problems == []
