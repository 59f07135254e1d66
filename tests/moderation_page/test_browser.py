"""The dashboard in a real Chromium against a real server: live queue, decisions, reconnects, sign-in rules."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from delete_client import DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events.log import EventLog
from tests.moderation.support import closed_with, make_report, scalar
from tests.moderation_page.browser import LIVE_MS, dashboard_server
from tests.moderation_page.conftest import OpenDashboard
from tests.support.events import event_log
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer

WAIT_S = 10.0


def socket_url(server: RunningServer) -> str:
    return server.ws_url + "/v1/ws"


async def moderator(engine: AsyncEngine, name: str = "Mo") -> Person:
    return await make_person(engine, name=name, role="moderator", photos=0)


async def person(engine: AsyncEngine, name: str = "Sam", photos: int = 0) -> Person:
    # no photos by default: factory photos have no files, and a broken image is noise on the page
    return await make_person(engine, name=name, photos=photos)


async def report_over_socket(server: RunningServer, reporter: Person, reported: Person, reason: str = "harassment",
                             details: str | None = "Kept messaging after I said no.") -> str:
    """The app's way: the reporter's socket sends ``report``; returns the report id."""
    async with DeleteClient(socket_url(server), reporter.token, auto_resume=False) as client:
        data: dict[str, Any] = {"user_id": str(reported.id), "reason": reason}
        if details is not None:
            data["details"] = details
        reply = await client.call("report", data)
    return str(reply["report_id"])


@pytest.fixture
async def events(site: RunningServer, redis_url: str) -> AsyncIterator[EventLog]:
    """Publishes on the site's Redis channels (to close a user's sockets as the server would)."""
    async with event_log(redis_url, str(site.settings.extra["redis_prefix"])) as log:
        yield log


async def report_status(engine: AsyncEngine, report_id: str) -> tuple[str, str | None]:
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, resolution FROM reports WHERE id = :id"),
                                  {"id": report_id})).one()
    return row[0], row[1]


async def test_a_report_from_the_app_appears_live_within_two_seconds(
        site: RunningServer, page_engine: AsyncEngine, open_dashboard: OpenDashboard) -> None:
    """A report made over an app user's socket shows up on an open dashboard within 2 s, without a reload."""
    mod, reporter, target = await moderator(page_engine), await person(page_engine), await person(page_engine, "Riley")
    dash = await open_dashboard()
    await dash.sign_in(mod)
    await dash.page.evaluate("() => { window.__sameDocument = true; }")

    started = time.monotonic()
    report_id = await report_over_socket(site, reporter, target, "fake_profile", "Photos are of a celebrity.")
    await dash.entry(report_id).wait_for(state="visible", timeout=LIVE_MS)
    assert time.monotonic() - started < LIVE_MS / 1000

    entry_text = await dash.entry(report_id).inner_text()
    assert "Riley" in entry_text and "Fake profile" in entry_text and "Photos are of a celebrity." in entry_text
    assert "1 in 7 d" in entry_text  # the triage signals came with the live entry
    assert await dash.page.evaluate("() => window.__sameDocument") is True


async def test_ban_from_the_page_closes_the_users_socket_and_a_second_moderator_sees_it(
        site: RunningServer, page_engine: AsyncEngine, open_dashboard: OpenDashboard) -> None:
    """Ban via the button and the in-page confirmation: the user's socket closes 4403; another moderator sees it."""
    mod, other_mod = await moderator(page_engine, "Alex"), await moderator(page_engine, "Bo")
    reporter, target = await person(page_engine), await person(page_engine, "Quinn")
    first, second = await open_dashboard(), await open_dashboard()
    await first.sign_in(mod)
    await second.sign_in(other_mod)

    async with DeleteClient(socket_url(site), target.token, auto_resume=False) as target_socket:
        report_id = await report_over_socket(site, reporter, target)
        for dash in (first, second):
            await dash.entry(report_id).wait_for(state="visible", timeout=LIVE_MS)

        await first.entry(report_id).click()
        await first.page.locator("#detail-title", has_text="Quinn").wait_for()
        await first.page.get_by_label("Note for the audit log").fill("Threats in chat, confirmed in screenshots.")
        await first.page.get_by_role("button", name="Ban").click()
        dialog = first.page.get_by_role("dialog", name="Ban Quinn?")
        await dialog.wait_for(state="visible")
        assert await report_status(page_engine, report_id) == ("open", None)  # nothing happens before confirming
        await dialog.get_by_role("button", name="Ban").click()

        assert await closed_with(target_socket) == 4403

    assert await report_status(page_engine, report_id) == ("resolved", "ban")
    assert await scalar(page_engine, "SELECT status FROM users WHERE id = :id", id=target.id) == "banned"
    # the second moderator's page drops the entry and says who did what
    await second.entry(report_id).wait_for(state="detached", timeout=LIVE_MS)
    line = second.resolved(report_id)
    await line.wait_for(state="visible", timeout=LIVE_MS)
    assert await line.get_attribute("data-action") == "ban"
    line_text = await line.inner_text()
    assert "Quinn" in line_text and "banned" in line_text and f"moderator {str(mod.id)[:8]}" in line_text
    # and the first one says it was you
    await first.entry(report_id).wait_for(state="detached")
    assert "banned by you" in await first.resolved(report_id).inner_text()


