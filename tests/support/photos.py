"""Photos in tests: images made in memory (plain, noisy, animated, decompression bombs) and the photo endpoints."""

from __future__ import annotations

import io
import os
import struct
import zlib
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from tests.support.users import auth_header

PHOTOS = "/v1/profile/photos"


def picture(fmt: str = "JPEG", size: tuple[int, int] = (48, 32), color: tuple[int, int, int] = (200, 40, 40),
            **save: Any) -> bytes:
    """A small image of ``size`` encoded as ``fmt``, made in memory."""
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def noisy_jpeg(size: tuple[int, int] = (256, 256)) -> bytes:
    """A JPEG whose pixels vary (so cutting the file really loses picture data)."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def animated_png() -> bytes:
    """A two-frame APNG."""
    first = Image.new("RGB", (32, 32), (255, 0, 0))
    second = Image.new("RGB", (32, 32), (0, 0, 255))
    out = io.BytesIO()
    first.save(out, "PNG", save_all=True, append_images=[second], duration=100, loop=0)
    return out.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of ``width`` x ``height`` black pixels: tiny on disk, huge decoded.

    Built by hand because Pillow would need the full pixel buffer in memory to write it.
    """
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then all-zero pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


async def upload(http: httpx.AsyncClient, token: str, data: bytes, filename: str = "photo.jpg",
                 content_type: str = "image/jpeg") -> httpx.Response:
    return await http.post(PHOTOS, headers=auth_header(token), files={"file": (filename, data, content_type)})


async def list_photos(http: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    resp = await http.get(PHOTOS, headers=auth_header(token))
    assert resp.status_code == 200, resp.text
    assert set(resp.json()) == {"photos"}
    photos: list[dict[str, Any]] = resp.json()["photos"]
    return photos


async def fetch(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """GET a photo URL from the test server (the URL's host is PUBLIC_BASE_URL, not the test port)."""
    return await http.get(urlsplit(url).path)
