"""Clips played one after another as one: a stitch's drafts, a storyboard's shots."""

from __future__ import annotations

from collections.abc import Sequence
from math import gcd

import numpy as np
from PIL import Image, ImageOps
from scipy.signal import resample_poly

from mediakit.clip import Clip

SILENT_RATE = 16000  # the sound of a join whose parts have none of their own


def clips_join(clips: Sequence[Clip], *, fade_ms: float) -> Clip:
    """One clip of `clips` in order, each fitted to the first one's size and frame rate.

    The pictures cut from one part to the next; the sound of each part fades out over its last
    `fade_ms` and the next fades in over its first (equal-power halves of a crossfade centred on the
    cut). Nothing overlaps, so every part's sound stays in step with its own frames and the join
    lasts exactly as long as its parts together. A part without sound is silent for its length.
    """
    if not clips:
        raise ValueError("nothing to join")
    first = clips[0]
    height, width = first.frames.shape[1:3]
    frames = [_frames_fitted(clip, first.fps, width, height) for clip in clips]
    joined = np.concatenate(frames)
    if all(clip.audio is None for clip in clips):
        return Clip(frames=joined, fps=first.fps)
    rate = next(clip.sample_rate for clip in clips if clip.sample_rate is not None)
    channels = max(clip.audio.shape[0] for clip in clips if clip.audio is not None)
    sounds = [
        _faded(_sound_fitted(clip, len(part) / first.fps, rate, channels), rate, fade_ms)
        for clip, part in zip(clips, frames, strict=True)
    ]
    return Clip(frames=joined, fps=first.fps, audio=np.concatenate(sounds, axis=1), sample_rate=rate)


def _frames_fitted(clip: Clip, fps: float, width: int, height: int) -> np.ndarray:
    """The clip's frames at `fps` (the nearest frame for each tick) and `width` x `height`
    (scaled to fit inside, the rest black)."""
    frames = clip.frames
    if clip.fps != fps:
        count = max(1, round(len(frames) * fps / clip.fps))
        index = np.minimum(np.round(np.arange(count) * clip.fps / fps).astype(int), len(frames) - 1)
        frames = frames[index]
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack(
        [
            np.asarray(ImageOps.pad(Image.fromarray(frame), (width, height), color=(0, 0, 0)))
            for frame in frames
        ]
    )


def _sound_fitted(clip: Clip, seconds: float, rate: int, channels: int) -> np.ndarray:
    """The clip's sound at `rate` with `channels` (mono spread, more mixed down), exactly `seconds` long."""
    length = round(seconds * rate)
    if clip.audio is None or clip.sample_rate is None:
        return np.zeros((channels, length), np.float32)
    sound = clip.audio.astype(np.float32)
    if clip.sample_rate != rate:
        common = gcd(int(rate), int(clip.sample_rate))
        sound = resample_poly(sound, rate // common, int(clip.sample_rate) // common, axis=1)
    if sound.shape[0] != channels:
        sound = np.repeat(sound.mean(axis=0, keepdims=True), channels, axis=0)
    sound = sound[:, :length]
    return np.pad(sound, ((0, 0), (0, length - sound.shape[1]))).astype(np.float32)


def _faded(sound: np.ndarray, rate: int, fade_ms: float) -> np.ndarray:
    """The sound fading in over its first fade_ms and out over its last (quarter sine: equal power)."""
    n = min(round(rate * fade_ms / 1000), sound.shape[1] // 2)
    if n == 0:
        return sound
    ramp = np.sin(np.linspace(0, np.pi / 2, n, dtype=np.float32))
    sound = sound.copy()
    sound[:, :n] *= ramp
    sound[:, -n:] *= ramp[::-1]
    return sound
