"""Diffusers text-to-video pipelines from a local folder: LTX-2 (video + synchronized audio) and Wan (video).

Loaded once per worker process. Weights never come from a hub: `from_pretrained` gets a
local directory (operators pin their weights; these machines may have no internet).

Long clips and extensions: a model makes at most its native length (the clip length it was trained
for, `families.native_frames`) in one pass. A longer clip is made window after window, each going
on from the last frames of the clip so far (the family's overlap): LTX-2 conditions on them at
frame 0 through `LTX2ConditionPipeline` (made with `from_pipe`: the same weights), Wan VACE gets
them as a video with those frames masked known and the rest to make. An extension is the same with
the source's last frames as the clip so far. The known frames are kept exactly as they were (the
window's own rendering of them is dropped), so they appear once and nothing jumps where they end;
LTX-2's sound goes along, each window's placed by the frames it belongs to, with a short crossfade
where a window's own sound takes over. Plain Wan cannot go on from frames: it refuses clips longer
than its native length and extensions (`DurationUnsupported`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from scipy.signal import resample_poly

from generation.engines.base import DurationUnsupported, GenerationRequest, StepCallback, device_resolve
from generation.engines.families import FAMILIES, frames_ceil, frames_floor, native_frames
from mediakit import Clip

logger = logging.getLogger(__name__)
TINY_MARKER = "KINO_TINY_RANDOM"  # written by engines/tiny.py: the weights are random, the output noise
AUDIO_CROSSFADE_S = 0.02  # where a window's sound takes over from the clip so far's: no click
UNKNOWN_GREY = (128, 128, 128)  # what VACE is shown for the frames it is to make (its examples' grey)


@dataclass(frozen=True)
class DiffusersSettings:
    path: Path
    device: str = "auto"  # "cpu", "cuda", "cuda:1", or "auto" (cuda when available)
    dtype: str = "auto"  # "float32", "bfloat16", "float16", or "auto" (bf16 on GPU, fp32 on CPU)
    cpu_offload: bool = False  # model-level offload (needs accelerate): fits big models in small GPUs
    vae_tiling: bool = False  # decode in tiles: less memory for large frames
    steps: int = 30
    guidance: float | None = None  # None: the pipeline's own default
    max_sequence_length: int | None = None
    native_frames: int | None = None  # one window's length; None: families.native_frames (settings, family)


@dataclass(frozen=True)
class Window:
    start: int  # the clip's frame its first frame is
    frames: int  # its length (k * temporal + 1, at most the native length)
    known: int  # how many of its first frames are the clip so far's last ones (0: it starts afresh)


def windows_plan(total: int, prefix: int, native: int, overlap: int, temporal: int) -> list[Window]:
    """The windows that make a clip of `total` frames whose first `prefix` are given: each goes on from
    up to `overlap` of the frames before it (k * temporal + 1 of them, as the VAE encodes them; always
    fewer than `native`, so each adds frames) and is as long as it needs, up to `native`. The last may
    make a few frames more than asked: they are cut."""
    overlap = min(overlap, native - temporal)
    windows: list[Window] = []
    have = prefix
    while have < total:
        known = frames_floor(min(have, overlap), temporal) if have else 0
        frames = min(native, frames_ceil(known + total - have, temporal))
        windows.append(Window(start=have - known, frames=frames, known=known))
        have = windows[-1].start + frames
    return windows


def _round_to(value: int, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def _model_version(path: Path) -> str:
    digest = hashlib.sha256()
    for config in sorted(path.glob("**/*.json")):
        digest.update(config.relative_to(path).as_posix().encode())
        digest.update(config.read_bytes())
    return digest.hexdigest()[:12]


def frames_resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 [K, H, W, 3] at width x height: scaled to cover it and cropped in the middle (no
    stretch, no bars); as given when already that size."""
    source_h, source_w = frames.shape[1:3]
    if (source_w, source_h) == (width, height):
        return frames
    scale = max(width / source_w, height / source_h)
    scaled = (max(width, round(source_w * scale)), max(height, round(source_h * scale)))
    left, top = (scaled[0] - width) // 2, (scaled[1] - height) // 2
    box = (left, top, left + width, top + height)
    return np.stack(
        [
            np.asarray(Image.fromarray(frame).resize(scaled, Image.Resampling.LANCZOS).crop(box))
            for frame in frames
        ]
    )


