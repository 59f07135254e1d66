"""Turn an uploaded file into the JPEGs we store: judged by content, bombs refused, metadata gone.

Pure and CPU-bound: no I/O and no event loop. The caller runs ``process_photo`` in a worker thread.

What goes in and what comes out:

- Only JPEG, PNG and WebP, recognised by their magic bytes through Pillow with every other
  decoder switched off. Whatever the client calls the file does not matter (and is not asked).
- The size in pixels is read from the header and checked before a single pixel is decoded, so
  a small file that inflates to gigabytes (a decompression bomb) costs nothing.
- Animated PNG and WebP are refused rather than cut to their first frame: a profile photo that
  silently shows a different picture from the one the user chose is worse than a clear error.
  A multi-picture JPEG (MPO, what many phones write) is a photo plus previews or depth or gain
  maps, not an animation: its first picture is the photo and is kept.
- The output is re-encoded from pixels alone into fresh JPEGs, so no EXIF (GPS included), XMP,
  comment or trailing payload of the upload can survive. EXIF orientation is applied first,
  transparency is flattened onto white, and an embedded RGB colour profile is converted to sRGB
  (then dropped) so wide-gamut phone photos keep their colours.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageCms, ImageFile, ImageOps

from domain.errors import PayloadTooLarge, UnsupportedMedia

ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP")
CONTENT_TYPE: Final = "image/jpeg"
# No camera or phone produces a side this long; anything beyond is a bomb, whatever its area.
MAX_SIDE_PX: Final = 12_000
MAIN_MAX_SIDE: Final = 2048
THUMB_MAX_SIDE: Final = 400
JPEG_QUALITY: Final = 85

_ALPHA_MODES: Final = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WIDE_GREY_MODES: Final = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_SRGB: Final = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    """A photo re-encoded from its pixels: the main JPEG, its thumbnail and the main one's size."""

    image: bytes
    thumb: bytes
    width: int
    height: int
    content_type: str = CONTENT_TYPE


def process_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> ProcessedPhoto:
    """Re-encode an upload into a metadata-free JPEG and thumbnail; animated images are refused."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"photo is too large: {len(data)} bytes (limit {max_bytes})", {"max_bytes": max_bytes}
        )
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # A process-wide Pillow switch that would let half a file pass as a whole image.
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")

    decoded = _decode(data, max_pixels)
    icc_profile = decoded.info.get("icc_profile")
    picture = _flatten_to_rgb(ImageOps.exif_transpose(decoded))
    picture.thumbnail((MAIN_MAX_SIDE, MAIN_MAX_SIDE), Image.Resampling.LANCZOS)
    if isinstance(icc_profile, bytes) and icc_profile:
        picture = _to_srgb(picture, icc_profile)

    # A new image built from the raw pixels has an empty ``info``: Pillow's JPEG writer would
    # otherwise carry over some of it (the comment, for one) without being asked.
    clean = Image.frombytes("RGB", picture.size, picture.tobytes())
    thumb = clean.copy()
    thumb.thumbnail((THUMB_MAX_SIDE, THUMB_MAX_SIDE), Image.Resampling.LANCZOS)
    return ProcessedPhoto(image=_jpeg(clean), thumb=_jpeg(thumb), width=clean.width, height=clean.height)


def _decode(data: bytes, max_pixels: int) -> ImageFile.ImageFile:
    """Open by content, refuse bombs from the header alone, then decode every pixel."""
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard fired first (its limit is global and may differ from ours);
        # the warning arrives as an exception only where warnings are errors.
        raise PayloadTooLarge("photo is too large: too many pixels", {"max_pixels": max_pixels}) from exc
    except Exception as exc:
        raise UnsupportedMedia.field("file", "not a JPEG, PNG or WebP image") from exc

    width, height = image.size
    if width > MAX_SIDE_PX or height > MAX_SIDE_PX or width * height > max_pixels:
        raise PayloadTooLarge(
            f"photo is too large: {width}x{height} pixels "
            f"(limit {max_pixels} pixels and {MAX_SIDE_PX} per side)",
            {"max_pixels": max_pixels, "max_side": MAX_SIDE_PX},
        )
    if width < 1 or height < 1:
        raise UnsupportedMedia.field("file", "the image has no pixels")
    if image.format in ("PNG", "WEBP") and int(getattr(image, "n_frames", 1)) > 1:
        raise UnsupportedMedia.field("file", "animated images are not accepted")
    if image.format in ("JPEG", "MPO"):
        # Let libjpeg decode a huge photo at 1/2, 1/4 or 1/8 scale when that still covers our
        # largest output: the same result for a fraction of the memory and time.
        image.draft(None, (MAIN_MAX_SIDE, MAIN_MAX_SIDE))

    try:
        image.load()
    except Exception as exc:
        # A hostile or damaged file can make a decoder raise almost anything (OSError for a
        # truncated stream, SyntaxError for a bad chunk, ValueError, struct.error ...): all of it
        # means the upload is not an image we accept.
        raise UnsupportedMedia.field("file", "the image is damaged or incomplete") from exc
    return image


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """Three 8-bit channels, with any transparency laid on white."""
    if image.mode in _WIDE_GREY_MODES:
        # Pillow's convert clips 16-bit grey at 255 instead of scaling it down.
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _to_srgb(image: Image.Image, icc_profile: bytes) -> Image.Image:
    """Convert from an embedded RGB profile to sRGB; a broken or non-RGB profile is ignored."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if source.profile.xcolor_space.strip() != "RGB":
            return image
        converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # Colour is a nicety: a bad profile costs accuracy, never the upload.
        return image
    return converted if converted is not None else image


def _jpeg(image: Image.Image) -> bytes:
    """Encode as a progressive, optimised JPEG with no metadata."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()
