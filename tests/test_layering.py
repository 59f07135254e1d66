"""The structure of the tree: who may import whom (README "Layout").

Dependencies point one way. The composition root ``delete_api`` imports everything
and nothing imports it; the domain imports only itself; ``infra`` (Redis adapters,
helpers both transports share) imports the domain; each transport imports the
domain, ``infra`` and itself, never the other transport. Imports under
``TYPE_CHECKING`` count too: a cycle hidden behind them is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRST_PARTY = {"delete_api", "domain", "infra", "realtime", "rest", "migrations", "bench", "delete_client", "tests"}
# package -> the first-party packages it may import (itself always)
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "infra": {"domain"},
    "realtime": {"domain", "infra"},
    "rest": {"domain", "infra"},
    "migrations": {"domain"},
    "delete_api": {"domain", "infra", "realtime", "rest", "migrations"},
    "delete_client": set(),  # the Python client ships alone: it knows the wire, not the server
    "bench": {"delete_api", "domain", "infra", "realtime", "rest", "migrations", "delete_client", "tests"},
}
WHERE = {"delete_client": "clients/python/delete_client"}  # packages not at the top of the tree


def _modules(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / WHERE.get(package, package)).rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every absolute first-party import of the file: (line, top-level package)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in FIRST_PARTY:
                yield node.lineno, top


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package: str) -> None:
    """No module of ``package`` imports a package above it (or beside it, for the transports)."""
    allowed = ALLOWED[package] | {package}
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {top}"
             for path in _modules(package) for line, top in _imports(path) if top not in allowed]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_a_wrong_import(tmp_path: Path) -> None:
    """The scan finds imports inside functions and under TYPE_CHECKING (the way cycles used to hide)."""
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from delete_api.app import x\n"
                      "def f():\n    import realtime.hub\n")
    assert list(_imports(module)) == [(3, "delete_api"), (5, "realtime")]
