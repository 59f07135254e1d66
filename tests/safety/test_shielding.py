"""Contact shielding through the real socket: flags in a match's first 24 hours, history, the 3-matches report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.moderation.support import moderator
from tests.safety.conftest import Connect, cmid, scalar
from tests.support.factory import make_match, make_person

SHARED = [
    ("find me on www.example.org", ["link"]),
    ("write to ada@example.com", ["email"]),
    ("call 0170 123 45 67", ["phone"]),
    ("five five five one two three four", ["phone"]),
    ("insta: ada.lovelace", ["handle"]),
    ("@ada_99 or ada@example.com or https://ada.dev", ["email", "handle", "link"]),
]
ORDINARY = ["I'm 29 and 1.70 m", "see you at 7:30?", "at 8pm then", "it was $25", "since 2024", "2019-2024"]


async def test_contacts_are_flagged_in_a_new_match_and_history_agrees(engine: AsyncEngine, connect: Connect) -> None:
    """Links, emails, phones and handles are delivered with their flags; ordinary numbers get none."""
    ada, bo = await make_person(engine), await make_person(engine)
    match_id = str(await make_match(engine, ada, bo))
    sender, receiver = await connect(ada), await connect(bo)
    expected: dict[str, list[str]] = {}
    for body, flags in [*SHARED, *((body, []) for body in ORDINARY)]:
        message = (await sender.call("messages.send", {"match_id": match_id, "body": body,
                                                       "client_msg_id": cmid()}))["message"]
        assert message["safety"] == flags, body
        event = await receiver.next_event("message.created")
        assert event["data"]["message"] == message
        expected[message["id"]] = flags
    history = (await receiver.call("messages.history", {"match_id": match_id}))["messages"]
    assert {m["id"]: m["safety"] for m in history} == expected


async def test_no_flags_after_the_first_24_hours(engine: AsyncEngine, connect: Connect) -> None:
    ada, bo = await make_person(engine), await make_person(engine)
    match_id = str(await make_match(engine, ada, bo, matched_at=datetime.now(UTC) - timedelta(hours=24, minutes=1)))
    sender = await connect(ada)
    for body, _ in SHARED:
        message = (await sender.call("messages.send", {"match_id": match_id, "body": body,
                                                       "client_msg_id": cmid()}))["message"]
        assert message["safety"] == [], body


async def test_three_new_matches_in_a_day_file_one_automatic_report(engine: AsyncEngine, connect: Connect) -> None:
    """Contacts shared in 3 matches within 24 h: one auto_flag report, live to moderators, none again that day."""
    scammer = await make_person(engine, name="Sam")
    m = await connect(await moderator(engine))
    await m.call("moderation.subscribe")
    sender = await connect(scammer)
    matches = [str(await make_match(engine, scammer, await make_person(engine))) for _ in range(5)]

    async def send(match_id: str, body: str) -> None:
        await sender.call("messages.send", {"match_id": match_id, "body": body, "client_msg_id": cmid()})

    await send(matches[0], "text me 0170 1234567")
    await send(matches[0], "or snap sam_1990")  # the same match again counts once
    await send(matches[1], "hi! how are you?")  # nothing shared
    await send(matches[1], "sam@example.com")
    assert await _auto_reports(engine, scammer.id) == 0
    await send(matches[2], "www.sam.example.com")
    event = await m.next_event("moderation.report")
    report = event["data"]["report"]
    assert (report["reported_id"], report["reporter_id"], report["reason"]) == (str(scammer.id), None, "auto_flag")
    assert report["details"] == ("contact shielding: shared email, handle, link, phone in 3 new matches within "
                                 "24 hours")
    await send(matches[3], "0170 7654321")
    await send(matches[4], "@sam_again")
    assert await _auto_reports(engine, scammer.id) == 1


async def _auto_reports(engine: AsyncEngine, user_id: object) -> int:
    return int(await scalar(engine, "SELECT count(*) FROM reports WHERE reported_id = :u AND reason = 'auto_flag'",
                            u=user_id))
