"""Names and text that cannot impersonate, through the real REST API and socket (docs/security.md).

Display names (signup and me.update) refuse direction controls, invisible characters, characters outside the
UTS #39 identifier-safe set and mixes of look-alike scripts; bios, prompt answers, like comments, messages and
report details keep emoji and joiners but refuse the bidi embeddings, overrides and isolates.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.social.support import error_code, online
from tests.support.factory import make_match, make_person
from tests.support.server import RunningServer
from tests.support.users import PASSWORD, new_email

ATTACK_NAMES = [
    "Eve\u202enimdA",          # right-to-left override: drawn as "EveAdmin"
    "\u2067nimdA\u2069",       # an isolate does the same
    "\u200b\u200b\u200b",      # zero-width spaces only: a name that shows nothing
    "\u200d\u200c",            # joiners only
    "\u3164",                  # Hangul filler
    "\u115f\u1160",            # Hangul choseong and jungseong fillers
    "\uffa0\uffa0",            # half-width Hangul filler
    "\u2800",                  # braille blank
    "P\u0430ypal",             # a Cyrillic "a" in a Latin name
    "Support\u200b Team",      # a zero-width space hiding in an ordinary-looking name
]
# (sent, shown): ordinary international names pass; spaces are collapsed and decomposed accents composed
INTERNATIONAL = [("Zoë", "Zoë"), ("José María", "José María"), ("O'Brien", "O'Brien"), ("Anne-Marie", "Anne-Marie"),
                 ("李小龍", "李小龍"), ("Nguyễn Thị", "Nguyễn Thị"), ("Αλέξανδρος", "Αλέξανδρος"), ("Ђорђе", "Ђорђе"),
                 ("محمد", "محمد"), ("संजय", "संजय"), ("  Mary   Jane ", "Mary Jane"), ("山田\u3000太郎", "山田 太郎"),
                 ("Zoe\u0308", "Zo\u00eb")]
EMOJI = "👩\u200d❤\ufe0f\u200d👨 and 🏳\ufe0f\u200d🌈"  # ZWJ sequences with variation selectors
RLO = "\u202e"


async def _signup(http: httpx.AsyncClient, email: str, display_name: str) -> httpx.Response:
    return await http.post("/v1/auth/signup", json={"email": email, "password": PASSWORD,
                                                    "display_name": display_name, "birthdate": "1995-05-17"})


async def _count(engine: AsyncEngine, sql: str, **params: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql), params)).scalar_one())


@pytest.mark.parametrize("name", ATTACK_NAMES)
async def test_signup_refuses_names_that_impersonate(http: httpx.AsyncClient, engine: AsyncEngine,
                                                     name: str) -> None:
    """422 validation_error naming display_name, and no account is created."""
    email = new_email()
    resp = await _signup(http, email, name)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "validation_error" and set(error["details"]["fields"]) == {"display_name"}
    assert await _count(engine, "SELECT count(*) FROM users WHERE email = :e", e=email) == 0


async def test_signup_accepts_international_names_cleaned(http: httpx.AsyncClient) -> None:
    """Names in many scripts sign up; the profile shows them with spaces collapsed and accents composed."""
    for sent, shown in INTERNATIONAL:
        resp = await _signup(http, new_email(), sent)
        assert resp.status_code == 201, (sent, resp.text)
        assert resp.json()["user"]["display_name"] == shown


@pytest.mark.parametrize("name", ATTACK_NAMES)
async def test_me_update_refuses_names_that_impersonate(server: RunningServer, engine: AsyncEngine,
                                                        name: str) -> None:
    """me.update answers validation_error naming display_name; the name others see stays as it was."""
    person = await make_person(engine, name="Eve")
    async with online(server, person) as (client,):
        err = await error_code(client, "me.update", {"display_name": name})
        assert err.code == "validation_error" and set(err.details["fields"]) == {"display_name"}
        assert (await client.call("me.get"))["user"]["display_name"] == "Eve"


async def test_me_update_accepts_international_names_cleaned(server: RunningServer, engine: AsyncEngine) -> None:
    """Each ordinary name is accepted and shown cleaned, in the reply and to someone who is liked."""
    person, other = await make_person(engine), await make_person(engine)
    async with online(server, person, other) as (client, watcher):
        for sent, shown in INTERNATIONAL:
            assert (await client.call("me.update", {"display_name": sent}))["user"]["display_name"] == shown, sent
        await client.call("like", {"user_id": other.key, "comment": "Hello there, nice photos!"})
        event = await watcher.next_event("like.received")
        assert event["data"]["from"]["display_name"] == INTERNATIONAL[-1][1]


async def test_bio_and_prompt_answer_keep_emoji_but_refuse_direction_overrides(server: RunningServer,
                                                                               engine: AsyncEngine) -> None:
    """Emoji ZWJ sequences are kept as sent; a right-to-left override is validation_error naming the field."""
    person = await make_person(engine)
    async with online(server, person) as (client,):
        assert (await client.call("me.update", {"bio": f"Into {EMOJI}"}))["user"]["bio"] == f"Into {EMOJI}"
        err = await error_code(client, "me.update", {"bio": f"Call me {RLO}0000 555"})
        assert err.code == "validation_error" and set(err.details["fields"]) == {"bio"}
        reply = await client.call("prompts.answer", {"prompt_id": "green_flag", "answer": EMOJI})
        assert reply["prompts"][0]["answer"] == EMOJI
        err = await error_code(client, "prompts.answer", {"prompt_id": "green_flag", "answer": f"Kind\u2066 {RLO}"})
        assert err.code == "validation_error" and set(err.details["fields"]) == {"answer"}
        user = (await client.call("me.get"))["user"]
    assert user["bio"] == f"Into {EMOJI}" and user["prompts"][0]["answer"] == EMOJI


async def test_like_comment_keeps_emoji_but_refuses_direction_overrides(server: RunningServer,
                                                                         engine: AsyncEngine) -> None:
    """A comment with an override is refused naming comment and leaves no like; one with emoji arrives intact."""
    liker, target = await make_person(engine), await make_person(engine)
    async with online(server, liker, target) as (client, watcher):
        err = await error_code(client, "like", {"user_id": target.key, "comment": f"Nice photos {RLO}gpj.exe"})
        assert err.code == "validation_error" and set(err.details["fields"]) == {"comment"}
        assert await _count(engine, "SELECT count(*) FROM likes WHERE liker_id = :u", u=liker.id) == 0
        await client.call("like", {"user_id": target.key, "comment": f"Nice photos {EMOJI}"})
        assert (await watcher.next_event("like.received"))["data"]["comment"] == f"Nice photos {EMOJI}"


async def test_message_keeps_emoji_but_refuses_direction_overrides(server: RunningServer, engine: AsyncEngine) -> None:
    """messages.send delivers "👩‍❤️‍👨" and "🏳️‍🌈" as sent; a body with U+202E is refused naming body, unsent."""
    alex, blake = await make_person(engine, name="Alex"), await make_person(engine, name="Blake")
    match_id = str(await make_match(engine, alex, blake))
    async with online(server, alex, blake) as (sender, receiver):
        err = await error_code(sender, "messages.send", {"match_id": match_id, "client_msg_id": "m-1",
                                                         "body": f"pay here: https://bank.test/{RLO}moc.evil"})
        assert err.code == "validation_error" and set(err.details["fields"]) == {"body"}
        for n, body in enumerate(("👩\u200d❤\ufe0f\u200d👨", "🏳\ufe0f\u200d🌈"), start=2):
            await sender.call("messages.send", {"match_id": match_id, "client_msg_id": f"m-{n}", "body": body})
            assert (await receiver.next_event("message.created"))["data"]["message"]["body"] == body
    assert await _count(engine, "SELECT count(*) FROM messages WHERE match_id = :m", m=match_id) == 2


async def test_report_details_refuse_direction_overrides(server: RunningServer, engine: AsyncEngine) -> None:
    """Report details with an override are refused naming details (nothing stored, no block); emoji are fine."""
    reporter, reported = await make_person(engine), await make_person(engine)
    async with online(server, reporter) as (client,):
        err = await error_code(client, "report", {"user_id": reported.key, "reason": "fake_profile",
                                                  "details": f"name says {RLO}nimdA"})
        assert err.code == "validation_error" and set(err.details["fields"]) == {"details"}
        assert await _count(engine, "SELECT count(*) FROM reports WHERE reporter_id = :u", u=reporter.id) == 0
        assert await _count(engine, "SELECT count(*) FROM blocks WHERE blocker_id = :u", u=reporter.id) == 0
        await client.call("report", {"user_id": reported.key, "reason": "spam", "details": f"sent {EMOJI} to all"})
    assert await _count(engine, "SELECT count(*) FROM reports WHERE reporter_id = :u", u=reporter.id) == 1
