"""Uploaded images, checked by what they are rather than what they claim to be.

The bytes are sniffed by Pillow, bounded in size and pixel count before any
decoding, then decoded and re-encoded as WebP: metadata (GPS, camera serials)
and anything appended to the file (polyglots) do not survive.
"""

from __future__ import annotations

import io
import warnings

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


class ImageRejected(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def image_sanitize(upload: UploadedFile, *, max_bytes: int, max_pixels: int, size: int) -> ContentFile:
    if upload.size is None or upload.size > max_bytes:
        raise ImageRejected("image_too_large", f"The image must be at most {max_bytes // (1024 * 1024)} MB.")
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageRejected("image_too_large", f"The image must be at most {max_bytes // (1024 * 1024)} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ALLOWED_FORMATS:
                raise ImageRejected("image_type_unsupported", "Use a JPEG, PNG or WebP image.")
            width, height = probe.size
            if width * height > max_pixels or width < 1 or height < 1:
                raise ImageRejected(
                    "image_too_many_pixels", f"The image must have at most {max_pixels} pixels."
                )
            probe.verify()  # structure and checksums, before decoding any pixel data
            image = Image.open(io.BytesIO(data))
            image.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(
            "image_too_many_pixels", f"The image must have at most {max_pixels} pixels."
        ) from None
    except UnidentifiedImageError:
        raise ImageRejected("image_invalid", "The file is not a readable image.") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRejected("image_invalid", "The file is not a readable image.") from None
    square = ImageOps.fit(
        ImageOps.exif_transpose(image).convert("RGB"), (size, size), method=Image.Resampling.LANCZOS
    )
    out = io.BytesIO()
    square.save(out, format="WEBP", quality=85)
    return ContentFile(out.getvalue(), name="avatar.webp")
