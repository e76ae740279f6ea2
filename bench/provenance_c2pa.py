"""What C2PA signing adds to encoding -> `c2pa_bench()` (bench/provenance.py merges its keys into
bench/results/provenance.json).

    .venv/bin/python bench/provenance_c2pa.py     (prints the figures as JSON; ~30 s on 2 cores)

For the same clip in the same run: the time of `mediakit.encode.clip_encode` (H.264 + AAC, what the
worker does to every clip) and of `provenance.mp4_sign` on its MP4 (a manifest with the created
action, a remix's parent as an ingredient, signed with Kino's key, verified after signing), the
median of a few runs each. Two clips: the built-in engine's (a scene of its world, 32 px native at
8 fps scaled to 256 px, 4 s, with sound) and a 1280x720 clip of 5 s at 24 fps (the world drawn at
128 px, scaled up smoothly, with sound). Signing costs mostly the same whatever the clip (hashing
the file is the only part that grows with it) while encoding grows with the pixels, so the main
figure, `c2pa_overhead_ratio`, is the 720p one; target <= 0.10. A remix signs its parent's file in
as an ingredient (read and validated): `remix_sign_ms` says what that adds.

Run alone, it signs with a throwaway CA in a temporary folder; inside bench/provenance.py, with
the configured one.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 0.10


def _median_s(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _builtin_clip(seed: int) -> Any:
    """The built-in engine's delivery: 4 s of its world at 8 fps, 32 px (clip_encode scales to 256)."""
    from generation.builtin.world import SAMPLE_RATE, scene_render, scene_sample
    from mediakit.clip import Clip

    rng = np.random.default_rng(seed)
    rendered = scene_render(scene_sample(rng), rng, frames=32, size=32, fps=8.0)
    return Clip(frames=rendered.frames, fps=8.0, audio=rendered.audio[None], sample_rate=SAMPLE_RATE)


def _hd_clip(seed: int) -> Any:
    """5 s at 24 fps, 1280x720: the world drawn at 128 px and scaled up (bilinear) to fill the frame."""
    from generation.builtin.world import SAMPLE_RATE, scene_render, scene_sample
    from mediakit.clip import Clip

    rng = np.random.default_rng(seed)
    rendered = scene_render(scene_sample(rng), rng, frames=120, size=128, fps=24.0)
    frames = np.stack(
        [
            np.asarray(Image.fromarray(frame).resize((1280, 720), Image.Resampling.BILINEAR))
            for frame in rendered.frames
        ]
    )
    return Clip(frames=frames, fps=24.0, audio=rendered.audio[None], sample_rate=SAMPLE_RATE)


def _measure(clip: Any, parent: bytes, repeats: int) -> dict[str, Any]:
    from mediakit.encode import clip_encode
    from provenance.public import Creation, manifest_summary, mp4_sign

    encoded = clip_encode(clip)
    creation = Creation(engine="builtin", model_version="bench", handle="bench")
    remix = Creation(engine="builtin", model_version="bench", handle="bench", parent_mp4=parent)
    signed = mp4_sign(encoded.mp4, creation)
    if manifest_summary(signed)["state"] != "trusted":
        raise RuntimeError("the signed bench clip does not read as trusted: the CA is misconfigured")
    encode_s = _median_s(lambda: clip_encode(clip), repeats)
    sign_s = _median_s(lambda: mp4_sign(encoded.mp4, creation), repeats * 3)
    remix_s = _median_s(lambda: mp4_sign(encoded.mp4, remix), repeats * 3)
    read_s = _median_s(lambda: manifest_summary(signed), repeats * 3)
    return {
        "width": encoded.width,
        "height": encoded.height,
        "duration_ms": encoded.duration_ms,
        "mp4_bytes": len(encoded.mp4),
        "manifest_bytes": len(signed) - len(encoded.mp4),
        "encode_ms": round(encode_s * 1000, 1),
        "sign_ms": round(sign_s * 1000, 2),
        "remix_sign_ms": round(remix_s * 1000, 2),
        "read_ms": round(read_s * 1000, 2),
        "overhead_ratio": round(sign_s / encode_s, 4),
    }


def c2pa_bench(repeats: int = 3) -> dict[str, Any]:
    from mediakit.encode import clip_encode
    from provenance.public import Creation, mp4_sign

    parent = mp4_sign(
        clip_encode(_builtin_clip(0)).mp4, Creation(engine="builtin", model_version="bench", handle="p")
    )
    clips = {"builtin_256px_4s": _measure(_builtin_clip(1), parent, repeats)}
    clips["hd_1280x720_5s"] = _measure(_hd_clip(2), parent, repeats)
    return {
        "c2pa_overhead_ratio": clips["hd_1280x720_5s"]["overhead_ratio"],
        "c2pa_detail": {"target": TARGET, "main": "hd_1280x720_5s", "clips": clips},
    }


def _standalone_django(folder: Path) -> None:
    """Settings for a run on its own: Kino's dev settings, signing with a CA made for this run."""
    from provenance.signing import dev_ca_make

    for name, data in zip(
        ("signer.key", "signer-chain.pem", "trust-anchors.pem"), dev_ca_make("Bench"), strict=True
    ):
        (folder / name).write_bytes(data)
    os.environ.update(
        PROVENANCE_SIGNER_KEY=str(folder / "signer.key"),
        PROVENANCE_SIGNER_CERTS=str(folder / "signer-chain.pem"),
        PROVENANCE_TRUST_ANCHORS=str(folder / "trust-anchors.pem"),
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as temporary:
        _standalone_django(Path(temporary))
        print(json.dumps(c2pa_bench(), indent=2))
