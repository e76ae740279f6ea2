"""Creation tools benchmark → bench/results/creation.json (and each prompt's row in creation_rows.json).

    .venv/bin/python bench/creation.py                                  (the whole run, 2 CPU threads)
    .venv/bin/python bench/creation.py --paraphrases 20 --skip-long     (a quick look)

- paraphrase_acc: the built-in model's colour, motion and sync accuracy (the detectors of
  generation/builtin/evaluate.py) on the held-out paraphrases of bench/data/paraphrases.json,
  written apart from the enhancer's vocabulary (bench/paraphrases_make.py), and of
  bench/data/paraphrases_fresh.json (kind "fresh": written by hand by someone who never read the
  enhancer, after it was built: the cleanest measure). Each prompt is
  rendered twice with its own seed, in one run: as typed (`without`) and as the enhancer rewrote
  it, `generation.enhance.prompt_enhance(text, family="builtin").caption` (`with_enhancer`).
  The same figures per kind of paraphrase (synonym, word order, extra words, typo, hand-written),
  and the share of prompts with words the enhancer could not map (`unmapped`). Before any render,
  `enhancer_scene_acc`: per attribute, the share of prompts whose scene the enhancer read right.
- clip_60s_cpu_s, boundary_jump_max and the same jump inside windows: bench/creation_long.py's
  `long_clip_measure()` (a 60 s built-in clip on 2 CPU threads, its object's track across the
  window boundaries).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation.builtin import evaluate, world  # noqa: E402  (the repository root is on the path only now)

# The held-out paraphrases: the set made apart from the enhancer's vocabulary (bench/paraphrases_make.py
# and hand-written ones), and a later hand-written set ("fresh") by someone who never read the enhancer.
PARAPHRASES = ROOT / "bench" / "data" / "paraphrases.json"
FRESH = ROOT / "bench" / "data" / "paraphrases_fresh.json"
RESULTS = ROOT / "bench" / "results" / "creation.json"
MEASURES = {"color": "color_acc", "motion": "motion_acc", "sync": "av_sync_acc"}
KINDS = ("synonym", "order", "extra", "typo", "handwritten", "fresh")
SCENE_ATTRIBUTES = ("colour", "shape", "motion", "background", "speed", "second", "hits")
LONG_KEYS = ("clip_60s_cpu_s", "boundary_jump_max")
LONG_PREFIXES = ("clip_60s_cpu_s", "boundary_", "inside_")  # e.g. inside_jump_max, next to boundary_jump_max
Enhance = Callable[[str], Any]  # prompt → generation.enhance.Enhanced (caption, unmapped, enhancer)
LongMeasure = Callable[[], dict[str, Any]]


def paraphrases_load(paths: Path | Sequence[Path], limit: int | None) -> list[dict[str, Any]]:
    """The sets' prompts, or `limit` of them spread over them (the hand-written ones come last)."""
    rows: list[dict[str, Any]] = [
        row
        for path in ([paths] if isinstance(paths, Path) else paths)
        for row in json.loads(path.read_text())["prompts"]
    ]
    if not limit or limit >= len(rows):
        return rows
    step = len(rows) / limit
    return [rows[int(i * step)] for i in range(limit)]


def case_of(row: dict[str, Any], prompt: str) -> evaluate.Case:
    """The prompt to render for the row's scene, judged against that scene, with the row's seed."""
    truth = row["scene"]
    scene = world.Scene(
        colour=truth["colour"],
        shape=truth["shape"],
        motion=truth["motion"],
        background=truth["background"],
        speed=truth["speed"],
        second=tuple(truth["second"]) if truth["second"] else None,
        hits=truth["hits"],
    )
    return evaluate.Case(scene, prompt, seed=int(row["seed"]))


def enhanced_all(rows: list[dict[str, Any]], enhance: Enhance) -> tuple[list[Any], dict[str, float]]:
    """Each prompt through the enhancer, and its cost (the first call loads the embedder)."""
    enhanced, seconds = [], []
    for row in rows:
        began = time.perf_counter()
        enhanced.append(enhance(row["text"]))
        seconds.append(time.perf_counter() - began)
    return enhanced, {
        "first_call_s": round(seconds[0], 3),
        "median_ms": round(1000 * statistics.median(seconds[1:] or seconds), 2),
    }


def figures(scored: dict[str, Any]) -> dict[str, Any]:
    """Colour, motion and sync accuracy; sync is None where no clip had a contact to judge."""
    out = {name: scored[key] for name, key in MEASURES.items()}
    if not scored["av_sync_by_event"]:
        out["sync"] = None
    return out


def side_by_side(with_enhancer: dict[str, Any], without: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"with_enhancer": with_enhancer[name], "without": without[name]} for name in MEASURES}


def by_kind(
    rows: list[dict[str, Any]],
    cases: dict[str, list[evaluate.Case]],
    clips: dict[str, list[Any]],
    config: Any,
) -> dict[str, dict[str, Any]]:
    """The accuracies over the prompts of each kind (a prompt may be of several kinds)."""
    kinds: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        chosen = [i for i, row in enumerate(rows) if kind in row["kinds"]]
        if not chosen:
            continue
        scored = {
            side: figures(
                evaluate.score(
                    [cases[side][i] for i in chosen],
                    [clips[side][i] for i in chosen],
                    sample_rate=config.sample_rate,
                    fps=config.fps,
                )
            )
            for side in ("with_enhancer", "without")
        }
        kinds[kind] = {"n": len(chosen), **side_by_side(scored["with_enhancer"], scored["without"])}
    return kinds


