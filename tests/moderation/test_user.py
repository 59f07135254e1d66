"""moderation.user (the dossier) and removing one photo or prompt answer, each audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.models import Block, PromptAnswer
from tests.moderation.support import client, error_code, make_report, moderator, scalar, ws
from tests.support.factory import Person, make_person
from tests.support.server import RunningServer
from tests.support.users import auth_header


async def photo_ids(engine: AsyncEngine, person: Person) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id FROM photos WHERE user_id = :id ORDER BY position"),
                                  {"id": person.id})
        return [str(r[0]) for r in rows]


async def answer(engine: AsyncEngine, person: Person, prompt_id: str, text_: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(PromptAnswer).values(user_id=person.id, prompt_id=prompt_id, answer=text_))


async def test_dossier_shows_profile_content_reports_blocks_and_actions(server: RunningServer,
                                                                        engine: AsyncEngine) -> None:
    """Profile, photos, prompts, reports made and received, blocks received and the audit trail, newest first."""
    mod = await moderator(engine)
    target = await make_person(engine, name="Target", photos=2)
    accuser, victim = await make_person(engine, name="Accuser"), await make_person(engine, name="Victim")
    await answer(engine, target, "two_truths", "I have met a bear")
    now = datetime.now(UTC)
    received_old = await make_report(engine, accuser, target, created_at=now - timedelta(hours=2))
    received_new = await make_report(engine, victim, target, reason="spam", created_at=now - timedelta(hours=1))
    made = await make_report(engine, target, victim, reason="fake_profile", details="stock photos")
    async with engine.begin() as conn:
        await conn.execute(insert(Block).values(blocker_id=victim.id, blocked_id=target.id))
    async with client(ws(server), mod) as c:
        await c.call("moderation.resolve", {"report_id": str(received_old), "action": "warn", "note": "first"})
        await c.call("moderation.resolve", {"report_id": str(received_new), "action": "suspend", "note": "second",
                                            "days": 2})
        dossier = await c.call("moderation.user", {"user_id": str(target.id)})
    user = dossier["user"]
    assert user["id"] == str(target.id) and user["display_name"] == "Target" and user["role"] == "user"
    assert user["status"] == "suspended" and user["suspended_until"].endswith("Z")
    assert "email" in user and "lat" not in user and "location" not in user
    assert [p["id"] for p in dossier["photos"]] == await photo_ids(engine, target)
    assert dossier["prompts"] == [{"prompt_id": "two_truths", "text": "Two truths and a lie",
                                   "answer": "I have met a bear"}]
    assert [r["id"] for r in dossier["reports_received"]] == [str(received_new), str(received_old)]
    assert [r["resolution"] for r in dossier["reports_received"]] == ["suspend", "warn"]
    assert [(r["id"], r["details"], r["status"]) for r in dossier["reports_made"]] == [
        (str(made), "stock photos", "open")]
    assert [b["blocker_id"] for b in dossier["blocks_received"]] == [str(victim.id)]
    actions = dossier["actions"]
    assert [(a["action"], a["note"], a["days"], a["report_id"], a["moderator_id"]) for a in actions] == [
        ("suspend", "second", 2, str(received_new), str(mod.id)),
        ("warn", "first", None, str(received_old), str(mod.id)),
    ]
    assert all(a["target_user_id"] == str(target.id) and a["created_at"].endswith("Z") for a in actions)
    assert dossier["counts"] == {"reports_made": 1, "reports_received": 2, "blocks_received": 1, "actions": 2}


async def test_dossier_of_unknown_user_is_not_found(server: RunningServer, engine: AsyncEngine) -> None:
    """Asking about a user id that does not exist answers not_found."""
    async with client(ws(server), await moderator(engine)) as c:
        assert await error_code(c, "moderation.user", {"user_id": str(uuid.uuid4())}) == "not_found"


async def test_remove_photo_deletes_it_and_audits(server: RunningServer, engine: AsyncEngine,
                                                  http: httpx.AsyncClient) -> None:
    """A removed photo is gone from the owner's photos; the audit names it and the report it answers."""
    mod, target = await moderator(engine), await make_person(engine, photos=2)
    report_id = await make_report(engine, await make_person(engine), target, reason="inappropriate_content")
    first, second = await photo_ids(engine, target)
    async with client(ws(server), mod) as c:
        reply = await c.call("moderation.remove_photo", {"user_id": str(target.id), "photo_id": first,
                                                         "note": "nudity", "report_id": str(report_id)})
        dossier = await c.call("moderation.user", {"user_id": str(target.id)})
    assert reply["action"]["action"] == "remove_photo" and reply["action"]["details"] == {"photo_id": first}
    assert reply["action"]["report_id"] == str(report_id)
    resp = await http.get("/v1/profile/photos", headers=auth_header(target.token))
    assert [(p["id"], p["position"]) for p in resp.json()["photos"]] == [(second, 0)]
    assert dossier["actions"][0] == reply["action"]
    # removing content does not resolve the report: that is a separate decision
    assert await scalar(engine, "SELECT status FROM reports WHERE id = :id", id=report_id) == "open"


