"""Photo review (issue 16 part 3): the queue of new photos, watched live, and approving or rejecting each once.

Everything goes through the real socket and REST: uploads with ``POST /v1/profile/photos``, the queue with
``moderation.photos.subscribe``, decisions with ``moderation.photos.review``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from delete_client import DeleteClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from delete_api.resources import random_prefix
from tests.moderation.support import WAIT_S, client, error_code, moderator, row, scalar, ws
from tests.support.factory import Person, make_match, make_person
from tests.support.photos import fetch, list_photos, picture, upload
from tests.support.server import RunningServer, run_server
from tests.support.settings import make_settings

FOR_REVIEW = {"id", "user_id", "display_name", "url", "thumb_url", "width", "height", "created_at"}


async def new_photo(http: httpx.AsyncClient, person: Person, color: tuple[int, int, int] = (10, 120, 200)) -> str:
    resp = await upload(http, person.token, picture(size=(60, 40), color=color))
    assert resp.status_code == 201, resp.text
    photo_id: str = resp.json()["id"]
    return photo_id


async def queue_ids(c: DeleteClient, **data: Any) -> list[str]:
    return [p["id"] for p in (await c.call("moderation.photos.subscribe", data))["photos"]]


async def make_oldest(engine: AsyncEngine, photo_ids: list[str]) -> None:
    """Date ``photo_ids`` back (one minute apart, in the order given) to before anything else queued."""
    async with engine.begin() as conn:
        oldest = (await conn.execute(text("SELECT min(created_at) FROM photos WHERE review_status = 'pending'"))
                  ).scalar_one()
        for minute, photo_id in enumerate(photo_ids):
            await conn.execute(text("UPDATE photos SET created_at = CAST(:t AS timestamptz) - interval '1 day' "
                                    "+ make_interval(mins => :m) WHERE id = :id"),
                               {"t": oldest, "m": minute, "id": photo_id})


@pytest.fixture
async def watcher(server: RunningServer, engine: AsyncEngine) -> AsyncIterator[DeleteClient]:
    """A moderator's socket subscribed to the photo queue (newest first)."""
    async with client(ws(server), await moderator(engine, "Watcher")) as c:
        await c.call("moderation.photos.subscribe", {"order": "newest", "limit": 5})
        yield c


async def test_an_upload_appears_live_and_in_the_snapshot(server: RunningServer, engine: AsyncEngine,
                                                          http: httpx.AsyncClient, watcher: DeleteClient) -> None:
    """A new photo is pending: it reaches a subscribed moderator at once and is in the next snapshot, counted."""
    owner = await make_person(engine, name="Uploader", photos=0)
    before = (await watcher.call("moderation.photos.subscribe", {"order": "newest", "limit": 1}))["counts"]
    photo_id = await new_photo(http, owner)
    event = await watcher.next_event("moderation.photo", timeout=WAIT_S)
    live = event["data"]["photo"]
    assert set(live) == FOR_REVIEW and "seq" not in event
    assert (live["id"], live["user_id"], live["display_name"]) == (photo_id, str(owner.id), "Uploader")
    assert (live["width"], live["height"]) == (60, 40) and live["created_at"].endswith("Z")
    snap = await watcher.call("moderation.photos.subscribe", {"order": "newest", "limit": 1})
    assert snap["photos"] == [live]
    assert snap["counts"]["pending"] >= before["pending"] + 1
    assert await scalar(engine, "SELECT review_status FROM photos WHERE id = :id", id=photo_id) == "pending"
    # review after publication: the owner sees it at once, and so does a match on the card
    assert [p["id"] for p in await list_photos(http, owner.token)] == [photo_id]
    viewer = await make_person(engine, name="Viewer")
    await make_match(engine, viewer, owner)
    async with client(ws(server), viewer) as v:
        [listed] = (await v.call("matches.list"))["matches"]
    assert [p["id"] for p in listed["user"]["photos"]] == [photo_id]


async def test_newest_and_oldest_views(server: RunningServer, engine: AsyncEngine, http: httpx.AsyncClient) -> None:
    """Oldest first is the default; newest first reverses it; limit caps the snapshot, not the count."""
    owner, mod = await make_person(engine, photos=0), await moderator(engine)
    first, second, third = [await new_photo(http, owner, (i * 60, 40, 40)) for i in range(3)]
    async with client(ws(server), mod) as c:
        newest = await queue_ids(c, order="newest", limit=3)
        assert newest == [third, second, first]
        await make_oldest(engine, [first, second, third])
        assert await queue_ids(c, limit=3) == [first, second, third]
        assert await queue_ids(c, order="oldest", limit=2) == [first, second]
        snap = await c.call("moderation.photos.subscribe", {"limit": 1})
        assert len(snap["photos"]) == 1 and snap["counts"]["pending"] >= 3
        for bad in ({"limit": 0}, {"limit": 501}, {"order": "random"}, {"extra": 1}):
            assert await error_code(c, "moderation.photos.subscribe", bad) == "validation_error", bad