async def test_keyboard_moves_decides_and_stays_quiet_while_typing(
        site: RunningServer, page_engine: AsyncEngine, open_dashboard: OpenDashboard) -> None:
    """j/k move through the queue; d dismisses; b asks first (Escape cancels, Enter bans); keys type in fields."""
    mod = await moderator(page_engine)
    reporter = await person(page_engine)
    oldest, middle, newest = [await person(page_engine, name) for name in ("Kai", "Lee", "Max")]
    ids = [await report_over_socket(site, reporter, target) for target in (oldest, middle, newest)]
    dash = await open_dashboard()
    await dash.sign_in(mod)
    assert await dash.selected_id() == ids[2]  # the newest is selected first

    await dash.press("j")
    assert await dash.selected_id() == ids[1]
    await dash.press("k", "ArrowDown")
    assert await dash.selected_id() == ids[1]
    await dash.page.locator("#detail-title", has_text="Lee").wait_for()

    # typing a note full of shortcut letters decides nothing
    await dash.press("n")
    await dash.page.keyboard.type("dbws duplicate, already handled")
    assert await report_status(page_engine, ids[1]) == ("open", None)
    await dash.press("Escape", "d")  # Escape leaves the field; now d is a shortcut
    await dash.entry(ids[1]).wait_for(state="detached")
    assert await report_status(page_engine, ids[1]) == ("resolved", "dismiss")
    assert await dash.selected_id() == ids[0]  # the next one is selected

    # a decision without a note is refused on the page, and the note field takes the focus
    await dash.press("w")
    await dash.page.locator("#action-message", has_text="Write a note first").wait_for()
    assert await dash.page.evaluate("() => document.activeElement.id") == "note"
    await dash.page.keyboard.type("fake photos")
    await dash.press("Escape", "b")
    dialog = dash.page.get_by_role("dialog", name="Ban Kai?")
    await dialog.wait_for(state="visible")
    await dash.press("Escape")
    await dialog.wait_for(state="hidden")
    assert await report_status(page_engine, ids[0]) == ("open", None)
    await dash.press("b")
    await dialog.wait_for(state="visible")
    await dash.press("Enter")
    await dash.entry(ids[0]).wait_for(state="detached")
    assert await report_status(page_engine, ids[0]) == ("resolved", "ban")

    await dash.press("?")
    help_dialog = dash.page.get_by_role("dialog", name="Keyboard shortcuts")
    await help_dialog.wait_for(state="visible")
    await dash.press("Escape")
    await help_dialog.wait_for(state="hidden")
    assert await report_status(page_engine, ids[2]) == ("open", None)


