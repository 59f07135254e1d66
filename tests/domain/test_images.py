"""The photo pipeline: what is accepted, what is refused, and what survives re-encoding."""

from __future__ import annotations

import io
import struct
import time
import zipfile
import zlib
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile

from domain.errors import PayloadTooLarge, UnsupportedMedia
from domain.photos.images import (
    MAIN_MAX_SIDE,
    MAX_SIDE_PX,
    THUMB_MAX_SIDE,
    ProcessedPhoto,
    process_photo,
)

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
RED = (255, 0, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def process(data: bytes, **limits: int) -> ProcessedPhoto:
    return process_photo(
        data, max_bytes=limits.get("max_bytes", MAX_BYTES), max_pixels=limits.get("max_pixels", MAX_PIXELS)
    )


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def close_to(actual: Any, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def detailed_rgb(size: tuple[int, int] = (256, 256)) -> Image.Image:
    """A picture with enough detail that its encodings are several kilobytes long."""
    noise = Image.effect_noise(size, 80)
    return Image.merge("RGB", (noise, Image.linear_gradient("L").resize(size), noise.rotate(90)))


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def blank_bilevel_png(width: int, height: int) -> bytes:
    """A real, complete 1-bit PNG of any size: all-zero rows compress to almost nothing."""
    row = b"\x00" + bytes((width + 7) // 8)
    packer = zlib.compressobj(9)
    rows_per_feed = 500
    idat = b"".join(packer.compress(row * rows_per_feed) for _ in range(height // rows_per_feed))
    idat += packer.compress(row * (height % rows_per_feed)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_are_accepted_and_stored_as_jpeg(fmt: str) -> None:
    """A JPEG, PNG or WebP upload is stored as a JPEG of the same size, with a JPEG thumbnail."""
    photo = process(encode(detailed_rgb((300, 200)), fmt))

    assert photo.content_type == "image/jpeg"
    assert photo.image.startswith(b"\xff\xd8\xff")
    assert photo.thumb.startswith(b"\xff\xd8\xff")
    main, thumb = opened(photo.image), opened(photo.thumb)
    assert (main.format, thumb.format) == ("JPEG", "JPEG")
    assert main.mode == "RGB"
    assert (photo.width, photo.height) == main.size == (300, 200)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_with_gps_and_other_metadata_never_reaches_storage(fmt: str) -> None:
    """Location, camera make/model, XMP and comments in an upload are gone from what is stored."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretMakerCorp"
    exif[ExifTags.Base.Model] = "SpyPhone 9000"
    exif[ExifTags.Base.Software] = "LeakyCam 1.0"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.25),
    }
    extra: dict[str, Any] = {"exif": exif}
    if fmt == "JPEG":
        extra |= {"comment": b"SecretComment", "xmp": b"<x:xmpmeta>SecretXmpPacket</x:xmpmeta>"}
    data = encode(detailed_rgb((120, 80)), fmt, **extra)
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the fixture must carry GPS to prove anything"

    photo = process(data)

    for stored in (photo.image, photo.thumb):
        image = opened(stored)
        assert not image.getexif()
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "xmp", "comment", "icc_profile"} & image.info.keys()
        for secret in (b"Exif\x00\x00", b"SecretMakerCorp", b"SpyPhone", b"LeakyCam", b"Secret"):
            assert secret not in stored


def test_exif_orientation_is_applied() -> None:
    """A phone photo stored sideways with orientation 6 comes out upright, turned 90 degrees clockwise."""
    image = Image.new("RGB", (200, 100), BLUE)
    image.paste(RED, (0, 0, 40, 40))  # the stored top-left corner
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6

    photo = process(encode(image, "JPEG", exif=exif, quality=95))

    assert (photo.width, photo.height) == (100, 200)
    upright = opened(photo.image)
    assert close_to(upright.getpixel((100 - 10, 10)), RED)  # turned clockwise: now top-right
    assert close_to(upright.getpixel((10, 10)), BLUE)
    assert close_to(upright.getpixel((10, 200 - 10)), BLUE)


def test_transparency_is_flattened_onto_white() -> None:
    """A transparent PNG or WebP shows white where it was see-through, not black."""
    image = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (50, 0, 100, 50))

    for data in (encode(image, "PNG"), encode(image, "WEBP", lossless=True)):
        stored = opened(process(data).image)
        assert close_to(stored.getpixel((10, 25)), WHITE)
        assert close_to(stored.getpixel((90, 25)), RED)


def test_palette_transparency_is_flattened_onto_white() -> None:
    """A palette PNG with a transparent colour shows white there."""
    image = Image.new("P", (60, 30), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    image.paste(1, (30, 0, 60, 30))

    stored = opened(process(encode(image, "PNG", transparency=0)).image)

    assert close_to(stored.getpixel((5, 15)), WHITE)
    assert close_to(stored.getpixel((55, 15)), RED)


def test_sixteen_bit_greyscale_keeps_its_tones() -> None:
    """A 16-bit greyscale PNG keeps its mid-grey instead of turning white."""
    image = Image.new("I;16", (40, 40), 32768)

    stored = opened(process(encode(image, "PNG")).image)

    assert close_to(stored.getpixel((20, 20)), (128, 128, 128), tolerance=4)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_large_photo_is_downscaled_keeping_its_shape(fmt: str) -> None:
    """A 4000x1000 photo is stored at 2048x512 with a 400x100 thumbnail."""
    photo = process(encode(Image.new("RGB", (4000, 1000), RED), fmt))

    assert (photo.width, photo.height) == (MAIN_MAX_SIDE, 512)
    assert opened(photo.image).size == (MAIN_MAX_SIDE, 512)
    assert opened(photo.thumb).size == (THUMB_MAX_SIDE, 100)


def test_very_large_jpeg_is_downscaled_within_bounds() -> None:
    """A tall 4200x8400 JPEG (decoded at reduced scale) is stored at 1024x2048 with a 200x400 thumbnail."""
    photo = process(encode(Image.new("RGB", (4200, 8400), BLUE), "JPEG"))

    assert (photo.width, photo.height) == (1024, MAIN_MAX_SIDE)
    assert opened(photo.image).size == (1024, MAIN_MAX_SIDE)
    assert opened(photo.thumb).size == (200, THUMB_MAX_SIDE)
    assert close_to(opened(photo.image).getpixel((512, 1024)), BLUE)


def test_small_photo_is_not_upscaled() -> None:
    """A photo smaller than the thumbnail bound is stored at its own size."""
    photo = process(encode(Image.new("RGB", (120, 90), RED), "PNG"))

    assert (photo.width, photo.height) == (120, 90)
    assert opened(photo.thumb).size == (120, 90)


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.js", "alert(1)")
    return out.getvalue()


REFUSED_CONTENT = {
    "gif": encode(Image.new("RGB", (20, 20), RED), "GIF"),
    "bmp": encode(Image.new("RGB", (20, 20), RED), "BMP"),
    "tiff": encode(Image.new("RGB", (20, 20), RED), "TIFF"),
    "ico": encode(Image.new("RGB", (32, 32), RED), "ICO"),
    "text": b"just some text, named photo.jpg",
    "html": b"<!doctype html><html><body><script>alert(1)</script></body></html>",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
    "pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    "heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64),
    "zip": zip_bytes(),
    "empty": b"",
    "html_then_png": b"<html><script>alert(1)</script></html>" + encode(Image.new("RGB", (8, 8)), "PNG"),
    "jpeg_magic_only": b"\xff\xd8\xff\xe0" + bytes(32),
    "png_magic_only": b"\x89PNG\r\n\x1a\n",
}


@pytest.mark.parametrize("name", sorted(REFUSED_CONTENT))
def test_anything_but_jpeg_png_webp_is_refused_by_content(name: str) -> None:
    """GIF, BMP, TIFF, text, HTML, SVG, PDF, HEIC, zip and fakes are refused whatever they are called."""
    with pytest.raises(UnsupportedMedia) as refused:
        process(REFUSED_CONTENT[name])

    assert refused.value.code == "validation_error"
    assert refused.value.details is not None
    assert set(refused.value.details["fields"]) == {"file"}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_image_is_refused(fmt: str) -> None:
    """An upload cut off halfway is refused, not stored as half a picture."""
    data = encode(detailed_rgb(), fmt)

    with pytest.raises(UnsupportedMedia):
        process(data[: len(data) // 2])


def test_corrupt_png_is_refused() -> None:
    """A PNG whose image data is garbage is refused."""
    data = bytearray(encode(detailed_rgb(), "PNG"))
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)

    with pytest.raises(UnsupportedMedia):
        process(bytes(data))


def test_decompression_bomb_is_refused_from_its_header_without_decoding() -> None:
    """A small PNG that would inflate to 20000x20000 pixels is refused at once as too large."""
    bomb = blank_bilevel_png(20_000, 20_000)
    assert len(bomb) < 100_000

    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge):
        process(bomb)
    assert time.perf_counter() - started < 1.0


def test_image_over_the_pixel_cap_is_refused_with_a_clear_message() -> None:
    """An image whose width times height is over the cap is refused, naming its size and the cap."""
    bomb = blank_bilevel_png(8_000, 6_000)

    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge) as refused:
        process(bomb, max_pixels=40_000_000)
    assert time.perf_counter() - started < 1.0
    assert "8000x6000" in refused.value.message
    assert "40000000" in refused.value.message


def test_image_between_our_cap_and_pillows_bomb_limit_is_refused() -> None:
    """An image large enough to trip Pillow's own bomb warning is refused as too large, not a crash."""
    assert Image.MAX_IMAGE_PIXELS is not None
    side = 10_000
    assert Image.MAX_IMAGE_PIXELS < side * side < 2 * Image.MAX_IMAGE_PIXELS

    with pytest.raises(PayloadTooLarge):
        process(blank_bilevel_png(side, side))


def test_absurdly_long_side_is_refused_even_with_few_pixels() -> None:
    """A 13000x10 strip is refused as too large although its area is small."""
    with pytest.raises(PayloadTooLarge):
        process(encode(Image.new("L", (MAX_SIDE_PX + 1_000, 10)), "PNG"))


def test_upload_over_the_byte_cap_is_refused() -> None:
    """An upload one byte over the size cap is refused as too large; one at the cap is fine."""
    data = encode(detailed_rgb(), "JPEG")

    with pytest.raises(PayloadTooLarge):
        process(data, max_bytes=len(data) - 1)
    assert process(data, max_bytes=len(data)).width == 256


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_animated_image_is_refused(fmt: str) -> None:
    """An animated PNG or WebP is refused rather than silently cut to its first frame."""
    frames = [Image.new("RGB", (40, 40), colour) for colour in (RED, BLUE, WHITE)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:])
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3

    with pytest.raises(UnsupportedMedia):
        process(data)


def test_multi_picture_jpeg_from_a_phone_is_accepted() -> None:
    """A multi-picture JPEG (MPO, as many phones write) is stored as its first picture."""
    data = encode(Image.new("RGB", (80, 60), RED), "MPO", save_all=True,
                  append_images=[Image.new("RGB", (80, 60), BLUE)])

    photo = process(data)

    assert (photo.width, photo.height) == (80, 60)
    assert close_to(opened(photo.image).getpixel((40, 30)), RED)


def test_png_with_appended_script_is_stored_without_it() -> None:
    """A PNG with a script appended is accepted, and the stored files hold nothing of the script."""
    data = encode(detailed_rgb((64, 64)), "PNG") + b"<script>alert(1)</script>"

    photo = process(data)

    for stored in (photo.image, photo.thumb):
        assert b"script" not in stored
        assert b"alert" not in stored


def test_jpeg_that_is_also_a_zip_is_stored_without_the_archive() -> None:
    """A JPEG that is also a zip archive is stored as a plain JPEG with no archive inside."""
    data = encode(detailed_rgb((64, 64)), "JPEG") + zip_bytes()

    photo = process(data)

    for stored in (photo.image, photo.thumb):
        assert b"PK\x03\x04" not in stored
        assert b"payload.js" not in stored


def test_colour_profile_is_converted_then_dropped() -> None:
    """A photo tagged with a colour profile keeps its colours and is stored without the profile."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = Image.new("RGB", (50, 50), (200, 100, 50))

    for profile in (srgb, b"not a profile at all"):
        stored = opened(process(encode(image, "PNG", icc_profile=profile)).image)
        assert "icc_profile" not in stored.info
        assert close_to(stored.getpixel((25, 25)), (200, 100, 50), tolerance=6)


def test_truncated_images_switch_left_on_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """If something turned on Pillow's accept-truncated-images switch, uploads fail instead of passing."""
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)

    with pytest.raises(RuntimeError):
        process(encode(Image.new("RGB", (10, 10)), "PNG"))
