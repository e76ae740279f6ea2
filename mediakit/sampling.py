"""What screening and fingerprinting look at and listen to: frames at a fixed rate and the sound as
16 kHz mono, from a rendered `mediakit.Clip` or from an uploaded video or image file (decoded with
PyAV or Pillow)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from math import gcd
from typing import Any

import av
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy.signal import resample_poly

from mediakit import Clip

AUDIO_RATE = 16_000  # what the voice encoder hears
FILE_MAX_SECONDS = 120  # an uploaded video is screened over at most its first two minutes


class MediaUnreadable(ValueError):
    """An uploaded file that is neither an image nor a video PyAV can read."""


@dataclass(frozen=True)
class Frame:
    index: int  # the frame's position in the clip
    time_s: float
    image: np.ndarray = field(repr=False, compare=False)  # uint8 [H, W, 3]


def frames_at(clip: Clip, fps: float = 2.0) -> list[Frame]:
    """One frame every 1/fps seconds, from the first; a clip shorter than that gives its first frame."""
    count = clip.frames.shape[0]
    duration = count / clip.fps
    times = np.arange(0.0, duration, 1.0 / fps) if count else np.zeros(0)
    frames = []
    for time_s in times:
        index = min(count - 1, round(float(time_s) * clip.fps))
        frames.append(Frame(index=index, time_s=round(float(time_s), 3), image=clip.frames[index]))
    return frames


def audio_mono_16k(clip: Clip) -> np.ndarray | None:
    """The clip's sound as float32 mono at 16 kHz, or None when it has none."""
    if clip.audio is None or clip.sample_rate is None or clip.audio.size == 0:
        return None
    return mono_16k(clip.audio, clip.sample_rate)


def mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    wav = np.asarray(samples, dtype=np.float32)
    if wav.ndim == 2:
        wav = wav.mean(axis=0)
    if sample_rate != AUDIO_RATE:
        common = gcd(int(sample_rate), AUDIO_RATE)
        wav = resample_poly(wav, AUDIO_RATE // common, int(sample_rate) // common).astype(np.float32)
    return np.clip(wav, -1.0, 1.0).astype(np.float32)


def clip_from_file(
    data: bytes, *, fps: float = 2.0, max_seconds: float = FILE_MAX_SECONDS, short_side: int | None = None
) -> Clip:
    """An uploaded image (one frame) or video (frames at `fps`, sound at 16 kHz mono) as a Clip to screen;
    MediaUnreadable for anything else. `short_side`: a video's frames are scaled down to it as they are
    decoded (never up), so that a long 1080p upload is not held at full size."""
    image = _image(data)
    if image is not None:
        return Clip(frames=image[None], fps=fps)
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            frames, audio = _decoded(container, fps, max_seconds, short_side=short_side)
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise MediaUnreadable("This file could not be read as an image or a video.") from exc
    if not frames:
        raise MediaUnreadable("This file has no pictures.")
    return Clip(
        frames=np.stack(frames),
        fps=fps,
        audio=None if audio is None else audio[None],
        sample_rate=None if audio is None else AUDIO_RATE,
    )


def clip_tail(data: bytes, *, seconds: float, fps: float) -> Clip:
    """The last `seconds` of a video file (frames at `fps`, sound at 16 kHz mono): what an extension goes
    on from. Only those are kept in memory, however long the file; MediaUnreadable for anything else."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            length = (container.duration or 0) / av.time_base
            frames, audio = _decoded(container, fps, FILE_MAX_SECONDS, start_s=max(0.0, length - seconds))
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise MediaUnreadable("This file could not be read as a video.") from exc
    if not frames:
        raise MediaUnreadable("This file has no pictures.")
    if audio is not None:  # the sound of the frames kept (its first packet may start a little before)
        audio = audio[-round(len(frames) / fps * AUDIO_RATE) :]
    return Clip(
        frames=np.stack(frames),
        fps=fps,
        audio=None if audio is None else audio[None],
        sample_rate=None if audio is None else AUDIO_RATE,
    )


def _image(data: bytes) -> np.ndarray | None:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.format not in {"JPEG", "PNG", "WEBP"}:
                return None
            return np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None


def _decoded(
    container: av.container.InputContainer,
    fps: float,
    max_seconds: float,
    start_s: float = 0.0,
    short_side: int | None = None,
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """One pass over the file: the video's frames at `fps` (scaled down to `short_side`) and its sound
    at 16 kHz mono, from `start_s` (earlier ones are decoded and dropped) to `max_seconds`."""
    streams = [*container.streams.video[:1], *container.streams.audio[:1]]
    resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
    frames: list[np.ndarray] = []
    chunks: list[np.ndarray] = []
    next_time = start_s
    for packet in container.demux(streams):
        for frame in packet.decode():
            if not isinstance(frame, av.AudioFrame | av.VideoFrame):
                continue
            time_s = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base else 0.0
            if time_s > max_seconds or time_s + 1e-6 < start_s - _frame_span(frame):
                continue
            if isinstance(frame, av.AudioFrame):
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
            elif time_s + 1e-6 >= next_time:
                frames.append(frame.to_ndarray(format="rgb24", **_scaled_to(frame, short_side)))
                next_time += 1.0 / fps
    audio = np.concatenate(chunks)[: int(max_seconds * AUDIO_RATE)].astype(np.float32) if chunks else None
    return frames, audio


def size_down_to(width: int, height: int, short_side: int | None) -> tuple[int, int] | None:
    """(width, height) scaled so that the short side is `short_side`; None when it is not larger."""
    short = min(width, height)
    if short_side is None or short <= short_side:
        return None
    scale = short_side / short
    return round(width * scale), round(height * scale)


def _scaled_to(frame: av.VideoFrame, short_side: int | None) -> dict[str, Any]:
    """The reformat arguments that scale `frame` down to `short_side` (none when it is not larger)."""
    size = size_down_to(frame.width, frame.height, short_side)
    return {} if size is None else {"width": size[0], "height": size[1], "interpolation": "AREA"}


def _frame_span(frame: av.AudioFrame | av.VideoFrame) -> float:
    """How long an audio frame plays (it is kept if any of it is after the start); 0 for pictures."""
    return frame.samples / frame.sample_rate if isinstance(frame, av.AudioFrame) else 0.0