async def test_approving_clears_the_photo_from_every_moderators_queue(server: RunningServer, engine: AsyncEngine,
                                                                      http: httpx.AsyncClient,
                                                                      watcher: DeleteClient) -> None:
    """Another subscribed moderator is told at once; the photo leaves the snapshot and stays on the profile."""
    owner = await make_person(engine, photos=0)
    photo_id = await new_photo(http, owner)
    await make_oldest(engine, [photo_id])
    mod = await moderator(engine, "Approver")
    async with client(ws(server), mod) as c:
        assert (await queue_ids(c, limit=1)) == [photo_id]
        reply = await c.call("moderation.photos.review", {"photo_id": photo_id, "decision": "approve"})
        assert photo_id not in await queue_ids(c, limit=500)
    review = reply["review"]
    assert (review["photo_id"], review["user_id"], review["decision"], review["reason"], review["moderator_id"]) == (
        photo_id, str(owner.id), "approve", None, str(mod.id))
    action = reply["action"]
    assert (action["action"], action["target_user_id"], action["moderator_id"]) == ("approve_photo", str(owner.id),
                                                                                   str(mod.id))
    assert action["details"] == {"photo_id": photo_id, "reason": None}
    event = await _event_for(watcher, "moderation.photo_reviewed", photo_id)
    assert event["data"] == review
    status = await row(engine, "SELECT review_status, reviewed_by, reviewed_at IS NOT NULL AS at, position "
                               "FROM photos WHERE id = :id", id=photo_id)
    assert tuple(status) == ("approved", mod.id, True, 0)
    assert [p["id"] for p in await list_photos(http, owner.token)] == [photo_id]


async def test_reject_removes_the_photo_everywhere_and_tells_the_owner(server: RunningServer, engine: AsyncEngine,
                                                                       http: httpx.AsyncClient,
                                                                       watcher: DeleteClient) -> None:
    """Rejected: gone from me.get, GET /v1/profile/photos and a card requested afterwards; the owner gets the
    durable photo.rejected (replayed by a later sync); the files are deleted; the audit names the reason."""
    owner = await make_person(engine, name="Owner", photos=0)
    keep_first = await new_photo(http, owner, (0, 200, 0))
    bad = await new_photo(http, owner, (200, 0, 0))
    keep_last = await new_photo(http, owner, (0, 0, 200))
    [bad_photo] = [p for p in await list_photos(http, owner.token) if p["id"] == bad]
    assert (await fetch(http, bad_photo["url"])).status_code == 200
    viewer = await make_person(engine, name="Viewer")
    await make_match(engine, viewer, owner)
    async with client(ws(server), owner) as o:
        start_seq = o.last_seq
    mod = await moderator(engine, "Rejecter")
    async with client(ws(server), mod) as c:
        reply = await c.call("moderation.photos.review", {"photo_id": bad, "decision": "reject",
                                                          "reason": "text_or_contact"})
    assert reply["review"]["decision"] == "reject" and reply["review"]["reason"] == "text_or_contact"
    assert reply["action"]["action"] == "reject_photo"
    assert reply["action"]["details"] == {"photo_id": bad, "reason": "text_or_contact"}
    assert (await _event_for(watcher, "moderation.photo_reviewed", bad))["data"] == reply["review"]

    # gone from the owner's photos, the rest closing the gap in the same order
    assert [(p["id"], p["position"]) for p in await list_photos(http, owner.token)] == [(keep_first, 0),
                                                                                        (keep_last, 1)]
    async with DeleteClient(ws(server), owner.token, auto_resume=False, last_seq=start_seq) as o:
        notice = await o.next_event("photo.rejected", timeout=WAIT_S)  # replayed: it was sent while offline
        me = await o.call("me.get")
    assert notice["data"] == {"photo_id": bad, "reason": "text_or_contact"} and notice["seq"] > start_seq
    assert [p["id"] for p in me["user"]["photos"]] == [keep_first, keep_last]
    # gone from the card another user requests now
    async with client(ws(server), viewer) as v:
        [listed] = (await v.call("matches.list"))["matches"]
    assert [p["id"] for p in listed["user"]["photos"]] == [keep_first, keep_last]
    # the files are deleted after commit (the URLs already handed out stop working)
    for url in (bad_photo["url"], bad_photo["thumb_url"]):
        assert await _eventually_gone(http, url)
    status = await row(engine, "SELECT review_status, reject_reason, position FROM photos WHERE id = :id", id=bad)
    assert tuple(status) == ("rejected", "text_or_contact", None)
    assert await scalar(engine, "SELECT photo_count FROM users WHERE id = :id", id=owner.id) == 2
    assert await scalar(engine, "SELECT count(*) FROM moderation_actions WHERE target_user_id = :id "
                                "AND action = 'reject_photo'", id=owner.id) == 1


