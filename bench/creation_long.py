"""A minute-long clip from the built-in model: how long it takes on 2 CPU cores, whether it holds
together where its windows join, and what the stages after the render cost on its 481 frames.

    .venv/bin/python bench/creation_long.py [--out FILE]      (a few minutes on 2 cores)

Prints JSON; writes nothing unless --out. `bench/creation.py` calls `long_clip_measure()`.

- clip_60s_cpu_s: BuiltinEngine.generate for 60 s (481 frames at 8 fps) at the checkpoint's
  default steps, portrait at standard quality (256 x 456), 2 torch threads; the median over the
  prompts below, each in its own render (so every window is timed, text encoding included).
- boundary_jump_max: the largest frame-to-frame move of the prompt's object across a window
  boundary (generation.builtin.continuity, pixels of the model's 32-pixel square, measured on the
  delivered frames cut back to it), over all prompts; inside_jump_max / inside_jump_p99: the same
  move between neighbouring frames inside windows, where the model's own motion sets what is normal.
  The area and colour changes likewise.
- the stages after the render, on the first prompt's clip: frames_fit + cameos_composite (what
  the engine does after the model, timed again on its own), frames_for_phones, watermark_burn and
  clip_encode, each with its time and its peak of new memory (tracemalloc: numpy's arrays count).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECONDS = 60
FPS = 8.0
WIDTH, HEIGHT = 256, 456  # portrait at standard quality, as the engine fits it
# (prompt, the object's colour, seed): a bounce, a slide and a spin, on three backgrounds.
CASES = (
    ("a red ball bouncing on a blue floor", "red", 7),
    ("a green box moving left in a grassy field", "green", 1),
    ("a purple heart spinning on the beach", "purple", 3),
)
KINDS = ("jump", "area", "colour")


def _timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, seconds, peak MB of memory allocated while it ran)."""
    tracemalloc.start()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, round(seconds, 3), round(peak / 2**20, 1)


def _continuity(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per kind of change, the worst at a boundary and inside windows over all clips."""

    def worst(key: str) -> float | None:
        values = [row[key] for row in rows if row[key] is not None]
        return max(values) if values else None

    out: dict[str, Any] = {}
    for kind in KINDS:
        for key in (f"boundary_{kind}_max", f"inside_{kind}_max", f"inside_{kind}_p99"):
            out[key] = worst(key)
    return out


def _stages(clip: Any, native: np.ndarray) -> dict[str, Any]:
    """Time and peak memory of the stages a 60 s clip goes through after the model."""
    from generation.builtin.cameo import cameos_composite
    from generation.builtin.frame import frames_fit
    from mediakit import Clip
    from mediakit.encode import clip_encode, frames_for_phones
    from provenance.watermark import watermark_burn  # what provenance.public gives, without Django

    face = np.full((64, 64, 3), 180, dtype=np.uint8)  # one cameo: the paste is part of the cost
    fitted, fit_s, fit_mb = _timed(
        lambda: cameos_composite(frames_fit(native, WIDTH, HEIGHT), native, (face,))
    )
    phones, phones_s, phones_mb = _timed(lambda: frames_for_phones(fitted))
    marked, mark_s, mark_mb = _timed(lambda: watermark_burn(phones, FPS, "member"))
    marked_clip = Clip(frames=marked, fps=FPS, audio=clip.audio, sample_rate=clip.sample_rate)
    encoded, encode_s, encode_mb = _timed(lambda: clip_encode(marked_clip))
    return {
        "frames": len(fitted),
        "frames_mb": round(fitted.nbytes / 2**20, 1),
        "fit_and_cameos_s": fit_s,
        "fit_and_cameos_peak_mb": fit_mb,
        "frames_for_phones_s": phones_s,
        "frames_for_phones_peak_mb": phones_mb,
        "watermark_burn_s": mark_s,
        "watermark_burn_peak_mb": mark_mb,
        "clip_encode_s": encode_s,
        "clip_encode_peak_mb": encode_mb,
        "mp4_mb": round(len(encoded.mp4) / 2**20, 2),
    }


def long_clip_measure(cases: tuple[tuple[str, str, int], ...] = CASES) -> dict[str, Any]:
    """The figures above, as a dict (bench/creation.py merges them into creation.json)."""
    import resource

    import torch

    from generation.builtin.continuity import track_jumps, window_boundaries
    from generation.builtin.frame import frames_unfit
    from generation.builtin.pipeline import WEIGHTS_DIR
    from generation.engines.base import GenerationRequest
    from generation.engines.builtin_engine import BuiltinEngine, BuiltinSettings

    torch.set_num_threads(2)
    engine = BuiltinEngine(BuiltinSettings(path=WEIGHTS_DIR, device="cpu"))
    size, native_frames = engine.pipeline.config.size, engine.pipeline.config.frames
    frames = round(SECONDS * FPS) + 1
    boundaries = window_boundaries(frames, native_frames)
    took, rows, first = [], [], None
    for prompt, colour, seed in cases:
        request = GenerationRequest(
            prompt=prompt, width=WIDTH, height=HEIGHT, num_frames=frames, fps=FPS, seed=seed
        )
        started = time.perf_counter()
        clip = engine.generate(request, lambda *_: None)
        took.append(time.perf_counter() - started)
        native = frames_unfit(clip.frames, size)
        rows.append({"prompt": prompt, "seed": seed, **track_jumps(native, colour, boundaries)})
        first = first or (clip, native)
    assert first is not None
    stages = _stages(*first)
    return {
        "clip_60s_cpu_s": round(statistics.median(took), 1),
        "clip_60s_cpu_s_each": [round(t, 1) for t in took],
        **_continuity(rows),
        "frames": frames,
        "windows": len(boundaries) + 1,
        "steps_per_window": engine.steps,
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "stages_60s": stages,
        "clips": rows,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)
    text = json.dumps(long_clip_measure(), indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
