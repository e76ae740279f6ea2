"""Diffusers text-to-video pipelines from a local folder: LTX-2 (video + synchronized audio) and Wan (video).

Loaded once per worker process. Weights never come from a hub: `from_pretrained` gets a
local directory (operators pin their weights; these machines may have no internet).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from generation.engines.base import GenerationRequest, StepCallback, device_resolve
from generation.engines.families import FAMILIES
from mediakit import Clip

logger = logging.getLogger(__name__)
TINY_MARKER = "KINO_TINY_RANDOM"  # written by engines/tiny.py: the weights are random, the output noise


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


def _round_to(value: int, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


def _model_version(path: Path) -> str:
    digest = hashlib.sha256()
    for config in sorted(path.glob("**/*.json")):
        digest.update(config.relative_to(path).as_posix().encode())
        digest.update(config.read_bytes())
    return digest.hexdigest()[:12]


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
        self._i2v: Any = None
        self.supports_start_image = self.family["i2v"] is not None
        self.supports_reference_images = bool(self.family["refs"])
        self.supports_prefix = False
        self.max_frames: int | None = None
        logger.info(
            "engine.loaded", extra={"engine": self.name, "version": self.version, "device": self.device}
        )

    def fit(self, width: int, height: int, num_frames: int) -> tuple[int, int, int]:
        spatial, temporal = self.family["spatial"], self.family["temporal"]
        frames = max(1, round((num_frames - 1) / temporal)) * temporal + 1
        return _round_to(width, spatial), _round_to(height, spatial), frames

    def steps_for(self, num_frames: int) -> int:
        return self.steps

    def _pipeline_for(self, request: GenerationRequest) -> Any:
        if request.start_image is None:
            return self.pipe
        if not self.supports_start_image:
            raise ValueError(f"{self.name} cannot start from an image")
        if self._i2v is None:
            import diffusers

            self._i2v = getattr(diffusers, self.family["i2v"]).from_pipe(self.pipe)
            self._i2v.set_progress_bar_config(disable=True)
        return self._i2v

    def generate(self, request: GenerationRequest, on_step: StepCallback) -> Clip:
        width, height, num_frames = self.fit(request.width, request.height, request.num_frames)
        steps = self.settings.steps

        def callback(pipe: Any, index: int, timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            on_step(index + 1, steps)  # raising here stops the render before the next step
            return tensors

        kwargs: dict[str, Any] = {
            "prompt": f"{request.prompt} {request.cast_notes}".strip(),
            "negative_prompt": request.negative_prompt or None,
            "height": height,
            "width": width,
            "num_frames": num_frames,
            "num_inference_steps": steps,
            "generator": torch.Generator(device="cpu").manual_seed(request.seed),
            "output_type": "np",
            "callback_on_step_end": callback,
        }
        if self.settings.guidance is not None:
            kwargs["guidance_scale"] = self.settings.guidance
        if self.settings.max_sequence_length is not None:
            kwargs["max_sequence_length"] = self.settings.max_sequence_length
        if self.makes_audio:
            kwargs["frame_rate"] = request.fps
        pipe = self._pipeline_for(request)
        if request.start_image is not None:
            kwargs["image"] = Image.fromarray(request.start_image)
        if request.reference_images:
            if not self.supports_reference_images:
                raise ValueError(f"{self.name} cannot take reference images")

            # VACE conditions on them: who must appear (a cameo's face crop, a character's image).
            kwargs["reference_images"] = [Image.fromarray(image) for image in request.reference_images]
        with torch.inference_mode():
            output = pipe(**kwargs)
        frames = np.asarray(output.frames[0])
        if frames.dtype != np.uint8:
            frames = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)
        audio, sample_rate = None, None
        if self.makes_audio and getattr(output, "audio", None) is not None:
            audio = output.audio[0].float().cpu().numpy().astype(np.float32)
            sample_rate = int(pipe.vocoder.config.output_sampling_rate)
        return Clip(frames=frames, fps=request.fps, audio=audio, sample_rate=sample_rate)
