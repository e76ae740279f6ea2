"""The watermarks' figures -> `watermark_bench()` (bench/provenance.py merges them into
bench/results/provenance.json).

    .venv/bin/python bench/provenance_watermark.py     (prints the figures as JSON; a few minutes on 2 cores)

Visible mark (`watermark_readback_rate`): 16 s clips (every one of the eight positions once) of
the built-in world as the built-in engine delivers them (`scene_render` drawn small, scaled up by
`frames_fit`: 256 x 256, 1280 x 720 and 720 x 1280), and a bright noisy background (the hardest
for white text and for the encoder), each marked for three handles (short, usual, and one past
the 20-character cap), encoded with `clip_encode` at crf 20 / 28 / 35 / 40, decoded as the lookup
API decodes an upload (`clip_from_file`, 2 fps) and read back: the rate is the share of
(clip, handle, crf, position) cases whose slot scores READ_THRESHOLD or more. The detail says
how often the wrong handle or an unmarked clip reads (false reads, which should be none), the
lowest scores, how often every slot of a 3 s excerpt (cut at EXCERPT_STARTS_S and re-encoded)
reads, and what marking costs against encoding on a 1280 x 720, 10 s, 24 fps clip.

Invisible mark (`invisible_mark_recovery`): `invisible-watermark` (module `imwatermark`; a dev
install with --no-deps, see the Makefile) embeds a random 32-bit id into every frame of 2 s clips
of the same world (256 x 256 and 1280 x 720) with dwtDct and dwtDctSvd; the clips are encoded
(crf 20) as Kino posts them, then copied: re-encoded at low quality (crf 35), scaled to half (the
reader scales the frames back to the posted size, the best case for the mark), and both. A clip's
id is recovered when all 32 bits, voted over its decoded frames, come back. The headline is the
better method after re-encoding and scaling together; null with the reason when the package is
not installed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation.builtin import world  # noqa: E402
from generation.builtin.frame import frames_fit  # noqa: E402
from mediakit import Clip  # noqa: E402
from mediakit.encode import clip_encode  # noqa: E402
from mediakit.sampling import clip_from_file  # noqa: E402
from provenance.watermark import POSITIONS, READ_THRESHOLD, SLOT_S, watermark_burn, watermark_read  # noqa: E402

FPS = 8.0
SCENE_S = 4  # the world's sound loops allow 4 s per render; longer clips are scenes back to back
HANDLES = ("x9", "alice_k", "the.longest_handle_of_thirty")
WRONG = {"x9": "zq", "alice_k": "mallory", "the.longest_handle_of_thirty": "bob"}
CRFS = (20, 28, 35, 40)
EXCERPT_STARTS_S = (0.5, 1.25, 5.7, 11.0)  # 3 s excerpts, re-encoded at crf 28 (detail only)
READ_FPS = 2.0
INVISIBLE_CLIPS = 8  # per size
INVISIBLE_BITS = 32


def _world(
    rng: np.random.Generator, native: int, width: int, height: int, seconds: float, fps: float
) -> np.ndarray:
    """`seconds` of the built-in world drawn at `native` px, fitted to width x height as the engine does."""
    frames = round(SCENE_S * fps)
    parts = [
        frames_fit(
            world.scene_render(world.scene_sample(rng), rng, frames=frames, size=native, fps=fps).frames,
            width,
            height,
        )
        for _ in range(max(1, round(seconds / SCENE_S)))
    ]
    return np.concatenate(parts)[: max(1, round(seconds * fps))]


def _clips() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(24)
    seconds = SLOT_S * len(POSITIONS)
    count = round(seconds * FPS)
    return {
        "world_256": _world(rng, 64, 256, 256, seconds, FPS),
        "bright_noise_256": rng.integers(150, 256, (count, 256, 256, 3), dtype=np.uint8),
        "world_1280x720": _world(rng, 80, 1280, 720, seconds, FPS),
        "world_720x1280": _world(rng, 80, 720, 1280, seconds, FPS),
    }


def _decoded(frames: np.ndarray, fps: float, crf: int, read_fps: float = READ_FPS) -> np.ndarray:
    return clip_from_file(clip_encode(Clip(frames=frames, fps=fps), crf=crf).mp4, fps=read_fps).frames


def _rate(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def _excerpt_reads(marked: np.ndarray, handle: str, start_s: float) -> bool:
    """A 3 s excerpt from `start_s`, re-encoded: does the handle read in every slot it shows?"""
    first = round(start_s * FPS)
    decoded = _decoded(marked[first : first + round(3 * FPS)], FPS, 28)
    return min(watermark_read(decoded, READ_FPS, handle, start_s=start_s)) >= READ_THRESHOLD


def _readback() -> dict[str, Any]:
    reads: list[bool] = []
    false_reads: list[bool] = []
    by_crf: dict[int, list[bool]] = {crf: [] for crf in CRFS}
    by_clip: dict[str, list[bool]] = {}
    lowest: dict[str, float] = {}
    highest_wrong = -1.0
    excerpts: list[bool] = []
    for name, frames in _clips().items():
        for handle in HANDLES:
            marked = watermark_burn(frames, FPS, handle)
            excerpts += [_excerpt_reads(marked, handle, start_s) for start_s in EXCERPT_STARTS_S]
            for crf in CRFS:
                decoded = _decoded(marked, FPS, crf)
                scores = watermark_read(decoded, READ_FPS, handle)
                wrong = watermark_read(decoded, READ_FPS, WRONG[handle])
                hits = [score >= READ_THRESHOLD for score in scores]
                reads += hits
                by_crf[crf] += hits
                by_clip.setdefault(name, []).extend(hits)
                false_reads += [score >= READ_THRESHOLD for score in wrong]
                key = f"{name}_crf{crf}"
                lowest[key] = round(min(lowest.get(key, 1.0), *scores), 3)
                highest_wrong = max(highest_wrong, *wrong)
        plain = watermark_read(_decoded(frames, FPS, 28), READ_FPS, HANDLES[1])
        false_reads += [score >= READ_THRESHOLD for score in plain]
        highest_wrong = max(highest_wrong, *plain)
    return {
        "rate": _rate(reads),
        "cases": len(reads),
        "by_crf": {f"crf{crf}": _rate(hits) for crf, hits in by_crf.items()},
        "by_clip": {name: _rate(hits) for name, hits in by_clip.items()},
        "lowest_score": lowest,
        "excerpt_3s_all_slots_read_rate": _rate(excerpts),
        "excerpt_3s_cases": len(excerpts),
        "false_read_rate": _rate(false_reads),
        "false_read_cases": len(false_reads),
        "highest_wrong_or_unmarked_score": round(highest_wrong, 3),
        "threshold": READ_THRESHOLD,
    }


def _median_s(run: Callable[[], object], times: int = 3) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        spent.append(time.perf_counter() - started)
    return float(np.median(spent))


def _cost() -> dict[str, float]:
    """Marking against encoding, on one 1280 x 720 clip of 10 s at 24 fps (medians of 3 runs; the
    copy is what any function returning new frames pays, a floor under the marking)."""
    rng = np.random.default_rng(7)
    frame = _world(rng, 80, 1280, 720, 1.0, 1.0)[0]
    frames = np.broadcast_to(frame, (240, 720, 1280, 3)).copy()
    burn_s = _median_s(lambda: watermark_burn(frames, 24.0, "alice_k"))
    copy_s = _median_s(frames.copy)
    marked = watermark_burn(frames, 24.0, "alice_k")
    encode_s = _median_s(lambda: clip_encode(Clip(frames=marked, fps=24.0)), times=1)
    return {
        "burn_ms_720p_10s": round(1000 * burn_s, 1),
        "copy_ms_720p_10s": round(1000 * copy_s, 1),
        "encode_ms_720p_10s": round(1000 * encode_s, 1),
        "burn_to_encode_ratio": round(burn_s / encode_s, 4),
    }


# --- the invisible mark --------------------------------------------------------------------


def _half_then_back(frames: np.ndarray, fps: float, crf: int) -> np.ndarray:
    """A half-scale copy, encoded at `crf`, decoded and scaled back up to the posted size."""
    _, height, width, _ = frames.shape
    half = np.stack(
        [
            cv2.resize(f, (width // 2 // 2 * 2, height // 2 // 2 * 2), interpolation=cv2.INTER_AREA)
            for f in frames
        ]
    )
    small = clip_from_file(
        clip_encode(Clip(frames=half, fps=fps), crf=crf, min_short_side=2).mp4, fps=fps
    ).frames
    return np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_CUBIC) for f in small])


COPIES: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "encoded_crf20": lambda posted, fps: posted,
    "reencoded_crf35": lambda posted, fps: _decoded(posted, fps, 35, fps),
    "scaled_half": lambda posted, fps: _half_then_back(posted, fps, 23),
    "reencoded_crf35_and_scaled_half": lambda posted, fps: _half_then_back(posted, fps, 35),
}


def _invisible_clip(
    method: str, frames: np.ndarray, fps: float, bits: np.ndarray
) -> dict[str, tuple[bool, float]]:
    """Per copy: (all bits recovered by a vote over the frames, the share of bits right per frame)."""
    from imwatermark import WatermarkDecoder, WatermarkEncoder

    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", bits.tolist())
    bgr = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in frames]
    marked = np.stack([cv2.cvtColor(encoder.encode(f, method), cv2.COLOR_BGR2RGB) for f in bgr])
    posted = _decoded(marked, fps, 20, fps)
    decoder = WatermarkDecoder("bits", INVISIBLE_BITS)
    out = {}
    for name, copy in COPIES.items():
        votes = np.array(
            [decoder.decode(cv2.cvtColor(f, cv2.COLOR_RGB2BGR), method) for f in copy(posted, fps)],
            dtype=bool,
        )
        recovered = bool(np.array_equal(votes.mean(axis=0) > 0.5, bits))
        out[name] = (recovered, float((votes == bits).mean()))
    return out


def _invisible() -> dict[str, Any]:
    try:
        import imwatermark  # noqa: F401
    except ImportError:
        return {
            "recovery": None,
            "reason": "invisible-watermark is not installed (make installs it for the bench)",
        }
    rng = np.random.default_rng(32)
    fps = 4.0
    clips = [_world(rng, 64, 256, 256, 2.0, fps) for _ in range(INVISIBLE_CLIPS)]
    clips += [_world(rng, 80, 1280, 720, 2.0, fps) for _ in range(INVISIBLE_CLIPS // 4)]
    methods: dict[str, Any] = {}
    for method in ("dwtDct", "dwtDctSvd"):
        started = time.perf_counter()
        results = [
            _invisible_clip(method, clip, fps, rng.integers(0, 2, INVISIBLE_BITS).astype(bool))
            for clip in clips
        ]
        methods[method] = {
            "recovery": {name: _rate([r[name][0] for r in results]) for name in COPIES},
            "bit_accuracy_per_frame": {
                name: round(float(np.mean([r[name][1] for r in results])), 4) for name in COPIES
            },
            "ms_per_clip": round(1000 * (time.perf_counter() - started) / len(clips), 1),
        }
    worst = "reencoded_crf35_and_scaled_half"
    best = max(methods, key=lambda m: (methods[m]["recovery"][worst], sum(methods[m]["recovery"].values())))
    return {
        "recovery": methods[best]["recovery"][worst],
        "method": best,
        "clips": len(clips),
        "methods": methods,
    }


def watermark_bench() -> dict[str, Any]:
    started = time.perf_counter()
    readback = _readback()
    cost = _cost()
    invisible = _invisible()
    return {
        "watermark_readback_rate": readback.pop("rate"),
        "invisible_mark_recovery": invisible.pop("recovery"),
        "watermark_detail": {
            "readback": readback,
            "cost": cost,
            "invisible_mark": invisible,
            "bench_s": round(time.perf_counter() - started, 1),
        },
    }


if __name__ == "__main__":
    print(json.dumps(watermark_bench(), indent=2))
