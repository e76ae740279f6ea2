"""Built-in model benchmark → bench/results/builtin_model.json, plus sample clips and a contact sheet.

    .venv/bin/python bench/builtin_model.py            (a few minutes on 2 cores)

- accuracy: 100 held-out prompts (colour x motion pairs never seen in training), one clip each,
  judged by the detectors in generation/builtin/evaluate.py: main object's colour, motion
  direction, audio onsets within ±1 frame of visual contacts (floor hits, knocks). The same for the untrained
  network (same architecture and pipeline, random weights) as the baseline, and for the world's own
  renders of the same prompts (what the detectors score on ground truth: the ceiling). Then the
  same scores on the validation prompts (evaluate.VALIDATION_SETS) and pooled over all of them.
- speed: the engine's generate() for a 2 s clip (one window of the model) at native resolution,
  upscaled to 256², on 2 CPU threads, in a fresh process (median of 3 after a warm-up); then a 12 s
  clip (97 frames, drawn window after window); peak resident memory of that process.
- training cost: the checkpoint's own run plus every run it started from (`--init`), summed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
SAMPLES = RESULTS / "builtin_samples"
KEYS = ("color_acc", "motion_acc", "av_sync_acc")
SYNC_KEYS = (*KEYS, "av_sync_by_event")
SHOWCASE = [
    "a red ball bouncing on a blue floor",
    "a yellow star moving right quickly in a grassy field",
    "the green box falls on a sandy beach",
    "a white triangle spinning at night",
    "a green ghost slides to the left on the beach, knocking a small purple box away",
]


def speed(weights: Path) -> dict[str, Any]:
    """Run in a fresh process: load the engine, time generate(), report peak memory."""
    import torch

    torch.set_num_threads(2)
    from generation.engines.base import GenerationRequest
    from generation.engines.builtin_engine import BuiltinEngine, BuiltinSettings

    began = time.perf_counter()
    engine = BuiltinEngine(BuiltinSettings(path=weights, device="cpu"))
    load_s = time.perf_counter() - began
    width, height, frames = engine.fit(256, 256, 16)
    request = GenerationRequest(SHOWCASE[0], width=width, height=height, num_frames=frames, fps=8.0, seed=1)
    engine.generate(request, lambda done, total: None)  # warm-up
    times = []
    for seed in (2, 3, 4):
        began = time.perf_counter()
        engine.generate(replace(request, seed=seed), lambda done, total: None)
        times.append(time.perf_counter() - began)
    began = time.perf_counter()
    engine.generate(replace(request, num_frames=12 * 8 + 1), lambda done, total: None)
    long_s = time.perf_counter() - began
    return {
        "cpu_seconds_2s_clip": round(statistics.median(times), 3),
        "cpu_seconds_12s_clip": round(long_s, 3),
        "load_s": round(load_s, 2),
        "peak_mem_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "steps": engine.steps,
        "output": f"{frames} frames, {width}x{height}, {frames / 8:.0f} s with sound",
    }


def contact_sheet(rows: list[tuple[str, np.ndarray]], path: Path, scale: int = 4) -> None:
    from PIL import Image, ImageDraw

    frames_shown = 8
    _, size, _, _ = rows[0][1].shape
    cell = size * scale
    label = 14
    sheet = Image.new("RGB", (cell * frames_shown, (cell + label) * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (prompt, frames) in enumerate(rows):
        top = r * (cell + label)
        draw.text((2, top + 1), prompt[:100], fill="black")
        for c, index in enumerate(np.linspace(0, len(frames) - 1, frames_shown).round().astype(int)):
            tile = Image.fromarray(frames[index]).resize((cell, cell), Image.Resampling.NEAREST)
            sheet.paste(tile, (c * cell, top + label))
    sheet.save(path)


def gif(rows: list[np.ndarray], path: Path, scale: int = 4, fps: float = 8.0) -> None:
    from PIL import Image

    grid = np.concatenate(rows, axis=2)  # side by side
    images = [
        Image.fromarray(frame).resize(
            (frame.shape[1] * scale, frame.shape[0] * scale), Image.Resampling.NEAREST
        )
        for frame in grid
    ]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)


def validation_figures(trained: Any, cases: list[Any], clips: list[Any]) -> dict[str, dict[str, Any]]:
    """The validation sets the stages were chosen on, each, and every held-out prompt pooled."""
    from generation.builtin import evaluate

    c = trained.config
    validation: dict[str, dict[str, Any]] = {}
    all_cases, all_clips = list(cases), list(clips)
    for seed, n in evaluate.VALIDATION_SETS:
        set_cases = evaluate.held_out_cases(n, seed=seed)
        set_result, set_clips = evaluate.evaluate_pipeline(trained, set_cases)
        validation[f"--seed {seed} --prompts {n}"] = {key: set_result[key] for key in SYNC_KEYS}
        all_cases += set_cases
        all_clips += set_clips
    pooled = evaluate.score(all_cases, all_clips, sample_rate=c.sample_rate, fps=c.fps)
    validation["all held-out prompts, benchmark and validation"] = {
        **{key: pooled[key] for key in SYNC_KEYS},
        "clips": pooled["clips"],
    }
    return validation


def speed_in_a_fresh_process(weights: Path) -> dict[str, Any]:
    measured = subprocess.run(
        [sys.executable, __file__, "--speed-only", "--weights", str(weights)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "2"},
    )
    return json.loads(measured.stdout.strip().splitlines()[-1])


def samples_write(trained: Any, cases: list[Any], clips: list[Any]) -> None:
    """The showcase clips as MP4s and a GIF, and a contact sheet with held-out prompts."""
    from mediakit import Clip
    from mediakit.encode import clip_encode

    SAMPLES.mkdir(parents=True, exist_ok=True)
    showcase = trained.batch(SHOWCASE, seeds=list(range(len(SHOWCASE))))
    for index, (prompt, output) in enumerate(zip(SHOWCASE, showcase, strict=True)):
        media = clip_encode(Clip(output.frames, output.fps, output.audio[None], output.sample_rate))
        (SAMPLES / f"{index}-{prompt.replace(' ', '-')}.mp4").write_bytes(media.mp4)
    sheet_rows = [(p, o.frames) for p, o in zip(SHOWCASE, showcase, strict=True)]
    sheet_rows += [(case.prompt, frames) for case, (frames, _) in list(zip(cases, clips, strict=True))[:8]]
    contact_sheet(sheet_rows, RESULTS / "builtin_model_sheet.png")
    gif([o.frames for o in showcase], SAMPLES / "showcase.gif")


def evaluations(trained: Any, cases: list[Any]) -> dict[str, Any]:
    """The trained model and an untrained baseline on the held-out prompts, and the detectors on
    the world's own renders of them (what a perfect model would score)."""
    import torch

    from generation.builtin import evaluate, world
    from generation.builtin.model import KinoDiT
    from generation.builtin.pipeline import KinoPipeline

    print("held-out prompts, trained model …", flush=True)
    result, clips = evaluate.evaluate_pipeline(trained, cases)
    print("… untrained baseline …", flush=True)
    torch.manual_seed(0)
    untrained = KinoPipeline(KinoDiT(trained.config), trained.text_encoder, trained.sampling)
    baseline, _ = evaluate.evaluate_pipeline(untrained, cases)
    print("… detectors on the world's own renders …", flush=True)
    rng, c = np.random.default_rng(0), trained.config
    renders = [world.scene_render(case.scene, rng, frames=c.frames, size=c.size, fps=c.fps) for case in cases]
    truth = evaluate.score(
        cases, [(r.frames, r.audio) for r in renders], sample_rate=c.sample_rate, fps=c.fps
    )
    return {"result": result, "clips": clips, "baseline": baseline, "truth": truth}