async def test_the_indicator_recovers_and_the_queue_resyncs_after_a_server_close(
        site: RunningServer, page_engine: AsyncEngine, open_dashboard: OpenDashboard, events: EventLog) -> None:
    """A 1012 close shows Reconnecting, then Live again; what changed meanwhile is on the page without a reload."""
    mod, reporter = await moderator(page_engine), await person(page_engine)
    gone_target, new_target = await person(page_engine, "Gone"), await person(page_engine, "Newcomer")
    gone = await report_over_socket(site, reporter, gone_target)
    dash = await open_dashboard()
    await dash.sign_in(mod)
    await dash.entry(gone).wait_for(state="visible")

    # changes the page cannot hear about live: only a fresh snapshot shows them
    await page_engine_execute(page_engine, "UPDATE reports SET status = 'resolved', resolution = 'dismiss', "
                                           "resolved_at = now() WHERE id = :id", id=gone)
    quiet = await make_report(page_engine, reporter, new_target, reason="spam")
    await dash.record_states()
    await events.control(mod.id, "close", code=1012, reason="server restarting")

    await dash.page.wait_for_function(
        "() => window.__connStates.includes('reconnecting') && document.getElementById('conn').dataset.state === "
        "'connected'", timeout=5000)
    await dash.entry(quiet).wait_for(state="visible")
    await dash.entry(gone).wait_for(state="detached")
    assert (await dash.states())[:1] == ["reconnecting"]


async def page_engine_execute(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), params)


async def test_4401_renews_the_login_and_4403_signs_out(
        site: RunningServer, page_engine: AsyncEngine, open_dashboard: OpenDashboard, events: EventLog) -> None:
    """A 4401 close makes the page refresh its token and reconnect; a 4403 close sends it back to sign-in."""
    mod = await moderator(page_engine)
    dash = await open_dashboard()
    await dash.sign_in(mod)
    await dash.record_states()

    await events.control(mod.id, "close", code=4401, reason="token expired")
    await dash.page.wait_for_function(
        "() => window.__connStates.length > 0 && document.getElementById('conn').dataset.state === 'connected'",
        timeout=5000)
    assert await dash.page.locator("#dashboard-view").is_visible()

    await events.control(mod.id, "close", code=4403, reason="account suspended")
    await dash.page.locator("#signin-message", has_text="suspended or banned").wait_for()
    assert await dash.page.locator("#dashboard-view").is_hidden()
    assert await dash.state() == "signedout"


async def test_the_page_renews_its_token_before_it_expires(
        page_database_url: str, redis_url: str, media_dir: Path, page_engine: AsyncEngine,
        open_dashboard: OpenDashboard) -> None:
    """With 6-second access tokens the socket stays open for 9 s: the page refreshed and renewed it in time."""
    mod, reporter, target = await moderator(page_engine), await person(page_engine), await person(page_engine)
    async with dashboard_server(page_database_url, redis_url, media_dir, access_token_ttl_s=6) as short:
        dash = await open_dashboard(short)
        await dash.sign_in(mod)
        await dash.record_states()
        await asyncio.sleep(9)  # without renewal the server closes the socket with 4401 after 6 s
        assert await dash.states() == []
        assert await dash.state() == "connected"
        report_id = await report_over_socket(short, reporter, target)
        await dash.entry(report_id).wait_for(state="visible", timeout=LIVE_MS)


async def test_only_moderators_get_in(site: RunningServer, page_engine: AsyncEngine,
                                      open_dashboard: OpenDashboard) -> None:
    """A wrong password and an app user's account are refused on the sign-in form with a clear message."""
    member = await person(page_engine)
    dash = await open_dashboard()
    await dash.submit_sign_in(member.email, "not the password")
    await dash.page.locator("#signin-message", has_text="Wrong email or password").wait_for()
    await dash.submit_sign_in(member.email)
    await dash.page.locator("#signin-message", has_text="not a moderator").wait_for()
    assert await dash.page.locator("#dashboard-view").is_hidden()
    assert await dash.state() == "signedout"