async def test_remove_photo_of_someone_else_is_not_found(server: RunningServer, engine: AsyncEngine) -> None:
    """A photo id that is not the named user's is not found, and nothing is removed or audited."""
    mod, target, other = await moderator(engine), await make_person(engine), await make_person(engine)
    [other_photo] = await photo_ids(engine, other)
    async with client(ws(server), mod) as c:
        code = await error_code(c, "moderation.remove_photo", {"user_id": str(target.id), "photo_id": other_photo,
                                                               "note": "x"})
    assert code == "not_found"
    assert await photo_ids(engine, other) == [other_photo]
    assert await scalar(engine, "SELECT count(*) FROM moderation_actions WHERE target_user_id = :id",
                        id=target.id) == 0


async def test_remove_prompt_deletes_it_and_keeps_the_text_in_the_audit(server: RunningServer,
                                                                        engine: AsyncEngine) -> None:
    """A removed prompt answer is gone from the profile; the audit row keeps what it said."""
    mod, target = await moderator(engine), await make_person(engine)
    await answer(engine, target, "green_flag", "call me at 555-0100")
    await answer(engine, target, "comfort_food", "ramen")
    async with client(ws(server), mod) as c:
        reply = await c.call("moderation.remove_prompt", {"user_id": str(target.id), "prompt_id": "green_flag",
                                                          "note": "phone number"})
        again = await error_code(c, "moderation.remove_prompt", {"user_id": str(target.id),
                                                                 "prompt_id": "green_flag", "note": "x"})
        dossier = await c.call("moderation.user", {"user_id": str(target.id)})
    assert reply["action"]["details"] == {"prompt_id": "green_flag", "answer": "call me at 555-0100"}
    assert again == "not_found"
    assert [p["prompt_id"] for p in dossier["prompts"]] == ["comfort_food"]
    assert dossier["actions"][0]["action"] == "remove_prompt"


async def test_removal_linked_to_a_report_about_someone_else_is_not_found(server: RunningServer,
                                                                          engine: AsyncEngine) -> None:
    """A report_id must be a report about the same user; otherwise not_found and nothing is removed."""
    mod, target, other = await moderator(engine), await make_person(engine), await make_person(engine)
    await answer(engine, target, "green_flag", "kindness")
    unrelated = await make_report(engine, target, other)
    async with client(ws(server), mod) as c:
        code = await error_code(c, "moderation.remove_prompt", {"user_id": str(target.id), "prompt_id": "green_flag",
                                                                "note": "x", "report_id": str(unrelated)})
        dossier = await c.call("moderation.user", {"user_id": str(target.id)})
    assert code == "not_found"
    assert [p["prompt_id"] for p in dossier["prompts"]] == ["green_flag"]
