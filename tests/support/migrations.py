"""The migrations' modules, loaded from their files (``migrations/versions`` is not a package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def migrations_naming(text: str) -> list[ModuleType]:
    """Every migration whose source holds ``text`` (a function's name, say), oldest first."""
    found = []
    for path in sorted(VERSIONS.glob("*.py")):
        if text not in path.read_text():
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found.append(module)
    return found
