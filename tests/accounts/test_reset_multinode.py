"""A password reset across two real server processes: every socket of the account closes 4401 on both nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.accounts.support import APP_BASE_URL, MAIL_FROM, link_in, login, new_account, token_of, wait_for_mails
from tests.support.nodes import Nodes, connect_device, running_nodes
from tests.support.rest import assert_error
from tests.support.smtp import SmtpSink

A, B = 0, 1
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
async def nodes(accounts_database_url: str, redis_url: str, sink: SmtpSink,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Nodes]:
    """Nodes A and B on the accounts database, both mailing to ``sink`` (output in <tmp>/reset-nodes*/)."""
    root: Path = tmp_path_factory.mktemp("reset-nodes")
    env = {"SMTP_URL": sink.url, "MAIL_FROM": MAIL_FROM, "APP_BASE_URL": APP_BASE_URL}
    async with running_nodes(2, database_url=accounts_database_url, redis_url=redis_url, root=root,
                             extra_env=env) as running:
        yield running


async def test_reset_closes_the_accounts_sockets_on_both_nodes_and_old_tokens_fail(nodes: Nodes,
                                                                                   sink: SmtpSink) -> None:
    async with httpx.AsyncClient(base_url=nodes[A].base_url, timeout=15) as on_a, \
            httpx.AsyncClient(base_url=nodes[B].base_url, timeout=15) as on_b:
        first = await new_account(on_a)
        email = first["user"]["email"]
        second = (await login(on_b, email)).json()
        bystander = await new_account(on_b)
        devices = [await connect_device(nodes[A].ws_url, first["access_token"]),
                   await connect_device(nodes[B].ws_url, first["access_token"]),
                   await connect_device(nodes[B].ws_url, second["access_token"]),
                   await connect_device(nodes[A].ws_url, second["access_token"])]
        unrelated = await connect_device(nodes[A].ws_url, bystander["access_token"])
        try:
            forgot = await on_b.post("/v1/auth/password/forgot", json={"email": email})
            assert forgot.status_code == 202
            mails = await wait_for_mails(sink, email, 2)
            token = token_of(link_in(mails[1], "reset-password"))
            resp = await on_a.post("/v1/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
            assert resp.status_code == 200, resp.text
            fresh = resp.json()
            assert [await device.wait_closed() for device in devices] == [4401] * 4

            for http in (on_a, on_b):
                for old in (first, second):
                    assert_error(await http.post("/v1/auth/refresh", json={"refresh_token": old["refresh_token"]}),
                                 401, "unauthorized")
            renewed = (await on_b.post("/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})).json()
            new_device = await connect_device(nodes[B].ws_url, renewed["access_token"])
            assert (await new_device.command("ping", {})).frame["ok"] is True
            await new_device.close()
            assert (await unrelated.command("ping", {})).frame["ok"] is True  # nobody else was touched
            assert (await login(on_a, email, NEW_PASSWORD)).status_code == 200
        finally:
            for device in [*devices, unrelated]:
                await device.close()
