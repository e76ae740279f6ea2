"""What each engine can take, known from settings alone: the web process checks requests with it
without importing torch or loading weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings

# Per diffusers pipeline class: spatial multiple, frames = k * temporal + 1, whether it makes audio,
# its image-to-video sibling, whether it takes reference images (of people, for cameos), the clip
# length its model was trained for ("native", frames), and how it goes on from given frames:
# "prefix" names the pipeline that takes them (LTX-2: its condition sibling, frames conditioned at
# index 0; Wan VACE: itself, a video with the known frames masked 0 and the new ones 1), None where
# the pipeline cannot (plain Wan: no clip longer than native, no extension). "overlap": how many of
# the clip's last frames the next window goes on from (about a second at the model's frame rate).
FAMILIES: dict[str, dict[str, Any]] = {
    "LTX2Pipeline": {
        "spatial": 32,
        "temporal": 8,
        "audio": True,
        "i2v": "LTX2ImageToVideoPipeline",
        "refs": False,
        "native": 121,
        "overlap": 25,
        "prefix": "LTX2ConditionPipeline",
    },
    "WanPipeline": {
        "spatial": 16,
        "temporal": 4,
        "audio": False,
        "i2v": None,
        "refs": False,
        "native": 81,
        "overlap": 0,
        "prefix": None,
    },
    "WanVACEPipeline": {
        "spatial": 16,
        "temporal": 4,
        "audio": False,
        "i2v": None,
        "refs": True,
        "native": 81,
        "overlap": 17,
        "prefix": "WanVACEPipeline",
    },
}
TINY_CLASSES = {"ltx2": "LTX2Pipeline", "wan": "WanPipeline", "wan-vace": "WanVACEPipeline"}


def _pipeline_class() -> str | None:
    engine = settings.GENERATION_ENGINE
    if engine == "diffusers":
        index = Path(settings.GENERATION_MODEL_PATH) / "model_index.json"
        return json.loads(index.read_text()).get("_class_name") if index.is_file() else None
    return TINY_CLASSES.get(engine.removeprefix("tiny-"))


def frames_floor(frames: int, temporal: int) -> int:
    """The longest k * temporal + 1 frames not over `frames` (at least 1)."""
    return max(0, (frames - 1) // temporal) * temporal + 1


def frames_ceil(frames: int, temporal: int) -> int:
    """The shortest k * temporal + 1 frames not under `frames`."""
    return max(0, -(-(frames - 1) // temporal)) * temporal + 1


def native_frames(family: dict[str, Any], override: int | None = None) -> int:
    """A family's window: `override`, else GENERATION_NATIVE_FRAMES (0: none), else what its model was
    trained for; rounded down to a length the model accepts, at least one block after the first frame."""
    frames = override or int(getattr(settings, "GENERATION_NATIVE_FRAMES", 0) or 0) or family["native"]
    return frames_floor(max(frames, family["temporal"] + 1), family["temporal"])


def engine_accepts_start_image() -> bool:
    """Whether the configured engine can start a clip from an image (the built-in model cannot)."""
    family = FAMILIES.get(_pipeline_class() or "")
    return family is not None and family["i2v"] is not None


def engine_max_duration_s(fps: float) -> float | None:
    """The longest clip (seconds at `fps`) the configured engine makes; None: any length (it chains
    windows: the built-in model, LTX-2, Wan VACE), the tiers' caps are the only limit."""
    if settings.GENERATION_ENGINE == "builtin":
        return None
    family = FAMILIES.get(_pipeline_class() or "")
    if family is None or family["prefix"] is not None:
        return None
    return native_frames(family) / fps


def engine_can_extend() -> bool:
    """Whether the configured engine can go on from a clip's last frames (extend)."""
    if settings.GENERATION_ENGINE == "builtin":
        return True
    family = FAMILIES.get(_pipeline_class() or "")
    return family is not None and family["prefix"] is not None