def report_of(trained: Any, info: dict[str, Any], measured: dict[str, Any]) -> dict[str, Any]:
    from generation.builtin.train import training_stages

    result, baseline, truth, timing = (measured[k] for k in ("result", "baseline", "truth", "timing"))
    stages = training_stages(info)
    return {
        **{key: result[key] for key in KEYS},
        "motion_by_prompt": result["motion_by_prompt"],
        "av_sync_by_event": result["av_sync_by_event"],
        "baseline": {key: baseline[key] for key in KEYS},
        "detectors_on_ground_truth": {key: truth[key] for key in KEYS},
        "cpu_seconds_2s_clip": timing["cpu_seconds_2s_clip"],
        "peak_mem_mb": timing["peak_mem_mb"],
        "params": sum(p.numel() for p in trained.model.parameters()),
        "trained_on": {"cuda": "gpu"}.get(info["trained_on"], info["trained_on"]),  # the last stage's
        "train_minutes": round(sum(stage["train_minutes"] for stage in stages), 2),
        "train_steps": sum(stage["step"] for stage in stages),
        "train_stages": stages,
        "held_out_prompts": measured["prompts"],
        "validation": measured["validation"],
        "speed": timing,
        "sampling": trained.sampling,
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} CPU cores, torch threads 2",
        "command": ".venv/bin/python bench/builtin_model.py",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", type=Path, default=ROOT / "generation" / "builtin" / "weights")
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--speed-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.speed_only:
        print(json.dumps(speed(args.weights)))
        return

    import torch

    from generation.builtin import evaluate
    from generation.builtin.pipeline import KinoPipeline

    torch.set_num_threads(2)
    cases = evaluate.held_out_cases(args.prompts)
    trained = KinoPipeline.from_pretrained(args.weights)
    info = json.loads((args.weights / "config.json").read_text())
    measured = evaluations(trained, cases)
    print("… validation prompts (the sets the stages were chosen on) …", flush=True)
    measured["validation"] = validation_figures(trained, cases, measured["clips"])
    print("speed, in a fresh process …", flush=True)
    measured["timing"] = speed_in_a_fresh_process(args.weights)
    measured["prompts"] = len(cases)
    samples_write(trained, cases, measured["clips"])
    report = report_of(trained, info, measured)
    (RESULTS / "builtin_model.json").write_text(json.dumps(report, indent=2) + "\n")
    rows = {"trained": measured["result"]["rows"], "baseline": measured["baseline"]["rows"]}
    (RESULTS / "builtin_model_rows.json").write_text(json.dumps(rows, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "speed"}, indent=2))


if __name__ == "__main__":
    main()