async def test_nothing_is_stored_and_user_text_stays_text(site: RunningServer, page_engine: AsyncEngine,
                                                          open_dashboard: OpenDashboard) -> None:
    """Tokens stay out of web storage and cookies; markup in names and details is shown, never run."""
    mod, reporter = await moderator(page_engine), await person(page_engine)
    target = await person(page_engine, '<img src=x id="pwn">Eve')
    details = "<script>window.__pwned = 1</script><b>bold</b>"
    report_id = await report_over_socket(site, reporter, target, "spam", details)
    dash = await open_dashboard()
    await dash.sign_in(mod)
    await dash.entry(report_id).click()
    await dash.page.locator("#detail-title", has_text='<img src=x id="pwn">Eve').wait_for()
    assert details in await dash.entry(report_id).inner_text()
    assert await dash.page.locator("#report-details").inner_text() == details
    assert await dash.page.locator("#pwn, b").count() == 0
    assert await dash.page.evaluate("() => window.__pwned") is None
    stored = await dash.page.evaluate(
        "() => [localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""]


async def test_a_prompt_answer_is_removed_after_confirmation(site: RunningServer, page_engine: AsyncEngine,
                                                             open_dashboard: OpenDashboard) -> None:
    """Remove on a prompt asks first, then the answer is gone from the account and the report stays open."""
    mod, reporter, target = await moderator(page_engine), await person(page_engine), await person(page_engine, "Ash")
    await page_engine_execute(page_engine, "INSERT INTO prompt_answers (user_id, prompt_id, answer) "
                                           "VALUES (:id, 'green_flag', 'Send me your bank details')", id=target.id)
    report_id = await report_over_socket(site, reporter, target, "spam", "Asked for money.")
    dash = await open_dashboard()
    await dash.sign_in(mod)
    await dash.entry(report_id).click()
    answer = dash.page.locator("#prompts li", has_text="Send me your bank details")
    await answer.wait_for()
    await dash.page.get_by_label("Note for the audit log").fill("Scam attempt in a prompt.")
    await answer.get_by_role("button", name="Remove").click()
    dialog = dash.page.get_by_role("dialog", name="Remove this prompt answer?")
    await dialog.wait_for(state="visible")
    await dialog.get_by_role("button", name="Remove").click()
    await answer.wait_for(state="detached")
    count = await scalar(page_engine, "SELECT count(*) FROM prompt_answers WHERE user_id = :id", id=target.id)
    assert count == 0
    assert await report_status(page_engine, report_id) == ("open", None)
    await dash.entry(report_id).wait_for(state="visible")


SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "moderator-dashboard.png"


def portrait(hue: int, seed: int) -> bytes:
    """A plain JPEG portrait placeholder (flat colours and a silhouette, so no banding), 480x600."""
    import colorsys
    import io

    from PIL import Image, ImageDraw

    def colour(h: int, lightness: float, saturation: float) -> tuple[int, int, int]:
        r, g, b = colorsys.hls_to_rgb((h % 360) / 360, lightness, saturation)
        return int(r * 255), int(g * 255), int(b * 255)

    image = Image.new("RGB", (480, 600), colour(hue, 0.86, 0.5))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 430, 480, 600], fill=colour(hue + 20, 0.74, 0.4))
    ink = colour(hue + 180 + seed * 35, 0.38, 0.32)
    draw.ellipse([170, 150, 310, 300], fill=ink)
    draw.rounded_rectangle([100, 330, 380, 640], radius=120, fill=ink)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


async def give_photos_files(engine: AsyncEngine, media_dir: Path, someone: Person, hue: int) -> None:
    """Write real image files for the factory's photo rows of ``someone`` (the factory writes rows only)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT storage_key, thumb_key FROM photos WHERE user_id = :id "
                                        "ORDER BY position"), {"id": someone.id})).all()
    for index, (key, thumb) in enumerate(rows):
        data = portrait(hue + index * 30, index)
        (media_dir / key).write_bytes(data)
        (media_dir / thumb).write_bytes(data)


def write_small_png(png: bytes, path: Path) -> None:
    """Save a screenshot as a 256-colour PNG: the same picture for the README at a fraction of the bytes."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        path, "PNG", optimize=True)


