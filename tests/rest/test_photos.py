"""CONTRACT section 1 photo endpoints and section 3 "Photos", through the real server."""

from __future__ import annotations

import asyncio
import io
import json
import os
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from tests.support.photos import PHOTOS, animated_png, bomb_png, fetch, list_photos, noisy_jpeg, picture, upload
from tests.support.rest import assert_error
from tests.support.server import RunningServer
from tests.support.users import auth_header, signup

PHOTO_FIELDS = {"id", "url", "thumb_url", "position", "width", "height"}
MAX_BYTES = 10 * 1024 * 1024


async def upload_ok(http: httpx.AsyncClient, token: str, data: bytes | None = None) -> dict[str, Any]:
    resp = await upload(http, token, data if data is not None else picture())
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def wait_gone(http: httpx.AsyncClient, url: str, within_s: float = 2.0) -> httpx.Response:
    """Poll ``url`` until it answers 404 or ``within_s`` passes; return the last answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        resp = await fetch(http, url)
        if resp.status_code == 404 or loop.time() >= deadline:
            return resp
        await asyncio.sleep(0.05)


async def test_upload_answers_201_with_the_photo_object_and_lists_in_order(http: httpx.AsyncClient) -> None:
    """Uploads answer 201 with exactly the contract's photo fields, take positions 0, 1 and list in that order."""
    token = (await signup(http))["access_token"]
    assert await list_photos(http, token) == []
    first = await upload_ok(http, token, picture(size=(60, 40)))
    second = await upload_ok(http, token, picture(size=(30, 50)))
    assert set(first) == PHOTO_FIELDS and set(second) == PHOTO_FIELDS
    uuid.UUID(first["id"])
    assert (first["position"], second["position"]) == (0, 1)
    assert (first["width"], first["height"], second["width"], second["height"]) == (60, 40, 30, 50)
    assert await list_photos(http, token) == [first, second]


async def test_photo_urls_serve_jpegs_from_unguessable_keys(http: httpx.AsyncClient) -> None:
    """The photo and its thumbnail are served as JPEGs from long random keys, different for each file."""
    token = (await signup(http))["access_token"]
    data = picture(size=(900, 600))
    photo = await upload_ok(http, token, data)
    again = await upload_ok(http, token, data)
    for url in (photo["url"], photo["thumb_url"]):
        resp = await fetch(http, url)
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(resp.content)).format == "JPEG"
    main = Image.open(io.BytesIO((await fetch(http, photo["url"])).content))
    thumb = Image.open(io.BytesIO((await fetch(http, photo["thumb_url"])).content))
    assert main.size == (photo["width"], photo["height"]) == (900, 600)
    assert max(thumb.size) < max(main.size)
    keys = [urlsplit(u).path.rsplit("/", 1)[-1] for u in (photo["url"], photo["thumb_url"], again["url"])]
    assert all(len(k) >= 32 for k in keys), keys
    assert len(set(keys)) == 3
    assert photo["id"] not in photo["url"] and photo["id"] not in photo["thumb_url"]


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
async def test_png_and_webp_are_accepted(http: httpx.AsyncClient, fmt: str) -> None:
    """PNG and WebP uploads are accepted and served back as JPEG."""
    token = (await signup(http))["access_token"]
    photo = await upload_ok(http, token, picture(fmt, size=(40, 20)))
    assert (photo["width"], photo["height"]) == (40, 20)
    resp = await fetch(http, photo["url"])
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"


async def test_content_decides_not_the_name_or_header(http: httpx.AsyncClient) -> None:
    """A real PNG called x.gif and sent as text/plain is accepted."""
    token = (await signup(http))["access_token"]
    resp = await upload(http, token, picture("PNG"), filename="x.gif", content_type="text/plain")
    assert resp.status_code == 201, resp.text


@pytest.mark.parametrize(("data", "filename", "content_type"), [
    pytest.param(picture("GIF"), "x.jpg", "image/jpeg", id="gif-named-jpg"),
    pytest.param(b"hello, I am certainly a photo\n" * 20, "x.jpg", "image/jpeg", id="plain-text"),
    pytest.param(picture("BMP"), "x.png", "image/png", id="bmp-named-png"),
    pytest.param(noisy_jpeg()[:3000], "x.jpg", "image/jpeg", id="truncated-jpeg"),
    pytest.param(animated_png(), "x.png", "image/png", id="animated-png"),
    pytest.param(b"", "x.jpg", "image/jpeg", id="empty-file"),
])
async def test_not_an_accepted_image_is_415(http: httpx.AsyncClient, data: bytes, filename: str,
                                            content_type: str) -> None:
    """Anything that is not a whole still JPEG, PNG or WebP is 415 validation_error naming file, and not stored."""
    token = (await signup(http))["access_token"]
    err = assert_error(await upload(http, token, data, filename, content_type), 415, "validation_error")
    assert "file" in err["details"]["fields"]
    assert await list_photos(http, token) == []


