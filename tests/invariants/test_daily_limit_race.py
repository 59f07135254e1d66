"""Issue 4: twenty concurrent likes from one person, over two nodes, accept exactly what the daily limit leaves.

tests/social/test_concurrency.py already sends 20 likes at once after 5 earlier ones; there 5 are left
both of the daily limit (10) and of the 60-second velocity limit (5), so a racy daily count would still
pass. Here 8 likes were sent earlier today, none within the last minute: only the daily limit can stop
the likes (it is checked before the velocity), so exactly 2 may pass and everything else is
``daily_limit_reached``.
"""

from __future__ import annotations

from collections import Counter
from contextlib import AsyncExitStack
from datetime import timedelta

from delete_client import ClientError, DeleteClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.social.support import comment, gather_limited, people, scalar, seed_likes
from tests.support.factory import make_person
from tests.support.server import RunningServer

EARLIER = 8
AT_ONCE = 20
DAILY_LIMIT = 10


async def test_concurrent_likes_accept_exactly_the_rest_of_the_daily_limit(two_nodes: list[RunningServer],
                                                                          engine: AsyncEngine) -> None:
    """After 8 likes today, 20 likes sent at once from 20 sockets are 2 accepted and 18 daily_limit_reached."""
    liker = await make_person(engine)
    await seed_likes(engine, liker, EARLIER, ago=timedelta(minutes=3))
    targets = await people(engine, AT_ONCE, photos=0, answers={})
    async with AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(DeleteClient(two_nodes[i % 2].ws_url + "/v1/ws", liker.token))
                   for i in range(AT_ONCE)]
        results = await gather_limited(*(s.call("like", {"user_id": t.key, "comment": comment(f"daily {i}")})
                                         for i, (s, t) in enumerate(zip(sockets, targets, strict=True))))
    outcomes = Counter(r.code if isinstance(r, ClientError) else "ok" for r in results)
    assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, ClientError)], results
    assert outcomes == Counter({"ok": DAILY_LIMIT - EARLIER, "daily_limit_reached": AT_ONCE - DAILY_LIMIT + EARLIER})
    assert await scalar(engine, "SELECT count FROM daily_like_counts WHERE user_id = :u", u=liker.id) == DAILY_LIMIT
    assert await scalar(engine, "SELECT count(*) FROM likes WHERE liker_id = :u", u=liker.id) == DAILY_LIMIT
    assert [r["likes_left_today"] for r in results if isinstance(r, dict)] in ([1, 0], [0, 1])