async def test_rejecting_the_only_photo_leaves_discovery(server: RunningServer, engine: AsyncEngine,
                                                         http: httpx.AsyncClient) -> None:
    """With its only photo rejected a profile has no photo: not discoverable, and six new uploads fit."""
    owner = await make_person(engine, photos=0)
    photo_id = await new_photo(http, owner)
    async with client(ws(server), await moderator(engine)) as c:
        await c.call("moderation.photos.review", {"photo_id": photo_id, "decision": "reject", "reason": "nudity"})
    async with client(ws(server), owner) as o:
        me = (await o.call("me.get"))["user"]
    assert me["photos"] == [] and me["discoverable"] is False
    assert await scalar(engine, "SELECT photo_count FROM users WHERE id = :id", id=owner.id) == 0
    for i in range(6):
        await new_photo(http, owner, (i * 40, 0, 0))
    assert [p["position"] for p in await list_photos(http, owner.token)] == [0, 1, 2, 3, 4, 5]


async def test_reviewing_twice_is_a_conflict(server: RunningServer, engine: AsyncEngine,
                                             http: httpx.AsyncClient) -> None:
    """The second decision on a photo, by anyone, is a conflict naming the first; nothing else is audited."""
    owner = await make_person(engine, photos=0)
    approved, rejected = await new_photo(http, owner), await new_photo(http, owner)
    first, second = await moderator(engine, "First"), await moderator(engine, "Second")
    async with client(ws(server), first) as c1, client(ws(server), second) as c2:
        await c1.call("moderation.photos.review", {"photo_id": approved, "decision": "approve"})
        await c1.call("moderation.photos.review", {"photo_id": rejected, "decision": "reject", "reason": "other"})
        for photo_id in (approved, rejected):
            for data in ({"decision": "approve"}, {"decision": "reject", "reason": "violence"}):
                assert await error_code(c2, "moderation.photos.review", {"photo_id": photo_id, **data}) == "conflict"
    assert await scalar(engine, "SELECT count(*) FROM moderation_actions WHERE target_user_id = :id",
                        id=owner.id) == 2


async def test_concurrent_reviews_decide_once(server: RunningServer, engine: AsyncEngine,
                                              http: httpx.AsyncClient) -> None:
    """Two moderators deciding the same photo at the same moment: one wins, the other gets a conflict."""
    owner = await make_person(engine, photos=0)
    photo_id = await new_photo(http, owner)
    first, second = await moderator(engine, "First"), await moderator(engine, "Second")
    async with client(ws(server), first) as c1, client(ws(server), second) as c2:
        results = await asyncio.gather(
            c1.call("moderation.photos.review", {"photo_id": photo_id, "decision": "approve"}),
            c2.call("moderation.photos.review", {"photo_id": photo_id, "decision": "reject", "reason": "other"}),
            return_exceptions=True)
    wins = [r for r in results if isinstance(r, dict)]
    assert len(wins) == 1, results
    assert [getattr(r, "code", None) for r in results if not isinstance(r, dict)] == ["conflict"]
    assert await scalar(engine, "SELECT count(*) FROM moderation_actions WHERE target_user_id = :id",
                        id=owner.id) == 1


async def test_reason_is_required_to_reject_and_validated(server: RunningServer, engine: AsyncEngine,
                                                          http: httpx.AsyncClient) -> None:
    """reject needs one of the violation types; approve takes none; bad input changes nothing."""
    owner = await make_person(engine, photos=0)
    photo_id = await new_photo(http, owner)
    async with client(ws(server), await moderator(engine)) as c:
        for data in ({"decision": "reject"}, {"decision": "reject", "reason": "ugly"},
                     {"decision": "approve", "reason": "nudity"}, {"decision": "maybe"},
                     {"decision": "reject", "reason": "nudity", "note": "x"}):
            assert await error_code(c, "moderation.photos.review", {"photo_id": photo_id, **data}) \
                == "validation_error", data
        assert await error_code(c, "moderation.photos.review", {"photo_id": "nope", "decision": "approve"}) \
            == "validation_error"
    assert await scalar(engine, "SELECT review_status FROM photos WHERE id = :id", id=photo_id) == "pending"