def prompt_rows(
    rows: list[dict[str, Any]], enhanced: list[Any], scored: dict[str, Any]
) -> list[dict[str, Any]]:
    """Per prompt: what was typed, what the enhancer made of it, and what each render showed."""
    out = []
    for i, (row, rewrite) in enumerate(zip(rows, enhanced, strict=True)):
        seen = {side: scored[side]["rows"][i] for side in ("with_enhancer", "without")}
        out.append(
            {
                "id": row["id"],
                "kinds": row["kinds"],
                "text": row["text"],
                "caption": rewrite.caption,
                "unmapped": list(rewrite.unmapped),
                "truth": {"colour": row["scene"]["colour"], "motion": row["scene"]["motion"]},
                **{side: {"colour": r["colour"], "motion": r["motion"]} for side, r in seen.items()},
            }
        )
    return out


def scene_agreement(rows: list[dict[str, Any]], enhanced: list[Any]) -> dict[str, float]:
    """Per attribute, the share of prompts whose scene the enhancer read as the truth (no render):
    what the rendered accuracy with the enhancer is bounded by."""
    read = [(row["scene"], e.scene) for row, e in zip(rows, enhanced, strict=True) if e.scene is not None]
    if not read:
        return {}
    return {
        attribute: round(
            sum(found.get(attribute) == truth[attribute] for truth, found in read) / len(read), 3
        )
        for attribute in SCENE_ATTRIBUTES
    }


def paraphrase_part(pipeline: Any, rows: list[dict[str, Any]], enhance: Enhance) -> dict[str, Any]:
    """Every prompt rendered as typed and as enhanced, with the same seed; both judged on its scene."""
    enhanced, enhance_cost = enhanced_all(rows, enhance)
    cases = {
        "without": [case_of(row, row["text"]) for row in rows],
        "with_enhancer": [case_of(row, e.caption) for row, e in zip(rows, enhanced, strict=True)],
    }
    scored, clips = {}, {}
    for side, side_cases in cases.items():
        print(f"… {len(side_cases)} prompts {side.replace('_', ' ')} …", flush=True)
        scored[side], clips[side] = evaluate.evaluate_pipeline(pipeline, side_cases)
    return {
        "paraphrase_acc": side_by_side(figures(scored["with_enhancer"]), figures(scored["without"])),
        "n_paraphrases": len(rows),
        "paraphrase_acc_by_kind": by_kind(rows, cases, clips, pipeline.config),
        "sync_contacts_judged": {side: scored[side]["av_sync_by_event"] for side in scored},
        "enhancer_scene_acc": scene_agreement(rows, enhanced),
        "unmapped_share": round(sum(bool(e.unmapped) for e in enhanced) / len(rows), 3),
        "enhancer": sorted({e.enhancer for e in enhanced}),
        "enhance_cost": enhance_cost,
        "rows": prompt_rows(rows, enhanced, scored),
    }


def builtin_enhance(text: str) -> Any:
    """The enhancer as the built-in engine's jobs use it."""
    from generation.enhance import prompt_enhance

    return prompt_enhance(text, family="builtin")


def long_clip_measure_load() -> LongMeasure:
    """bench/creation_long.py's measure (it imports the engine only when it runs)."""
    from bench.creation_long import long_clip_measure

    measure: LongMeasure = long_clip_measure
    return measure


def long_part(measured: dict[str, Any]) -> dict[str, Any]:
    """The 60 s figures the issue names, and the inside-window ones beside them, at the top; the rest
    of what the long part measured under `long_clip`."""
    top = {key: value for key, value in measured.items() if key.startswith(LONG_PREFIXES)}
    return {**top, "long_clip": {key: value for key, value in measured.items() if key not in top}}


def run(
    *,
    paraphrases: int | None,
    skip_long: bool,
    out: Path,
    command: str,
    enhance: Enhance,
    long_measure: LongMeasure,
) -> dict[str, Any]:
    """The whole benchmark; writes `out` (and the per-prompt rows beside it) and returns the report."""
    import torch

    from generation.builtin.pipeline import KinoPipeline

    rows = paraphrases_load([PARAPHRASES, FRESH], paraphrases)
    part = paraphrase_part(KinoPipeline.from_pretrained(), rows, enhance)
    prompts = part.pop("rows")
    if skip_long:
        long: dict[str, Any] = {**dict.fromkeys(LONG_KEYS), "long_clip": "skipped (--skip-long)"}
    else:
        print("… 60 s clips …", flush=True)
        long = long_part(long_measure())
    report = {
        **part,
        **long,
        "command": command,
        "date": date.today().isoformat(),
        "machine": f"{os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    out.with_name(f"{out.stem}_rows.json").write_text(json.dumps(prompts, indent=1) + "\n")
    return report


def main(
    argv: Sequence[str] | None = None,
    *,
    enhance: Enhance | None = None,
    long_measure: LongMeasure | None = None,
) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paraphrases", type=int, help="only this many prompts, spread over the set")
    parser.add_argument("--skip-long", action="store_true", help="leave out the 60 s clip")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the issue's figures: 2)")
    args = parser.parse_args(argv)
    import torch

    given = list(sys.argv[1:] if argv is None else argv)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        report = run(
            paraphrases=args.paraphrases,
            skip_long=args.skip_long,
            out=args.out,
            command=" ".join([".venv/bin/python bench/creation.py", *given]),
            enhance=enhance or builtin_enhance,
            long_measure=long_measure or (lambda: long_clip_measure_load()()),  # imported only if it runs
        )
    finally:
        torch.set_num_threads(threads)  # as it was, for whoever called main in-process
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
