"""Two real nodes with ``LOG_FORMAT=json``: every line is JSON with its context, and nothing secret is logged.

Also the defaults of ``serve`` without ``PUBLIC_BASE_URL``: photo URLs follow the port each node listens on,
and the start lines name the addresses.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from delete_client import ClientError, DeleteClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.factory import Person, make_match
from tests.support.nodes import Nodes, running_nodes
from tests.support.photos import picture, upload
from tests.support.users import PASSWORD, auth_header, new_email, signup

BODY_MARKER = "velvet-otter-" + uuid.uuid4().hex[:8]
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _lines(nodes: Nodes, index: int) -> list[dict[str, Any]]:
    text = nodes[index].log_path.read_text()
    parsed = []
    for raw in text.splitlines():
        if not raw.strip() or raw.startswith("====="):  # the harness's own start marker
            continue
        try:
            parsed.append(json.loads(raw))
        except json.JSONDecodeError:
            raise AssertionError(f"node {index} wrote a line that is not JSON: {raw[:300]}") from None
    return parsed


async def _workload(nodes: Nodes, engine: AsyncEngine) -> dict[str, Any]:
    """Sign up two people on different nodes, upload, log in (badly, then well), match and chat across nodes."""
    secrets: dict[str, Any] = {"emails": [], "tokens": []}
    async with httpx.AsyncClient(base_url=nodes[0].base_url, timeout=20) as a_http, \
            httpx.AsyncClient(base_url=nodes[1].base_url, timeout=20) as b_http:
        people = []
        for http in (a_http, b_http):
            email = new_email()
            body = await signup(http, email=email)
            secrets["emails"].append(email)
            secrets["tokens"] += [body["access_token"], body["refresh_token"]]
            people.append(body)
        photo = await upload(b_http, people[1]["access_token"], picture())
        assert photo.status_code == 201, photo.text
        photo_url = photo.json()["url"]
        assert (await b_http.delete(f"/v1/profile/photos/{photo.json()['id']}",
                                    headers=auth_header(people[1]["access_token"]))).status_code == 204
        bad = await a_http.post("/v1/auth/login", json={"email": secrets["emails"][0], "password": "wrong " + PASSWORD})
        assert bad.status_code == 401
        good = await a_http.post("/v1/auth/login", json={"email": secrets["emails"][0], "password": PASSWORD})
        secrets["tokens"] += [good.json()["access_token"], good.json()["refresh_token"]]
    a, b = (Person(uuid.UUID(p["user"]["id"]), email, p["access_token"])
            for p, email in zip(people, secrets["emails"], strict=True))
    match_id = await make_match(engine, a, b)
    async with DeleteClient(nodes[0].ws_url, a.token) as a_socket, \
            DeleteClient(nodes[1].ws_url, b.token) as b_socket:
        await a_socket.call("messages.send", {"match_id": str(match_id), "body": f"hi {BODY_MARKER}",
                                              "client_msg_id": "m1"})
        await b_socket.next_event("message.created")
        with pytest.raises(ClientError):  # not_found: a failed command is logged with its code
            await b_socket.call("messages.history", {"match_id": str(uuid.uuid4())})
    secrets["photo_url"] = photo_url
    return secrets


async def test_json_logs_of_a_workload_on_two_nodes_carry_context_and_no_secret(
        database_url: str, redis_url: str, engine: AsyncEngine, tmp_path: Path) -> None:
    """Every line is JSON; access lines name route templates; command lines name session, command, duration and
    error code; no email, password, token or message body appears anywhere."""
    env = {"LOG_FORMAT": "json", "LOG_LEVEL": "debug"}
    async with running_nodes(2, database_url=database_url, redis_url=redis_url, root=tmp_path,
                             extra_env=env) as nodes:
        secrets = await _workload(nodes, engine)
        lines = _lines(nodes, 0) + _lines(nodes, 1)
        raw = nodes[0].log_path.read_text() + nodes[1].log_path.read_text()
    assert len(lines) > 20
    for line in lines:
        assert {"time", "level", "logger", "node", "message"} <= set(line), line
    access = [line for line in lines if line["logger"] == "rest.access"]
    routes = {(line["method"], line["route"], line["status"]) for line in access}
    assert ("DELETE", "/v1/profile/photos/{photo_id}", 204) in routes and ("POST", "/v1/auth/login", 401) in routes
    assert all(not UUID_RE.search(line["route"]) and "duration_ms" in line for line in access)
    commands = [line for line in lines if line.get("command") == "messages.send" and "duration_ms" in line]
    assert commands and all(line.get("session_id") for line in commands)
    failed = [line for line in lines if line.get("command") == "messages.history" and "error_code" in line]
    assert failed and failed[0]["error_code"] == "not_found"
    assert {line["node"] for line in lines} >= {lines[0]["node"]} and len({line["node"] for line in lines}) == 2
    for secret in [*secrets["emails"], *secrets["tokens"], PASSWORD, BODY_MARKER]:
        assert secret not in raw, f"logged: {secret[:24]}…"


async def test_without_public_base_url_photo_urls_follow_each_nodes_port_and_start_lines_name_them(
        database_url: str, redis_url: str, tmp_path: Path) -> None:
    """A photo uploaded on node 1 is served from node 1's own port; the start lines list the API and docs."""
    async with running_nodes(2, database_url=database_url, redis_url=redis_url, root=tmp_path) as nodes:
        async with httpx.AsyncClient(base_url=nodes[1].base_url, timeout=20) as http:
            body = await signup(http)
            photo = await upload(http, body["access_token"], picture())
            assert photo.status_code == 201, photo.text
            url = photo.json()["url"]
            assert url.startswith(f"{nodes[1].base_url}/media/"), url
            assert (await http.get(url)).status_code == 200
        log = nodes[1].log_path.read_text()
    for where in ("/v1/health", "/v1/docs", "/v1/asyncapi", "/moderation", "PUBLIC_BASE_URL is unset"):
        assert where in log, where
