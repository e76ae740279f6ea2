"""The curriculum: one command that runs the shipped line's stages in order, resumably."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from generation.builtin.curriculum import CURRICULUM, curriculum_load, curriculum_run
from generation.builtin.pipeline import WEIGHTS_DIR, weights_load
from generation.builtin.train import CONFIGS_DIR, RunConfig, training_stages

SHIPPED_LINE = [
    "base",
    "finetune",
    "finetune2",
    "finetune3",
    "finetune5",
    "finetune6",
    "finetune7",
    "finetune8",
    "finetune10",
    "finetune14",
    "finetune16",
    "finetune19",
    "finetune20",
    "finetune21",
    "finetune22",
]
GPU_STAGES = {"finetune14", "finetune19", "finetune20", "finetune21"}


def stage(name: str, init: str | None, steps: int, device: str = "cpu") -> dict[str, object]:
    return {"name": name, "config": "tiny.json", "init": init, "device": device, "steps": steps}


@pytest.fixture(scope="module")
def tiny_curriculum(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three stages of the tiny recipe, the last one recorded as run on a GPU."""
    folder = tmp_path_factory.mktemp("curriculum")
    shutil.copy(CONFIGS_DIR / "tiny.json", folder / "tiny.json")
    stages = [stage("one", None, 3), stage("two", "one", 2), stage("three", "two", 2, device="cuda")]
    (folder / "curriculum.json").write_text(json.dumps({"stages": stages}))
    return folder / "curriculum.json"


@pytest.fixture(scope="module")
def tiny_line(tiny_curriculum: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """The tiny curriculum run once on the CPU: its output folder and the summaries."""
    out = tmp_path_factory.mktemp("line")
    return out, curriculum_run(curriculum_load(tiny_curriculum), out, device="cpu", quiet=True)


def info(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def test_the_stages_run_in_order_each_from_the_weights_of_the_one_before(tiny_line):
    out, summaries = tiny_line
    assert [(s["stage"], s["step"], s["device"]) for s in summaries] == [
        ("one", 3, "cpu"),
        ("two", 2, "cpu"),  # stopped at its listed step, not at the recipe's 6
        ("three", 2, "cpu"),  # --device for every stage, whatever the curriculum says
    ]
    assert info(out / "one")["trained_from"] == []
    assert [s["step"] for s in info(out / "two")["trained_from"]] == [3]
    assert [s["step"] for s in info(out / "three")["trained_from"]] == [3, 2]
    assert json.loads((out / "three" / "run.json").read_text())["train"]["stop"] == 2


def test_a_second_call_skips_the_stages_already_done(tiny_line, tiny_curriculum, tmp_path):
    out = shutil.copytree(tiny_line[0], tmp_path / "line")
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}

    summaries = curriculum_run(curriculum_load(tiny_curriculum), out, device="cpu", quiet=True)

    assert summaries == [{"stage": name, "skipped": "done"} for name in ("one", "two", "three")]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_a_half_done_stage_goes_on_from_its_checkpoint(tiny_curriculum, tmp_path):
    one, two, three = curriculum_load(tiny_curriculum)
    curriculum_run([one, replace(two, steps=1)], tmp_path, device="cpu", quiet=True)  # stopped after step 1
    checkpoint = tmp_path / "two" / "checkpoint.pt"
    state = torch.load(checkpoint, weights_only=False)
    state["losses"] = [(1, 123.0)]  # a mark that a fresh start would not keep
    torch.save(state, checkpoint)

    summaries = curriculum_run([one, two, three], tmp_path, device="cpu", quiet=True)

    assert [s.get("skipped") for s in summaries] == ["done", None, None]
    resumed = torch.load(checkpoint, weights_only=False)
    assert resumed["step"] == 2
    assert resumed["losses"][0] == (1, 123.0)
    assert len(resumed["losses"]) == 2


def test_until_stops_after_the_named_stage(tiny_curriculum, tmp_path):
    stages = curriculum_load(tiny_curriculum)
    summaries = curriculum_run(stages, tmp_path, device="cpu", until="two", quiet=True)
    assert [s["stage"] for s in summaries] == ["one", "two"]
    assert not (tmp_path / "three").exists()
    with pytest.raises(ValueError, match="no stage 'four'"):
        curriculum_run(stages, tmp_path, until="four")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for a machine without a GPU")
def test_a_stage_that_ran_on_a_gpu_is_refused_up_front_where_there_is_none(tiny_curriculum, tmp_path):
    with pytest.raises(RuntimeError, match=r"stages three ran on cuda.*--device cpu"):
        curriculum_run(curriculum_load(tiny_curriculum), tmp_path, quiet=True)
    assert not (tmp_path / "one").exists()  # refused before the first stage, not at the third


@pytest.mark.parametrize(
    ("stages", "refusal"),
    [
        pytest.param([{**stage("one", None, 3), "step": 3}], r"unknown stage key.*'step'", id="misspelt-key"),
        pytest.param([{"name": "one", "config": "tiny.json", "steps": 3}], "lacks init, dev", id="missing"),
        pytest.param([stage("one", "two", 3), stage("two", None, 3)], "not an earlier", id="init-later"),
        pytest.param([stage("one", None, 3), stage("one", "one", 3)], "listed twice", id="twice"),
        pytest.param([stage("one", None, 3, device="tpu")], "device 'tpu'", id="device"),
        pytest.param([stage("one", None, 0)], "steps must be 1 or more", id="steps"),
    ],
)
def test_a_curriculum_that_does_not_add_up_is_refused_naming_the_file(tmp_path, stages, refusal):
    path = tmp_path / "curriculum.json"
    path.write_text(json.dumps({"stages": stages}))
    with pytest.raises(ValueError, match=refusal) as refused:
        curriculum_load(path)
    assert str(path) in str(refused.value)


def test_the_shipped_curriculum_is_the_line_behind_the_shipped_weights():
    stages = curriculum_load(CURRICULUM)
    _, _, shipped = weights_load(WEIGHTS_DIR)
    assert [s.name for s in stages] == SHIPPED_LINE
    assert [s.init for s in stages] == [None, *SHIPPED_LINE[:-1]]
    # The steps each stage ran, as the shipped weights' config.json lists them.
    assert [s.steps for s in stages] == [run["step"] for run in training_stages(shipped)]
    assert {s.name for s in stages if s.device == "cuda"} == GPU_STAGES
    assert stages[-1].device == shipped["trained_on"]
    assert stages[-1].run_config().model.to_dict() == shipped["model"]


@pytest.mark.parametrize("stage", curriculum_load(CURRICULUM), ids=lambda s: s.name)
def test_every_stage_of_the_shipped_curriculum_loads_and_ends_where_its_recipe_does(stage):
    recipe = RunConfig.load(stage.config)
    assert stage.config.parent == CONFIGS_DIR
    assert stage.steps == (recipe.train.stop or recipe.train.steps)