async def test_gps_and_camera_exif_are_removed(http: httpx.AsyncClient) -> None:
    """A photo with GPS coordinates and a camera Make comes back with no EXIF at all."""
    image = Image.new("RGB", (120, 80), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "DeleteSpyCamMake"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the upload really carries GPS

    token = (await signup(http))["access_token"]
    photo = await upload_ok(http, token, data)
    for url in (photo["url"], photo["thumb_url"]):
        stored = (await fetch(http, url)).content
        assert dict(Image.open(io.BytesIO(stored)).getexif()) == {}
        assert b"DeleteSpyCamMake" not in stored
        assert b"Exif\x00\x00" not in stored


async def test_exif_orientation_is_applied(http: httpx.AsyncClient) -> None:
    """A 200x100 JPEG marked "rotate 90°" (orientation 6) is stored upright as 100x200."""
    exif = Image.Exif()
    exif[0x0112] = 6
    data = picture(size=(200, 100), exif=exif)
    token = (await signup(http))["access_token"]
    photo = await upload_ok(http, token, data)
    assert (photo["width"], photo["height"]) == (100, 200)
    stored = Image.open(io.BytesIO((await fetch(http, photo["url"])).content))
    assert stored.size == (100, 200)
    assert stored.getexif().get(0x0112) is None


async def test_size_cap_is_10_mib_and_checked_before_image_work(http: httpx.AsyncClient) -> None:
    """10 MiB of junk is judged as an image (415); one byte more is refused for size (413 bad_request)."""
    token = (await signup(http))["access_token"]
    junk = os.urandom(MAX_BYTES + 1)
    assert_error(await upload(http, token, junk[:MAX_BYTES]), 415, "validation_error")
    assert_error(await upload(http, token, junk), 413, "bad_request")
    assert await list_photos(http, token) == []


@pytest.mark.parametrize("size", [(20_000, 20_000), (7_000, 7_000), (12_001, 8)],
                         ids=["400-megapixel", "49-megapixel", "12001-px-side"])
async def test_decompression_bombs_are_413(http: httpx.AsyncClient, size: tuple[int, int]) -> None:
    """A small PNG that declares too many pixels (or too long a side) is 413 and not stored."""
    data = bomb_png(*size)
    assert len(data) < 200_000
    token = (await signup(http))["access_token"]
    assert_error(await upload(http, token, data, "bomb.png", "image/png"), 413, "bad_request")
    assert await list_photos(http, token) == []


async def test_seventh_photo_is_409_photo_limit(http: httpx.AsyncClient) -> None:
    """With six photos, a seventh upload is 409 photo_limit and the six stay as they were."""
    token = (await signup(http))["access_token"]
    for _ in range(6):
        await upload_ok(http, token)
    before = await list_photos(http, token)
    assert [p["position"] for p in before] == [0, 1, 2, 3, 4, 5]
    assert_error(await upload(http, token, picture()), 409, "photo_limit")
    assert await list_photos(http, token) == before


async def test_six_is_a_hard_cap_under_concurrent_uploads(http: httpx.AsyncClient) -> None:
    """Five simultaneous uploads on top of four photos: exactly two succeed, the rest are photo_limit."""
    token = (await signup(http))["access_token"]
    for _ in range(4):
        await upload_ok(http, token)
    results = await asyncio.gather(*[upload(http, token, picture()) for _ in range(5)])
    assert sorted(r.status_code for r in results) == [201, 201, 409, 409, 409]
    assert all(r.json()["error"]["code"] == "photo_limit" for r in results if r.status_code == 409)
    assert [p["position"] for p in await list_photos(http, token)] == [0, 1, 2, 3, 4, 5]


async def test_delete_renumbers_and_removes_the_files(http: httpx.AsyncClient) -> None:
    """Deleting the middle photo answers 204, closes the gap in positions and its URLs stop working."""
    token = (await signup(http))["access_token"]
    first, middle, last = [await upload_ok(http, token) for _ in range(3)]
    resp = await http.delete(f"{PHOTOS}/{middle['id']}", headers=auth_header(token))
    assert resp.status_code == 204 and resp.content == b""
    listed = await list_photos(http, token)
    assert [(p["id"], p["position"]) for p in listed] == [(first["id"], 0), (last["id"], 1)]
    for url in (middle["url"], middle["thumb_url"]):
        assert_error(await wait_gone(http, url), 404, "not_found")
    for url in (first["url"], last["thumb_url"]):
        assert (await fetch(http, url)).status_code == 200
    assert (await upload_ok(http, token))["position"] == 2


async def test_someone_elses_photo_is_404_and_untouched(http: httpx.AsyncClient) -> None:
    """Deleting another user's photo id is 404 not_found (never 403) and the photo stays theirs."""
    owner = (await signup(http))["access_token"]
    other = (await signup(http))["access_token"]
    photo = await upload_ok(http, owner)
    assert_error(await http.delete(f"{PHOTOS}/{photo['id']}", headers=auth_header(other)), 404, "not_found")
    assert await list_photos(http, owner) == [photo]
    assert (await fetch(http, photo["url"])).status_code == 200


@pytest.mark.parametrize("photo_id", [str(uuid.uuid4()), "not-a-uuid", "1", "00000000-0000-0000-0000-000000000000"])
async def test_unknown_or_malformed_photo_id_is_404(http: httpx.AsyncClient, photo_id: str) -> None:
    """Deleting an id that names no photo, or is not a UUID at all, is 404 not_found."""
    token = (await signup(http))["access_token"]
    await upload_ok(http, token)
    assert_error(await http.delete(f"{PHOTOS}/{photo_id}", headers=auth_header(token)), 404, "not_found")
    assert len(await list_photos(http, token)) == 1


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_photo_endpoints_need_a_token(http: httpx.AsyncClient, method: str) -> None:
    """List, upload and delete without a bearer token are 401 unauthorized."""
    if method == "GET":
        resp = await http.get(PHOTOS)
    elif method == "POST":
        resp = await http.post(PHOTOS, files={"file": ("x.jpg", picture(), "image/jpeg")})
    else:
        resp = await http.delete(f"{PHOTOS}/{uuid.uuid4()}")
    assert_error(resp, 401, "unauthorized")


async def test_multipart_without_file_field_is_422(http: httpx.AsyncClient) -> None:
    """A multipart upload whose image is not in the field `file` is 422 validation_error naming file."""
    token = (await signup(http))["access_token"]
    resp = await http.post(PHOTOS, headers=auth_header(token), files={"photo": ("x.jpg", picture(), "image/jpeg")})
    err = assert_error(resp, 422, "validation_error")
    assert set(err["details"]["fields"]) == {"file"}
    assert await list_photos(http, token) == []


async def test_non_multipart_body_is_422(http: httpx.AsyncClient) -> None:
    """A JSON body instead of multipart is 422 validation_error naming file."""
    token = (await signup(http))["access_token"]
    resp = await http.post(PHOTOS, headers=auth_header(token), json={"file": "aGVsbG8="})
    err = assert_error(resp, 422, "validation_error")
    assert set(err["details"]["fields"]) == {"file"}


@pytest.mark.parametrize("path", [
    "/media/unknownkeyxxxxxxxxxxxxxxxxxxxxxxxx.jpg",
    "/media/..%2F..%2Fetc%2Fpasswd",
    "/media/%2e%2e",
    "/media/.upload-abcdefgh.tmp",
    "/media/",
])
async def test_unknown_media_is_404(http: httpx.AsyncClient, path: str) -> None:
    """Unknown, hidden or escaping media paths answer 404 not_found in the error shape."""
    assert_error(await http.get(path), 404, "not_found")


async def test_literal_dot_dot_media_path_is_404(server: RunningServer) -> None:
    """A raw `GET /media/../../etc/passwd` (not normalised by any client) is 404 in the error shape."""
    status, headers, body = await raw_get(server.base_url, "/media/../../etc/passwd")
    assert status == 404
    assert headers.get("content-type", "").startswith("application/json")
    error = json.loads(body)["error"]
    assert error["code"] == "not_found" and b"root:" not in body


async def raw_get(base_url: str, target: str) -> tuple[int, dict[str, str], bytes]:
    """Send ``GET target`` byte for byte over a fresh connection; return status, headers and body."""
    parts = urlsplit(base_url)
    async with asyncio.timeout(10):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            writer.write(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ", 2)[1]), headers, body