async def test_unknown_deleted_and_own_photos(server: RunningServer, engine: AsyncEngine,
                                              http: httpx.AsyncClient) -> None:
    """An unknown id and a photo its owner deleted are not found; a moderator never reviews their own photo."""
    mod = await moderator(engine)
    owner = await make_person(engine, photos=0)
    gone = await new_photo(http, owner)
    assert (await http.delete(f"/v1/profile/photos/{gone}",
                              headers={"Authorization": f"Bearer {owner.token}"})).status_code == 204
    own = await new_photo(http, mod)
    async with client(ws(server), mod) as c:
        for photo_id in ("00000000-0000-4000-8000-000000000000", gone):
            assert await error_code(c, "moderation.photos.review", {"photo_id": photo_id,
                                                                    "decision": "approve"}) == "not_found"
        assert await error_code(c, "moderation.photos.review", {"photo_id": own, "decision": "approve"}) \
            == "forbidden"
    assert await scalar(engine, "SELECT review_status FROM photos WHERE id = :id", id=own) == "pending"


async def test_non_moderators_get_forbidden_and_no_feed(server: RunningServer, engine: AsyncEngine,
                                                        http: httpx.AsyncClient) -> None:
    """A normal user cannot subscribe or review, and receives no moderation.photo event."""
    user = await make_person(engine, photos=0)
    photo_id = await new_photo(http, user)
    async with client(ws(server), user) as c:
        assert await error_code(c, "moderation.photos.subscribe", {}) == "forbidden"
        assert await error_code(c, "moderation.photos.review", {"photo_id": photo_id,
                                                               "decision": "approve"}) == "forbidden"
        await new_photo(http, await make_person(engine, photos=0))
        with pytest.raises(TimeoutError):
            await c.next_event("moderation.photo", timeout=0.5)
    assert await scalar(engine, "SELECT review_status FROM photos WHERE id = :id", id=photo_id) == "pending"


async def test_the_report_queue_alone_gets_no_photo_events(server: RunningServer, engine: AsyncEngine,
                                                           http: httpx.AsyncClient) -> None:
    """moderation.subscribe (reports) and the photo queue are separate feeds."""
    async with client(ws(server), await moderator(engine)) as c:
        await c.call("moderation.subscribe")
        await new_photo(http, await make_person(engine, photos=0))
        with pytest.raises(TimeoutError):
            await c.next_event("moderation.photo", timeout=0.5)


async def _event_for(c: DeleteClient, type_: str, photo_id: str) -> dict[str, Any]:
    """The next ``type_`` event about ``photo_id`` (other tests' photos may come first)."""
    for _ in range(100):
        event = await c.next_event(type_, timeout=WAIT_S)
        if event["data"].get("photo_id") == photo_id:
            return event
    raise AssertionError(f"no {type_} for {photo_id}")


async def _eventually_gone(http: httpx.AsyncClient, url: str) -> bool:
    for _ in range(50):
        if (await fetch(http, url)).status_code == 404:
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.fixture(scope="module")
async def two_nodes(database_url: str, redis_url: str,
                    tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    """Nodes A and B: same database, Redis, key prefix and media folder, so they are one deployment."""
    prefix, media = random_prefix(), tmp_path_factory.mktemp("photo-review-media")
    settings = [make_settings(database_url, redis_url, media, extra={"redis_prefix": prefix}) for _ in range(2)]
    async with run_server(settings[0]) as a, run_server(settings[1]) as b:
        yield a, b


async def test_the_queue_is_live_across_nodes(two_nodes: tuple[RunningServer, RunningServer],
                                              engine: AsyncEngine) -> None:
    """An upload on node A reaches a moderator on node B; a decision on A clears it from B's queue."""
    a, b = two_nodes
    owner, watching, deciding = (await make_person(engine, photos=0), await moderator(engine, "OnB"),
                                 await moderator(engine, "OnA"))
    async with client(ws(b), watching) as on_b, client(ws(a), deciding) as on_a, \
            httpx.AsyncClient(base_url=a.base_url) as http_a:
        await on_b.call("moderation.photos.subscribe", {"order": "newest", "limit": 1})
        photo_id = await new_photo(http_a, owner)
        live = await on_b.next_event("moderation.photo", timeout=WAIT_S)
        assert live["data"]["photo"]["id"] == photo_id
        await on_a.call("moderation.photos.review", {"photo_id": photo_id, "decision": "reject", "reason": "other"})
        reviewed = await _event_for(on_b, "moderation.photo_reviewed", photo_id)
        assert reviewed["data"]["decision"] == "reject" and reviewed["data"]["moderator_id"] == str(deciding.id)
