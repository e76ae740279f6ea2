"""What an enhancer gives back: the caption the engine reads, and what of the prompt it could not use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Enhanced:
    caption: str  # what the engine is given
    unmapped: tuple[str, ...]  # the prompt's words it could not map (built-in), in prompt order
    enhancer: str  # which enhancer and version, e.g. "builtin-world/1", "template/ltx2/1"
    scene: dict[str, Any] | None = None  # built-in: the scene's attributes, and which were not given