def audio_resize(audio: np.ndarray, rate: int, channels: int, to_rate: int, samples: int) -> np.ndarray:
    """float32 [channels, samples] at to_rate: `audio` [C, N] at `rate` resampled, its channels
    averaged when they are not `channels`, and its last `samples` kept (silence before if short)."""
    wave = np.asarray(audio, dtype=np.float32)
    if wave.shape[0] != channels:
        wave = np.repeat(wave.mean(axis=0, keepdims=True), channels, axis=0)
    if rate != to_rate:
        common = gcd(int(rate), int(to_rate))
        wave = resample_poly(wave, to_rate // common, rate // common, axis=1).astype(np.float32)
    wave = wave[:, max(0, wave.shape[1] - samples) :]
    return np.pad(wave, ((0, 0), (samples - wave.shape[1], 0)))


def _samples_fit(audio: np.ndarray, samples: int) -> np.ndarray:
    """`audio` [C, N] cut or padded with silence at its end to `samples`."""
    return np.pad(audio[:, :samples], ((0, 0), (0, max(0, samples - audio.shape[1]))))


class _Reel:
    """The clip so far: its frames (in pieces, joined once at the end: a minute of large frames is
    gigabytes) and, for an engine with sound, its sound (where it has some: a window's sound may end a
    little before its frames do, as the audio VAE's steps are not the frames')."""

    def __init__(
        self, frames: np.ndarray, audio: np.ndarray | None, fps: float, sample_rate: int | None
    ) -> None:
        self.pieces = [frames] if len(frames) else []
        self.audio, self.fps, self.sample_rate = audio, fps, sample_rate

    def samples(self, frames: int) -> int:
        return round(frames * (self.sample_rate or 0) / self.fps)

    def last(self, count: int) -> np.ndarray:
        """The clip so far's last `count` frames."""
        tail: list[np.ndarray] = []
        for piece in reversed(self.pieces):
            if sum(map(len, tail)) >= count:
                break
            tail.insert(0, piece)
        return np.concatenate(tail)[-count:]

    def join(self, frames: np.ndarray, audio: np.ndarray | None, window: Window) -> None:
        """Add a window's frames after its known first ones (which the reel holds already, kept as
        they were), and its sound, placed by its first frame, from where the sound so far ends,
        crossfading into it over AUDIO_CROSSFADE_S."""
        self.pieces.append(frames[window.known :])
        if self.audio is None or audio is None:
            return
        offset = self.samples(window.start)
        audio = audio[:, : self.samples(window.start + window.frames) - offset]
        so_far = _samples_fit(self.audio, max(offset, self.audio.shape[1]))
        end = min(so_far.shape[1], offset + audio.shape[1])
        fade = min(end - offset, round(AUDIO_CROSSFADE_S * (self.sample_rate or 0)))
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        mixed = so_far[:, end - fade : end] * (1 - ramp) + audio[:, end - fade - offset : end - offset] * ramp
        self.audio = np.concatenate([so_far[:, : end - fade], mixed, audio[:, end - offset :]], axis=1)

    def clip(self, num_frames: int) -> Clip:
        frames = np.concatenate(self.pieces)[:num_frames]
        audio = None if self.audio is None else _samples_fit(self.audio, self.samples(num_frames))
        return Clip(
            frames=frames,
            fps=self.fps,
            audio=audio,
            sample_rate=self.sample_rate if audio is not None else None,
        )


def _steps_offset(on_step: StepCallback, before: int, total: int) -> Callable[..., dict[str, Any]]:
    """A pipeline's step-end callback that reports a window's steps counted over all windows."""

    def callback(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        on_step(before + index + 1, total)  # raising here stops the render before the next step
        return tensors

    return callback


def _frames_u8(frames: Any) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8:
        frames = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)
    return frames


class DiffusersEngine:
    def __init__(self, settings: DiffusersSettings) -> None:
        import diffusers

        path = settings.path
        if not (path / "model_index.json").is_file():
            raise FileNotFoundError(f"{path} is not a diffusers pipeline folder (no model_index.json)")
        self.device = device_resolve(settings.device)
        dtype_name = settings.dtype
        if dtype_name == "auto":
            dtype_name = "bfloat16" if self.device.startswith("cuda") else "float32"
        self.dtype = getattr(torch, dtype_name)
        self.settings = settings
        self.steps = settings.steps
        self.pipe = diffusers.DiffusionPipeline.from_pretrained(path, dtype=self.dtype, local_files_only=True)
        class_name = type(self.pipe).__name__
        if class_name not in FAMILIES:
            raise ValueError(f"{class_name} is not a supported pipeline ({', '.join(FAMILIES)})")
        self.family = FAMILIES[class_name]
        if settings.cpu_offload:
            self.pipe.enable_model_cpu_offload(device=self.device)
        else:
            self.pipe.to(self.device)
        if settings.vae_tiling:
            self.pipe.vae.enable_tiling()
        self.pipe.set_progress_bar_config(disable=True)
        self.noise = (path / TINY_MARKER).exists()
        self.name = f"diffusers/{class_name}" + (
            " (tiny random weights: output is noise)" if self.noise else ""
        )
        self.version = _model_version(path)
        self.makes_audio = bool(self.family["audio"])
        self.sample_rate = int(self.pipe.vocoder.config.output_sampling_rate) if self.makes_audio else None
        self._siblings: dict[str, Any] = {class_name: self.pipe}
        self.supports_start_image = self.family["i2v"] is not None
        self.supports_reference_images = bool(self.family["refs"])
        self.supports_prefix = self.family["prefix"] is not None
        self.native_frames = native_frames(self.family, settings.native_frames)
        self.max_frames: int | None = None if self.supports_prefix else self.native_frames
        logger.info(
            "engine.loaded", extra={"engine": self.name, "version": self.version, "device": self.device}
        )

    def fit(self, width: int, height: int, num_frames: int) -> tuple[int, int, int]:
        spatial, temporal = self.family["spatial"], self.family["temporal"]
        frames = max(1, round((num_frames - 1) / temporal)) * temporal + 1
        return _round_to(width, spatial), _round_to(height, spatial), frames

    def windows(self, num_frames: int, prefix_frames: int = 0) -> list[Window]:
        """The windows a clip of num_frames (fitted) takes, its first prefix_frames given."""
        if (num_frames > self.native_frames or prefix_frames) and not self.supports_prefix:
            raise DurationUnsupported(
                f"{self.name} makes at most {self.native_frames} frames in one pass and cannot go on "
                f"from given frames: no clip of {num_frames} frames"
                + (f" after {prefix_frames} given ones" if prefix_frames else "")
            )
        if prefix_frames >= num_frames:
            raise ValueError(f"{prefix_frames} given frames leave nothing to make of {num_frames}")
        return windows_plan(
            num_frames, prefix_frames, self.native_frames, self.family["overlap"], self.family["temporal"]
        )

    def steps_for(self, num_frames: int, prefix_frames: int = 0) -> int:
        """Denoising steps for all the windows of a clip of num_frames (asked for: it is fitted)."""
        return len(self.windows(self.fit(1, 1, num_frames)[2], prefix_frames)) * self.steps

    def _sibling(self, class_name: str) -> Any:
        """The pipeline of class_name on the loaded one's weights (`from_pipe`: no second copy). The
        dtype is passed on: without one, diffusers' `from_pipe` casts the shared weights to float32
        in place (a bfloat16 pipeline would double in memory)."""
        if class_name not in self._siblings:
            import diffusers

            sibling = getattr(diffusers, class_name).from_pipe(self.pipe, dtype=self.dtype)
            sibling.set_progress_bar_config(disable=True)
            self._siblings[class_name] = sibling
        return self._siblings[class_name]

    def _reel(self, request: GenerationRequest, width: int, height: int) -> _Reel:
        """The clip so far before the first window: empty, or an extension's given frames (fitted
        to the clip's size) and sound (at the engine's rate and channels; silence if none)."""
        frames = np.zeros((0, height, width, 3), np.uint8)
        if request.prefix_frames is not None:
            frames = frames_resize(np.asarray(request.prefix_frames, np.uint8), width, height)
        if not self.makes_audio:
            return _Reel(frames, None, request.fps, None)
        config = self.pipe.vocoder.config
        channels = int(getattr(config, "bwe_out_channels", None) or config.out_channels)
        rate = int(self.sample_rate or 0)
        samples = round(len(frames) * rate / request.fps)
        audio = np.zeros((channels, samples), np.float32)
        if request.prefix_audio is not None and request.prefix_sample_rate:
            audio = audio_resize(request.prefix_audio, request.prefix_sample_rate, channels, rate, samples)
        return _Reel(frames, audio, request.fps, rate)

    def _kwargs(self, request: GenerationRequest, width: int, height: int) -> dict[str, Any]:
        """What every window's pipeline call takes."""
        kwargs: dict[str, Any] = {
            "prompt": f"{request.prompt} {request.cast_notes}".strip(),
            "negative_prompt": request.negative_prompt or None,
            "height": height,
            "width": width,
            "num_inference_steps": self.steps,
            "output_type": "np",
        }
        if self.settings.guidance is not None:
            kwargs["guidance_scale"] = self.settings.guidance
        if self.settings.max_sequence_length is not None:
            kwargs["max_sequence_length"] = self.settings.max_sequence_length
        if self.makes_audio:
            kwargs["frame_rate"] = request.fps
        if request.reference_images:
            if not self.supports_reference_images:
                raise ValueError(f"{self.name} cannot take reference images")
            # VACE conditions on them: who must appear (a cameo's face crop, a character's image).
            kwargs["reference_images"] = [Image.fromarray(image) for image in request.reference_images]
        return kwargs

    def _pipeline_for(
        self, request: GenerationRequest, reel: _Reel, window: Window
    ) -> tuple[Any, dict[str, Any]]:
        """The pipeline for a window and what it takes beyond the common arguments: a window that goes
        on from the clip so far gets its last frames; a first one may start from the start image."""
        if window.known:
            return self._going_on(reel.last(window.known), window.frames)
        if request.start_image is None:
            return self.pipe, {}
        if not self.supports_start_image:
            raise ValueError(f"{self.name} cannot start from an image")
        return self._sibling(self.family["i2v"]), {"image": Image.fromarray(request.start_image)}

    def _going_on(self, known: np.ndarray, frames: int) -> tuple[Any, dict[str, Any]]:
        """The pipeline for a window of `frames` whose first ones are `known`, and how it takes them:
        LTX-2 conditions on them at frame 0; VACE gets a video of them then grey, masked 0 then 1."""
        pipe = self._sibling(self.family["prefix"])
        if self.family["prefix"] == "LTX2ConditionPipeline":
            from diffusers.pipelines.ltx2.pipeline_ltx2_condition import LTX2VideoCondition

            return pipe, {"conditions": [LTX2VideoCondition(frames=known, index=0, strength=1.0)]}
        size, new = (known.shape[2], known.shape[1]), frames - len(known)
        video = [Image.fromarray(frame) for frame in known] + [Image.new("RGB", size, UNKNOWN_GREY)] * new
        mask = [Image.new("L", size, 0)] * len(known) + [Image.new("L", size, 255)] * new
        return pipe, {"video": video, "mask": mask}

    def _render(self, pipe: Any, kwargs: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
        """One window: its frames (uint8 [T, H, W, 3]) and sound (float32 [C, N], or None)."""
        with torch.inference_mode():
            output = pipe(**kwargs)
        audio = getattr(output, "audio", None) if self.makes_audio else None
        if audio is not None:
            audio = audio[0].float().cpu().numpy().astype(np.float32)
        return _frames_u8(output.frames[0]), audio

    def generate(self, request: GenerationRequest, on_step: StepCallback) -> Clip:
        width, height, num_frames = self.fit(request.width, request.height, request.num_frames)
        given = 0 if request.prefix_frames is None else len(request.prefix_frames)
        if given and request.start_image is not None:
            raise ValueError("a clip goes on from given frames or starts from an image, not both")
        windows = self.windows(num_frames, given)
        reel = self._reel(request, width, height)
        common = self._kwargs(request, width, height)
        generator = torch.Generator(device="cpu").manual_seed(request.seed)
        total = len(windows) * self.steps
        for index, window in enumerate(windows):
            pipe, extra = self._pipeline_for(request, reel, window)
            step_end = _steps_offset(on_step, index * self.steps, total)
            kwargs = common | extra | {"num_frames": window.frames, "generator": generator}
            frames, audio = self._render(pipe, kwargs | {"callback_on_step_end": step_end})
            reel.join(frames, audio, window)
        return reel.clip(num_frames)
