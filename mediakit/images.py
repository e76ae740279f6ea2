"""Uploaded images, checked by what they are rather than what they claim to be.

The bytes are sniffed by Pillow, bounded in size and pixel count before any
decoding, then decoded and re-encoded as WebP: metadata (GPS, camera serials)
and anything appended to the file (polyglots) do not survive. Every decode,
the EXIF rotation included, happens inside the guard, so a broken file is a
refusal with a code, never a crash.
"""

from __future__ import annotations

import io
import warnings
from typing import Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


class Upload(Protocol):
    @property
    def size(self) -> int | None: ...

    def read(self, size: int = -1) -> bytes: ...


class ImageRejected(ValueError):
    """`code` is one of the platform's image codes (config.errors): image_too_large,
    image_too_many_pixels, image_type_unsupported, image_invalid."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _too_large(max_bytes: int) -> ImageRejected:
    return ImageRejected("image_too_large", f"The image must be at most {max_bytes / (1024 * 1024):g} MB.")


def _too_many_pixels(max_pixels: int) -> ImageRejected:
    return ImageRejected("image_too_many_pixels", f"The image must have at most {max_pixels} pixels.")


def _read_bounded(upload: Upload, max_bytes: int) -> bytes:
    if upload.size is None or upload.size > max_bytes:
        raise _too_large(max_bytes)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return data


def _decode(data: bytes, max_pixels: int) -> Image.Image:
    """Sniff, bound and decode; upright (EXIF orientation applied) and RGB."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        probe = Image.open(io.BytesIO(data))
        if probe.format not in ALLOWED_FORMATS:
            raise ImageRejected("image_type_unsupported", "Use a JPEG, PNG or WebP image.")
        width, height = probe.size
        if width * height > max_pixels or width < 1 or height < 1:
            raise _too_many_pixels(max_pixels)
        probe.verify()  # structure and checksums, before decoding any pixel data
        image = Image.open(io.BytesIO(data))
        image.load()
        return ImageOps.exif_transpose(image).convert("RGB")


def image_sanitize(
    upload: Upload, *, max_bytes: int, max_pixels: int, size: int, square: bool = True
) -> bytes:
    """The upload as a clean WebP: cropped to a `size` square, or (square=False) its own shape
    scaled to fit within `size` on its longer side. Raises ImageRejected."""
    data = _read_bounded(upload, max_bytes)
    try:
        image = _decode(data, max_pixels)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ImageRejected("image_invalid", "The file is not a readable image.") from None
    if square:
        image = ImageOps.fit(image, (size, size), method=Image.Resampling.LANCZOS)
    else:
        image.thumbnail((size, size), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=85)
    return out.getvalue()
