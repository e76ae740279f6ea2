"""bench/creation.py at a few prompts, and the held-out paraphrase set it reads."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from generation.builtin import world

ROOT = Path(__file__).resolve().parent.parent.parent
KEYS = (
    "paraphrase_acc",
    "n_paraphrases",
    "clip_60s_cpu_s",
    "boundary_jump_max",
    "command",
    "date",
    "machine",
)


def _load(name: str, path: Path) -> ModuleType:
    """bench/ is scripts, not a package: load one by its path."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _load("bench_creation", ROOT / "bench" / "creation.py")


@pytest.fixture(scope="module")
def maker() -> ModuleType:
    return _load("bench_paraphrases_make", ROOT / "bench" / "paraphrases_make.py")


@dataclass(frozen=True)
class StandInEnhanced:
    caption: str
    unmapped: tuple[str, ...]
    enhancer: str
    scene: dict[str, Any] | None = None


def stand_in_enhance(text: str) -> StandInEnhanced:
    """Not the enhancer: the prompt back, with its first word reported as unmapped in every other
    prompt, read as a red scene."""
    words = text.split()
    return StandInEnhanced(text, tuple(words[:1]) if len(words) % 2 else (), "stand-in/0", {"colour": "red"})


def test_bench_writes_the_issue_keys_for_a_few_paraphrases(bench, tmp_path):
    # given a stand-in for the long part that says what it was asked
    long_figures = {"clip_60s_cpu_s": 12.5, "boundary_jump_max": 0.8, "inside_jump_max": 0.7, "windows": 41}
    out = tmp_path / "creation.json"

    # when the bench runs on 3 paraphrases (1 thread: the suite's 2 cores are shared)
    report = bench.main(
        ["--paraphrases", "3", "--out", str(out), "--threads", "1"],
        enhance=stand_in_enhance,
        long_measure=lambda: long_figures,
    )

    # then the file holds the issue's keys, both sides of every accuracy, and the long part's figures
    written = json.loads(out.read_text())
    assert written == report
    assert set(KEYS) <= set(written)
    assert written["n_paraphrases"] == 3
    for measure in ("color", "motion", "sync"):
        sides = written["paraphrase_acc"][measure]
        assert set(sides) == {"with_enhancer", "without"}
        assert all(value is None or 0 <= value <= 1 for value in sides.values())
    assert (
        written["paraphrase_acc"]["color"]["without"] == written["paraphrase_acc"]["color"]["with_enhancer"]
    )
    assert {key: written[key] for key in ("clip_60s_cpu_s", "boundary_jump_max", "inside_jump_max")} == {
        "clip_60s_cpu_s": 12.5,
        "boundary_jump_max": 0.8,
        "inside_jump_max": 0.7,
    }
    assert written["long_clip"] == {"windows": 41}
    assert written["enhancer"] == ["stand-in/0"]
    assert written["command"] == f".venv/bin/python bench/creation.py --paraphrases 3 --out {out} --threads 1"
    rows = json.loads((tmp_path / "creation_rows.json").read_text())
    assert [row["caption"] for row in rows] == [row["text"] for row in rows]
    assert written["enhancer_scene_acc"]["colour"] == round(
        sum(row["truth"]["colour"] == "red" for row in rows) / 3, 3
    )
    assert written["enhancer_scene_acc"]["motion"] == 0
    assert written["unmapped_share"] == round(sum(bool(row["unmapped"]) for row in rows) / 3, 3)


def test_skip_long_leaves_the_long_figures_out_and_says_so(bench, tmp_path):
    def long_measure() -> dict[str, Any]:
        raise AssertionError("the long part ran")

    report = bench.main(
        ["--paraphrases", "1", "--skip-long", "--out", str(tmp_path / "c.json"), "--threads", "1"],
        enhance=stand_in_enhance,
        long_measure=long_measure,
    )

    assert report["clip_60s_cpu_s"] is None
    assert report["boundary_jump_max"] is None
    assert report["long_clip"] == "skipped (--skip-long)"


def test_the_bench_calls_the_builtin_enhancer_and_the_long_part(bench):
    # the stand-ins above replace these two; here, that they are the real ones
    enhanced = bench.builtin_enhance("a crimson orb hopping after dark")

    assert enhanced.caption.startswith("a red ball")
    assert bench.long_clip_measure_load().__module__ == "bench.creation_long"


def test_a_subset_is_spread_over_the_set(bench):
    rows = bench.paraphrases_load(bench.PARAPHRASES, 20)

    assert len(rows) == len({row["id"] for row in rows}) == 20
    assert any("handwritten" in row["kinds"] for row in rows)


def test_the_paraphrase_set_is_what_its_maker_makes(maker):
    # the committed set is reproducible from the committed generator (fixed seeds)
    committed = json.loads((ROOT / "bench" / "data" / "paraphrases.json").read_text())

    assert committed["prompts"] == maker.prompts_make()


def test_the_paraphrases_are_held_out_scenes_in_new_words(bench, maker):
    prompts = json.loads((ROOT / "bench" / "data" / "paraphrases.json").read_text())["prompts"]

    assert len(prompts) >= 220
    kinds = {kind: sum(kind in row["kinds"] for row in prompts) for kind in maker.KINDS}
    assert all(count >= 25 for count in kinds.values()), kinds
    assert 0.1 <= kinds["typo"] / len(prompts) <= 0.25
    for row in prompts:
        scene = bench.case_of(row, row["text"]).scene
        assert (scene.colour, scene.motion) in world.HELD_OUT
        assert not maker.reuses_a_caption(row["text"], scene), row["text"]


def test_every_world_caption_is_enumerated(maker):
    # the reuse check sees every caption the world can write, so a drawn one is among them
    import numpy as np

    rng = np.random.default_rng(0)
    for _ in range(20):
        scene = world.scene_sample(rng, held_out=True, pans=True)
        assert world.caption(scene, rng).lower() in maker.world_captions(scene)
