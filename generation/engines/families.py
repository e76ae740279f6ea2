"""What each engine can take, known from settings alone: the web process checks requests with it
without importing torch or loading weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings

# Per diffusers pipeline class: spatial multiple, frames = k * temporal + 1, whether it makes audio,
# its image-to-video sibling, whether it takes reference images (of people, for cameos).
FAMILIES: dict[str, dict[str, Any]] = {
    "LTX2Pipeline": {
        "spatial": 32,
        "temporal": 8,
        "audio": True,
        "i2v": "LTX2ImageToVideoPipeline",
        "refs": False,
    },
    "WanPipeline": {"spatial": 16, "temporal": 4, "audio": False, "i2v": None, "refs": False},
    "WanVACEPipeline": {"spatial": 16, "temporal": 4, "audio": False, "i2v": None, "refs": True},
}
TINY_CLASSES = {"ltx2": "LTX2Pipeline", "wan": "WanPipeline", "wan-vace": "WanVACEPipeline"}


def _pipeline_class() -> str | None:
    engine = settings.GENERATION_ENGINE
    if engine == "diffusers":
        index = Path(settings.GENERATION_MODEL_PATH) / "model_index.json"
        return json.loads(index.read_text()).get("_class_name") if index.is_file() else None
    return TINY_CLASSES.get(engine.removeprefix("tiny-"))


def engine_accepts_start_image() -> bool:
    """Whether the configured engine can start a clip from an image (the built-in model cannot)."""
    family = FAMILIES.get(_pipeline_class() or "")
    return family is not None and family["i2v"] is not None
