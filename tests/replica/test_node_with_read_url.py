"""A ``delete-api serve`` process started with ``DATABASE_READ_URL`` serves the usual flows: sign up, profile,
discovery, like back into a match, chat, lists; its metrics show both pools."""

from __future__ import annotations

from pathlib import Path

import httpx
from delete_client import DeleteClient

from tests.replica.conftest import Pair
from tests.support.nodes import User, running_nodes, signup_user

COMMENT = "Your sunday plans sound great."
PROFILE = {"gender": "woman", "interested_in": ["woman", "man"], "location": {"lat": 48.8566, "lon": 2.3522}}


def client(ws_url: str, user: User) -> DeleteClient:
    return DeleteClient(ws_url, user.token)


async def test_a_node_reading_from_a_replica_serves_the_usual_flows(pair: Pair, redis_url: str,
                                                                    tmp_path: Path) -> None:
    env = {"DATABASE_READ_URL": pair.replica_url}
    async with running_nodes(1, database_url=pair.primary_url, redis_url=redis_url, root=tmp_path,
                             extra_env=env, metrics=True) as nodes:
        node = nodes[0]
        a, b = await signup_user(node.base_url, "Alex"), await signup_user(node.base_url, "Blake")
        async with client(node.ws_url, a) as alex, client(node.ws_url, b) as blake:
            await alex.call("me.update", PROFILE)
            assert (await alex.call("discovery.request", {"count": 5}))["sent"] >= 0
            await blake.call("like", {"user_id": str(a.id), "comment": COMMENT})
            await pair.caught_up()
            assert [p["from"]["user_id"] for p in (await alex.call("likes.pending"))["likes"]] == [str(b.id)]
            match = (await alex.call("like", {"user_id": str(b.id), "comment": COMMENT}))["match"]
            sent = await blake.call("messages.send", {"match_id": match["id"], "body": "hi!", "client_msg_id": "1"})
            await pair.caught_up()
            history = await alex.call("messages.history", {"match_id": match["id"]})
            assert [m["id"] for m in history["messages"]] == [sent["message"]["id"]]
            listed = await blake.call("matches.list")
            assert [m["id"] for m in listed["matches"]] == [match["id"]]
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(node.base_url + "/v1/health")).status_code == 200
            scrape = (await http.get(node.metrics_url)).text
        assert 'delete_db_pool_size{pool="primary"}' in scrape
        assert 'delete_db_pool_size{pool="replica"}' in scrape
