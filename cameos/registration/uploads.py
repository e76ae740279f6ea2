"""The upload guard of a registration: what a file is, by its bytes, and whether it is in bounds.

Only the container's headers (and, when they carry no duration, its packets' timestamps) are read
in the request; decoding the pictures is the worker's job. Every read of the file is inside the
guard, so a damaged or hostile file is a 4xx, never a 5xx.
"""

from __future__ import annotations

import io
from typing import Any

import av
from django.conf import settings

from cameos import errors
from config.errors import KinoError
from mediakit.images import ImageRejected, image_sanitize

PHOTO_SIDE = 1024  # a character's photo is kept at most this large on its longer side
PHOTO_MAX_PIXELS = 40_000_000
VIDEO_FORMATS = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}
AUDIO_FORMATS = {"wav", "mp3", "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "ogg"}


def _read(upload: Any, max_bytes: int) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise KinoError(errors.UPLOAD_TOO_LARGE, f"The file must be at most {max_bytes // (1024 * 1024)} MB.")
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise KinoError(errors.UPLOAD_TOO_LARGE, f"The file must be at most {max_bytes // (1024 * 1024)} MB.")
    return data


def sniffed(data: bytes) -> str:
    """ "mp4" (MP4 and MOV: an ISO base media `ftyp` box), "webm" (EBML), "wav", "mp3", "ogg" or ""."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    if data[:4] == b"OggS":
        return "ogg"
    return ""


def _seconds(container: Any, stream: Any, cap: float) -> float:
    """The stream's duration from the headers, or from its packets' timestamps (a WebM recorded in a
    browser carries none), read no further than `cap` seconds past the limit."""
    if container.duration:
        return float(container.duration) / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    last = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base:
            last = max(last, float(packet.pts * packet.time_base))
            if last > cap:
                break
    return last


def video_checked(upload: Any) -> bytes:
    """The selfie video's bytes, once its format, frame size and length pass; UPLOAD_INVALID,
    UPLOAD_TOO_LARGE or DURATION_OUT_OF_RANGE otherwise."""
    data = _read(upload, settings.CAMEO_UPLOAD_MAX_BYTES)
    if sniffed(data) not in {"mp4", "webm"}:
        raise KinoError(errors.UPLOAD_INVALID, "Upload an MP4, MOV or WebM video.", field="video")
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if container.format.name not in VIDEO_FORMATS or not container.streams.video:
                raise KinoError(errors.UPLOAD_INVALID, "This file has no video.", field="video")
            stream = container.streams.video[0]
            width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
            seconds = _seconds(container, stream, settings.CAMEO_VIDEO_MAX_S + 1)
    except (av.FFmpegError, ValueError, OSError, IndexError) as exc:
        raise KinoError(errors.UPLOAD_INVALID, "This video could not be read.", field="video") from exc
    if width <= 0 or height <= 0 or width * height > settings.CAMEO_VIDEO_MAX_PIXELS:
        raise KinoError(
            errors.UPLOAD_INVALID,
            f"The video's frames must have at most {settings.CAMEO_VIDEO_MAX_PIXELS} pixels.",
            field="video",
        )
    if not settings.CAMEO_VIDEO_MIN_S <= seconds <= settings.CAMEO_VIDEO_MAX_S:
        raise KinoError(
            errors.DURATION_OUT_OF_RANGE,
            f"The video must last {settings.CAMEO_VIDEO_MIN_S:g} to {settings.CAMEO_VIDEO_MAX_S:g} seconds.",
            field="video",
        )
    return data


def voice_checked(upload: Any) -> bytes:
    """A voice sample's bytes (WAV, MP3, M4A, WebM or Ogg audio, at most CAMEO_VOICE_MAX_S)."""
    data = _read(upload, settings.CAMEO_VOICE_MAX_BYTES)
    if sniffed(data) not in {"wav", "mp3", "mp4", "webm", "ogg"}:
        raise KinoError(
            errors.UPLOAD_INVALID, "Upload the voice sample as WAV, MP3, M4A or WebM.", field="voice"
        )
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if container.format.name not in AUDIO_FORMATS or not container.streams.audio:
                raise KinoError(errors.UPLOAD_INVALID, "This file has no sound.", field="voice")
            seconds = _seconds(container, container.streams.audio[0], settings.CAMEO_VOICE_MAX_S + 1)
    except (av.FFmpegError, ValueError, OSError, IndexError) as exc:
        raise KinoError(errors.UPLOAD_INVALID, "This sound file could not be read.", field="voice") from exc
    if not 0 < seconds <= settings.CAMEO_VOICE_MAX_S:
        raise KinoError(
            errors.DURATION_OUT_OF_RANGE,
            f"The voice sample must last at most {settings.CAMEO_VOICE_MAX_S:g} seconds.",
            field="voice",
        )
    return data


def photo_checked(upload: Any) -> bytes:
    """A character's photo as a clean WebP (mediakit's image guard)."""
    try:
        return image_sanitize(
            upload,
            max_bytes=settings.CAMEO_PHOTO_MAX_BYTES,
            max_pixels=PHOTO_MAX_PIXELS,
            size=PHOTO_SIDE,
            square=False,
        )
    except ImageRejected as exc:
        error = errors.UPLOAD_TOO_LARGE if exc.code == "image_too_large" else errors.UPLOAD_INVALID
        raise KinoError(error, exc.message, field="photos") from None