async def test_the_dashboard_with_a_busy_queue_makes_the_readme_screenshot(
        site: RunningServer, page_engine: AsyncEngine, media_dir: Path, open_dashboard: OpenDashboard,
        tmp_path: Path) -> None:
    """A populated queue and an open account render (DELETE_UPDATE_SCREENSHOT=1 refreshes the README picture)."""
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    await page_engine_execute(page_engine, "UPDATE reports SET status = 'resolved', resolution = 'dismiss', "
                                           "resolved_at = now() WHERE status = 'open'")  # only this scene's reports
    mod, colleague = await moderator(page_engine, "Robin"), await moderator(page_engine, "Sasha")
    jordan = await make_person(page_engine, name="Jordan", age=29, gender="man", photos=3,
                               created_at=now - timedelta(days=61), last_active_at=now - timedelta(minutes=12))
    await give_photos_files(page_engine, media_dir, jordan, hue=200)
    await page_engine_execute(page_engine, "UPDATE users SET bio = :bio WHERE id = :id", id=jordan.id,
                              bio="Weekend sailor, weekday product designer. Looking for someone to split "
                                  "dumplings with.")
    await page_engine_execute(page_engine, "INSERT INTO prompt_answers (user_id, prompt_id, answer) VALUES "
                                           "(:id, 'two_truths', 'I have met a president, I can juggle, I am 29'), "
                                           "(:id, 'first_date', 'Text me on my other app first, link in bio')",
                              id=jordan.id)

    async def someone(name: str, days_old: int) -> Person:
        return await make_person(page_engine, name=name, photos=0, created_at=now - timedelta(days=days_old))

    ava, noor, ben, eli = [await someone(n, d) for n, d in (("Ava", 240), ("Noor", 95), ("Ben", 1), ("Eli", 400))]
    # an older report about Jordan that a colleague answered with a warning: it shows in the history
    old = await make_report(page_engine, eli, jordan, reason="spam", details="Sent me a link to a crypto site.",
                            created_at=now - timedelta(days=20))
    async with DeleteClient(socket_url(site), colleague.token, auto_resume=False) as client:
        await client.call("moderation.resolve", {"report_id": str(old), "action": "warn",
                                                 "note": "First spam report; warned."})
    casey, morgan, taylor = [await make_person(page_engine, name=n, photos=0) for n in ("Casey", "Morgan", "Taylor")]
    serial = await someone("Pat", 3)
    for victim in [await someone(f"P{i}", 30) for i in range(4)]:
        await make_report(page_engine, serial, victim, reason="other", created_at=now - timedelta(days=2),
                          resolution="dismiss")
    await make_report(page_engine, serial, casey, reason="harassment", details="Rude.",
                      created_at=now - timedelta(hours=5))
    await make_report(page_engine, noor, morgan, reason="inappropriate_content",
                      details="Second photo is explicit.", created_at=now - timedelta(hours=2))
    await make_report(page_engine, ava, taylor, reason="underage",
                      details="Says in chat they are in year 11 at school.", created_at=now - timedelta(minutes=40))
    await make_report(page_engine, noor, jordan, reason="fake_profile",
                      details="Reverse image search finds these photos on a stock site.",
                      created_at=now - timedelta(minutes=25))
    await make_report(page_engine, ava, jordan, reason="spam", details="Asked me to move to another app.",
                      created_at=now - timedelta(minutes=9))

    dash = await open_dashboard()
    await dash.sign_in(mod)
    live = await report_over_socket(site, ben, jordan, "harassment",
                                    "Got angry when I didn't reply fast enough and kept messaging me.")
    await dash.entry(live).wait_for(state="visible", timeout=LIVE_MS)
    await dash.entry(live).click()
    await dash.page.locator("#photos img").nth(2).wait_for()
    await dash.page.wait_for_function(
        "() => [...document.querySelectorAll('#photos img')].every((img) => img.complete && img.naturalWidth > 0)")
    await dash.page.locator("#history", has_text="warned").wait_for()
    assert await dash.page.locator("#queue [role=option]").count() == 6
    assert await dash.page.locator("#counts").inner_text() == "6 open reports · 4 people"
    for entry in await dash.page.locator("#queue [role=option]", has_text="Jordan").all():
        assert "3 in 7 d" in await entry.inner_text()  # the live report refreshed the older entries' signal
    await dash.page.get_by_label("Note for the audit log").fill(
        "Three reports today, photos are from a stock site; banning.")
    await dash.page.locator("#queue").focus()
    await dash.page.locator(".toast").wait_for(state="detached", timeout=6000)  # "New report: Jordan" fades
    png = await dash.page.screenshot(animations="disabled", caret="hide")
    # the README's picture is refreshed on request only, so a test run never dirties the work tree
    target = SCREENSHOT if os.environ.get("DELETE_UPDATE_SCREENSHOT") == "1" else tmp_path / SCREENSHOT.name
    write_small_png(png, target)
    assert 10_000 < target.stat().st_size < 250_000
