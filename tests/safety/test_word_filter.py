"""The content filter through the real socket (and signup over REST): block, flag, evasions, the list commands."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.moderation.support import moderator
from tests.safety.conftest import Connect, add_word, cmid, fresh_word, refusal, scalar
from tests.support.factory import make_match, make_person
from tests.support.users import new_email

PROMPT = "green_flag"


async def test_block_refuses_each_field_and_stores_nothing(engine: AsyncEngine, connect: Connect,
                                                           http: httpx.AsyncClient, cleanup_words: list[str]) -> None:
    """Display name (me.update and signup), bio, prompt answer, like comment and message: content_blocked with
    details.field, and nothing of it stored."""
    word = fresh_word()
    mod, ada, bo = await moderator(engine), await make_person(engine, name="Ada"), await make_person(engine)
    match_id = str(await make_match(engine, ada, await make_person(engine)))
    m = await connect(mod)
    await add_word(m, word, "block", cleanup_words)
    c = await connect(ada)
    evasive = ".".join(word.upper())  # "Z.O.R.B..." is the same word
    attempts = [
        ("me.update", {"display_name": f"Ada {word}"}, "display_name"),
        ("me.update", {"bio": f"I like {evasive} a lot"}, "bio"),
        ("prompts.answer", {"prompt_id": PROMPT, "answer": f"{word}!"}, "answer"),
        ("like", {"user_id": str(bo.id), "comment": f"hello you {word} person"}, "comment"),
        ("messages.send", {"match_id": match_id, "body": f"so {word}", "client_msg_id": cmid()}, "body"),
    ]
    for type_, data, field in attempts:
        error = await refusal(c, type_, data)
        assert (error.code, error.details) == ("content_blocked", {"field": field}), type_
    me = (await c.call("me.get"))["user"]
    assert (me["display_name"], me["bio"], me["prompts"]) == ("Ada", "", [])
    assert await scalar(engine, "SELECT count(*) FROM likes WHERE liker_id = :u AND likee_id = :b", u=ada.id,
                        b=bo.id) == 0
    assert await scalar(engine, "SELECT count(*) FROM messages WHERE sender_id = :u", u=ada.id) == 0
    assert await scalar(engine, "SELECT count(*) FROM reports WHERE reported_id = :u", u=ada.id) == 0

    email = new_email()
    resp = await http.post("/v1/auth/signup", json={"email": email, "password": "correct horse battery",
                                                    "display_name": f"{word} Smith", "birthdate": "1990-01-01"})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "content_blocked"
    assert resp.json()["error"]["details"] == {"field": "display_name"}
    assert await scalar(engine, "SELECT count(*) FROM users WHERE email = :e", e=email) == 0


async def test_flag_accepts_and_files_an_automatic_report_live(engine: AsyncEngine, connect: Connect,
                                                               cleanup_words: list[str]) -> None:
    """A flag match is stored and an auto_flag report with the pattern reaches a subscribed moderator."""
    word = fresh_word()
    mod, ada = await moderator(engine), await make_person(engine, name="Ada")
    m = await connect(mod)
    await add_word(m, word, "flag", cleanup_words)
    await m.call("moderation.subscribe")
    c = await connect(ada)
    reply = await c.call("me.update", {"bio": f"ask me about {word.replace(word[1], word[1] * 4, 1)}"})
    assert word[:1] in reply["user"]["bio"]
    event = await m.next_event("moderation.report")
    report = event["data"]["report"]
    assert report["reporter_id"] is None and report["reported_id"] == str(ada.id)
    assert report["reason"] == "auto_flag" and report["details"] == f'word filter: "{word}" in bio'
    assert report["signals"] == {"distinct_reporters_7d": 0, "reporter_account_age_days": None,
                                 "reporter_reports_made": None, "reporter_reports_dismissed": None}
    queue = await m.call("moderation.subscribe")
    assert report["id"] in {entry["id"] for entry in queue["reports"]}

    # a moderator can act on it like on any report; the user is told "inappropriate_content"
    resolved = await m.call("moderation.resolve", {"report_id": report["id"], "action": "warn", "note": "word"})
    assert resolved["report"]["reporter_id"] is None
    warning = await c.next_event("moderation.warning")
    assert warning["data"] == {"reason": "inappropriate_content"}


@pytest.mark.parametrize("stretch", [False, True])
async def test_whole_words_only_the_scunthorpe_cases_pass(engine: AsyncEngine, connect: Connect,
                                                          cleanup_words: list[str], stretch: bool) -> None:
    """A blocked word inside a longer word is not caught; the word itself, however disguised, is."""
    word = fresh_word()
    mod, ada = await moderator(engine), await make_person(engine)
    match_id = str(await make_match(engine, ada, await make_person(engine)))
    await add_word(await connect(mod), word, "block", cleanup_words)
    c = await connect(ada)
    for body in (f"pre{word}", f"{word}post", f"x{word}x", word[:-1]):
        await c.call("messages.send", {"match_id": match_id, "body": body, "client_msg_id": cmid()})
    leet = word.replace("o", "0").replace("e", "3").upper()
    disguised = f"{leet[0]}{leet[1] * 3}{leet[2:]}" if stretch else " ".join(leet)
    error = await refusal(c, "messages.send", {"match_id": match_id, "body": disguised, "client_msg_id": cmid()})
    assert error.code == "content_blocked"


async def test_the_list_commands(engine: AsyncEngine, connect: Connect, cleanup_words: list[str]) -> None:
    """list shows what add put in force; the same folded pattern twice is a conflict; remove lets it pass again."""
    word = fresh_word()
    mod, ada = await moderator(engine), await make_person(engine)
    match_id = str(await make_match(engine, ada, await make_person(engine)))
    m = await connect(mod)
    added = await add_word(m, word, "block", cleanup_words)
    assert added["pattern"] == word and added["action"] == "block" and added["created_by"] == str(mod.id)
    assert added in (await m.call("moderation.words.list"))["words"]
    duplicate = await refusal(m, "moderation.words.add", {"pattern": " ".join(word.upper()), "action": "flag"})
    assert duplicate.code == "conflict" and duplicate.details["id"] == added["id"]
    assert (await refusal(m, "moderation.words.add", {"pattern": "x", "action": "block"})).code == "validation_error"

    c = await connect(ada)
    body = {"match_id": match_id, "body": word}
    assert (await refusal(c, "messages.send", {**body, "client_msg_id": cmid()})).code == "content_blocked"
    assert await m.call("moderation.words.remove", {"id": added["id"]}) == {}
    assert added["id"] not in {w["id"] for w in (await m.call("moderation.words.list"))["words"]}
    assert (await refusal(m, "moderation.words.remove", {"id": added["id"]})).code == "not_found"
    await c.call("messages.send", {**body, "client_msg_id": cmid()})
    assert await scalar(engine, "SELECT removed_by FROM word_patterns WHERE id = :i", i=added["id"]) == mod.id
