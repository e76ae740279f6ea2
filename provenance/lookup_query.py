"""The public lookup's request side: what an uploaded file is (by its bytes), whether it is in bounds,
and what the answer may reveal.

Everything the upload guard reads of the file is inside the guard, and only headers are read before
the caps pass: a file that claims 20000x20000 pixels, or an hour, is refused before a frame is
decoded. Then `mediakit.sampling.clip_from_file` decodes its first QUERY_SECONDS (frames at twice
the fingerprints' rate, scaled down to the lookup's size as they come; sound at 16 kHz mono) and
`provenance.lookup` gives the verdict. A match to a
video the public may not see (a draft, a removed or deleted post, a deactivated owner's) still says
"made in Kino", and nothing else about it: not its id, not its owner, not where in it the copy sits.
"""

from __future__ import annotations

import io
import sys
import warnings
from dataclasses import dataclass
from typing import Any

import av
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from config.errors import KinoError
from feed.public import PublicVideo, video_public_ref
from mediakit.sampling import MediaUnreadable, clip_from_file
from provenance import errors
from provenance.fingerprints import SAMPLE_FPS
from provenance.lookup import QUERY_SIDE, Upload, VerdictKind, lookup

IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}
VIDEO_FORMATS = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}
# A query is decoded at twice the fingerprints' rate (some of its frames then fall on stored ones,
# wherever it starts), and only its first QUERY_SECONDS: 40 frames at most are held at once (the
# lookup hashes at most 12 of them), and every checked frame must agree anyway.
QUERY_FPS = 2 * SAMPLE_FPS
QUERY_SECONDS = 5.0


@dataclass(frozen=True)
class LookupAnswer:
    verdict: VerdictKind
    confidence: float
    post: PublicVideo | None  # only a post anyone may see
    query_range_s: tuple[float, float] | None
    video_range_s: tuple[float, float] | None  # None unless `post` is given
    transforms: tuple[str, ...]


@dataclass(frozen=True)
class _Probe:
    """What the headers say: an image, or a video's frame size and length."""

    still: bool
    pixels: int
    seconds: float
    short_side: int


def lookup_media_read(upload: Any) -> Upload:
    """The upload as the lookup reads it; 4xx KinoError when it is too large, not an image or video
    this server reads, or past the pixel or duration caps."""
    data = _read(upload, settings.PROVENANCE_LOOKUP_MAX_BYTES)
    probe = _image_probe(data) or _video_probe(data)
    cap = (
        settings.PROVENANCE_LOOKUP_MAX_IMAGE_PIXELS if probe.still else settings.PROVENANCE_LOOKUP_MAX_PIXELS
    )
    if probe.pixels == 0:
        raise KinoError(errors.LOOKUP_MEDIA_INVALID, "The pictures have no size.", field="file")
    if probe.pixels > cap:
        raise KinoError(errors.LOOKUP_MEDIA_TOO_MANY_PIXELS, f"At most {cap} pixels a picture.", field="file")
    if probe.seconds > settings.PROVENANCE_LOOKUP_MAX_S:
        raise KinoError(
            errors.LOOKUP_MEDIA_TOO_LONG,
            f"Send at most {settings.PROVENANCE_LOOKUP_MAX_S:g} seconds of the video.",
            field="file",
        )
    # Headers can understate a video's length: decoding stops a second past what they claim.
    seconds = min(settings.PROVENANCE_LOOKUP_MAX_S, probe.seconds + 1.0, QUERY_SECONDS)
    try:
        clip = clip_from_file(data, fps=QUERY_FPS, max_seconds=seconds, short_side=QUERY_SIDE)
    except MediaUnreadable as exc:
        raise KinoError(errors.LOOKUP_MEDIA_INVALID, str(exc), field="file") from exc
    decoded = clip.frames.shape[0] / clip.fps
    return Upload(clip, still=probe.still, seconds=max(decoded, probe.seconds), short_side=probe.short_side)


def lookup_answer(upload: Upload) -> LookupAnswer:
    """The verdict, and the post only when the public may see it."""
    verdict = lookup(upload)
    post = video_public_ref(verdict.video_id) if verdict.kind == "from_kino" and verdict.video_id else None
    return LookupAnswer(
        verdict=verdict.kind,
        confidence=verdict.confidence,
        post=post,
        query_range_s=verdict.query_range_s if verdict.kind == "from_kino" else None,
        video_range_s=verdict.video_range_s if post is not None else None,
        transforms=verdict.transforms if verdict.kind == "from_kino" else (),
    )


def _read(upload: Any, max_bytes: int) -> bytes:
    message = f"The file must be at most {max_bytes // (1024 * 1024)} MB."
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise KinoError(errors.LOOKUP_MEDIA_TOO_LARGE, message, field="file")
    data = bytes(upload.read(max_bytes + 1))
    if len(data) > max_bytes:
        raise KinoError(errors.LOOKUP_MEDIA_TOO_LARGE, message, field="file")
    return data


def _image_probe(data: bytes) -> _Probe | None:
    """A JPEG, PNG or WebP by its header (Pillow reads the size without decoding), else None."""
    try:
        with warnings.catch_warnings():
            # Pillow warns from 89 Mpx and refuses from twice that: either way, too many pixels.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in IMAGE_FORMATS:
                    return None
                width, height = image.size
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return _Probe(still=True, pixels=sys.maxsize, seconds=0.0, short_side=0)
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return _Probe(still=True, pixels=width * height, seconds=0.0, short_side=min(width, height))


def _video_probe(data: bytes) -> _Probe:
    """An MP4/MOV or WebM/Matroska with a video stream, by its magic bytes and its headers."""
    is_mp4 = len(data) >= 12 and data[4:8] == b"ftyp"
    if not (is_mp4 or data[:4] == b"\x1a\x45\xdf\xa3"):
        raise KinoError(
            errors.LOOKUP_MEDIA_INVALID,
            "Send an MP4, MOV or WebM video, or a JPEG, PNG or WebP image.",
            field="file",
        )
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if container.format.name not in VIDEO_FORMATS or not container.streams.video:
                raise KinoError(errors.LOOKUP_MEDIA_INVALID, "This file has no video.", field="file")
            stream = container.streams.video[0]
            width, height = int(stream.codec_context.width or 0), int(stream.codec_context.height or 0)
            seconds = _seconds(container, stream, settings.PROVENANCE_LOOKUP_MAX_S + 1)
    except (av.FFmpegError, ValueError, OSError, IndexError) as exc:
        raise KinoError(errors.LOOKUP_MEDIA_INVALID, "This video could not be read.", field="file") from exc
    return _Probe(still=False, pixels=width * height, seconds=seconds, short_side=min(width, height))


def _seconds(container: Any, stream: Any, cap: float) -> float:
    """The duration from the headers, or from the packets' timestamps (read no further than `cap`)."""
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
