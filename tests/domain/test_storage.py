"""Media storage on local disk: round trip, unguessable keys, and no way out of the media root."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from domain.photos.storage import LocalMediaStorage, MediaStorage, is_valid_key, new_key

BASE_URL = "https://api.example.test"
BAD_KEYS = [
    "../x", "a/b", "", ".", "..", "/etc/passwd", "..%2Fx", "a\\b", ".hidden-file-name-1234",
    "x" * 300, new_key() + "\n", "a" * 20 + "/../../etc",
]


@pytest.fixture
def storage(tmp_path: Path) -> LocalMediaStorage:
    return LocalMediaStorage(tmp_path / "media", BASE_URL + "/")


async def test_put_url_path_for_delete_round_trip(storage: LocalMediaStorage) -> None:
    """A stored photo is served from its URL's file until it is deleted."""
    key = new_key()

    await storage.put(key, b"jpeg bytes", "image/jpeg")

    assert storage.url(key) == f"{BASE_URL}/media/{key}"
    path = storage.path_for(key)
    assert path is not None
    assert path.read_bytes() == b"jpeg bytes"
    assert path.parent == storage.root
    assert stat.S_IMODE(path.stat().st_mode) == 0o644

    await storage.delete(key)

    assert storage.path_for(key) is None
    assert not path.exists()


async def test_put_replaces_atomically_and_leaves_no_temporary_files(storage: LocalMediaStorage) -> None:
    """Writing a key twice leaves exactly the last content and no stray temporary file."""
    key = new_key()

    await storage.put(key, b"first", "image/jpeg")
    await storage.put(key, b"second", "image/jpeg")

    assert [p.name for p in storage.root.iterdir()] == [key]
    path = storage.path_for(key)
    assert path is not None
    assert path.read_bytes() == b"second"


async def test_delete_of_a_missing_key_is_fine(storage: LocalMediaStorage) -> None:
    """Deleting a photo whose file is already gone succeeds quietly."""
    await storage.delete(new_key())


def test_local_storage_satisfies_the_interface(storage: LocalMediaStorage) -> None:
    """The local store can stand wherever a media store is expected."""
    store: MediaStorage = storage
    assert store.url(new_key()).startswith(f"{BASE_URL}/media/")


def test_keys_are_unique_and_unguessable() -> None:
    """Every key is long, random and URL-safe, so no photo URL can be guessed."""
    keys = {new_key() for _ in range(1000)}

    assert len(keys) == 1000
    for key in keys:
        assert key.endswith(".jpg")
        stem = key.removesuffix(".jpg")
        assert len(stem) >= 32
        assert re.fullmatch(r"[A-Za-z0-9_-]+", stem)
        assert is_valid_key(key)


def test_key_suffix_is_checked() -> None:
    """A key suffix that could smuggle a path is refused."""
    assert new_key(".webp").endswith(".webp")
    assert is_valid_key(new_key(""))
    for suffix in ("/x", "../..", ".j/pg", "jpg"):
        with pytest.raises(ValueError, match="suffix"):
            new_key(suffix)


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_traversal_keys_are_rejected(storage: LocalMediaStorage, tmp_path: Path, key: str) -> None:
    """A key that names any path outside the media directory is refused by every operation."""
    assert storage.path_for(key) is None
    with pytest.raises(ValueError, match="invalid media key"):
        await storage.put(key, b"evil", "image/jpeg")
    with pytest.raises(ValueError, match="invalid media key"):
        await storage.delete(key)
    with pytest.raises(ValueError, match="invalid media key"):
        storage.url(key)

    assert not (tmp_path / "x").exists()
    assert not storage.root.exists() or not any(storage.root.iterdir())


def test_path_for_ignores_directories(storage: LocalMediaStorage) -> None:
    """A key that names a directory rather than a stored file is not served."""
    key = new_key()
    (storage.root / key).mkdir(parents=True)

    assert storage.path_for(key) is None
