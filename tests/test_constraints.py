"""constraints.txt pins the exact releases a clean clone installs, so CI does not change under us when a
dependency publishes (redis-py 8.2 broke the type gate of a fresh clone once, with nothing pinned)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line.strip())
        assert match, f"constraints.txt: not an exact pin: {line!r}"
        pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in ("test", "bench"):
        requirements += project["optional-dependencies"][extra]
    names = {_canonical(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in requirements}
    return names - {"delete-client"}  # the repository's own client, installed from clients/python


def test_every_declared_dependency_is_pinned() -> None:
    """A dependency added to pyproject.toml without a pin would float again on a clean clone."""
    missing = sorted(_declared() - set(_pins()))
    assert not missing, f"not in constraints.txt (run ./dev lock): {missing}"


def test_the_installed_releases_are_the_pinned_ones() -> None:
    """./dev installs with the constraints, so what runs the suite is exactly what the file says."""
    wrong = {name: (version, metadata.version(name)) for name, version in _pins().items()
             if _installed(name) and metadata.version(name) != version}
    assert not wrong, f"installed releases differ from constraints.txt (pinned, installed): {wrong}"


def test_dev_installs_with_the_constraints() -> None:
    dev = (ROOT / "dev").read_text()
    assert "-c constraints.txt" in dev and "constraints.txt | cksum" in dev
    assert "pip install -c constraints.txt ." in (ROOT / "Dockerfile").read_text()


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True
