"""Which Chromium the browser tests drive, and the skip reason when there is none."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.moderation_page import browser


def fake_chromium(folder: Path, name: str = "chromium") -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def no_system_chromium(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """/usr/bin/chromium and PATH both without a Chromium; returns an empty PATH folder to fill."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setattr(browser, "SYSTEM_CHROMIUM", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv(browser.CHROMIUM_ENV, raising=False)
    return empty


async def test_without_chromium_the_reason_says_where_it_looked_and_how_to_install(no_system_chromium: Path) -> None:
    """No Chromium anywhere: the skip reason names the places searched and the Debian package."""
    path, reason = browser.find_chromium()
    assert path is None
    assert "no Chromium at" in reason and "on PATH" in reason and "apt-get install chromium" in reason


async def test_chromium_on_path_is_found(no_system_chromium: Path) -> None:
    """A `chromium` on PATH is used when /usr/bin/chromium is missing."""
    found = fake_chromium(no_system_chromium)
    assert browser.find_chromium() == (str(found), "")


async def test_the_override_wins_and_a_bad_one_is_named(no_system_chromium: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """DELETE_TEST_CHROMIUM picks the browser; pointing it at nothing skips with that path in the reason."""
    fake_chromium(no_system_chromium)
    chosen = fake_chromium(tmp_path, "my-chromium")
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(chosen))
    assert browser.find_chromium() == (str(chosen), "")
    monkeypatch.setenv(browser.CHROMIUM_ENV, os.devnull + "-missing")
    path, reason = browser.find_chromium()
    assert path is None and browser.CHROMIUM_ENV in reason and "-missing" in reason
