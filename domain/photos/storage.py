"""Where photo bytes live: a small interface, and the local-disk store behind it.

``MediaStorage`` is all the photo service needs, so an S3-compatible store can be added later
without touching it. Keys are random (``new_key``), never derived from a user, a photo id or a
file name, so a URL cannot be guessed from anything else anyone knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Final, Protocol

# 24 random bytes = 192 bits, 32 URL-safe characters; the suffix keeps a file type visible.
_TOKEN_BYTES: Final = 24
# Only what ``new_key`` makes: no slash, no leading dot, so no "..", no hidden file, no traversal.
_KEY_RE: Final = re.compile(r"[A-Za-z0-9_-]{16,100}(?:\.[A-Za-z0-9]{1,10})?")
_SUFFIX_RE: Final = re.compile(r"(?:\.[A-Za-z0-9]{1,10})?")


class MediaStorage(Protocol):
    """Stores blobs under opaque keys and hands out their public URLs."""

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key``, replacing what was there."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; a key that is already gone is not an error."""
        ...

    def url(self, key: str) -> str:
        """The public URL the apps load ``key`` from."""
        ...


def new_key(suffix: str = ".jpg") -> str:
    """A fresh, unguessable, URL-safe storage key such as ``"Qx3…_9a.jpg"``."""
    if _SUFFIX_RE.fullmatch(suffix) is None:
        raise ValueError(f"invalid key suffix: {suffix!r}")
    return secrets.token_urlsafe(_TOKEN_BYTES) + suffix


def is_valid_key(key: str) -> bool:
    """Whether ``key`` has the shape of a key ``new_key`` makes (and so names no other path)."""
    # fullmatch, not match with "$": "$" would also accept a trailing newline.
    return _KEY_RE.fullmatch(key) is not None


def _checked(key: str) -> str:
    if not is_valid_key(key):
        raise ValueError(f"invalid media key: {key!r}")
    return key


class LocalMediaStorage:
    """Files in one directory, served by the app's ``/media/{key}`` route."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write ``data`` to ``root/key`` atomically, off the event loop."""
        await asyncio.to_thread(self._write, self.root / _checked(key), data)

    async def delete(self, key: str) -> None:
        """Remove ``root/key`` off the event loop; a missing file is fine."""
        await asyncio.to_thread((self.root / _checked(key)).unlink, missing_ok=True)

    def url(self, key: str) -> str:
        """``{base_url}/media/{key}``."""
        return f"{self.base_url}/media/{_checked(key)}"

    def path_for(self, key: str) -> Path | None:
        """The file to serve for ``key``, or None for a malformed key or a missing file."""
        if not is_valid_key(key):
            return None
        path = self.root / key
        # One stat() of a local file: cheap enough to do inline in the media route.
        return path if path.is_file() else None

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The temporary name starts with a dot, so it never matches a key and is never served
        # half-written; os.replace in the same directory is atomic, so readers see all or nothing.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as tmp:
                # mkstemp makes 0600; a front proxy serving the directory needs to read it.
                os.fchmod(tmp.fileno(), 0o644)
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
