"""Rebuild the shipped checkpoint, stage after stage: `python -m generation.builtin.curriculum`.

The curriculum (`configs/curriculum.json`) lists the stages of the shipped line in order: each
one's recipe (a config in `configs/`), the stage whose weights it starts from (`init`), the
device it ran on and the step it ran to. Each stage trains into `<out>/<name>` and stops at
that step, whatever its config's time budget (that budget was set for one machine's speed).

Resumable: a stage whose run folder has reached its step is skipped, and a half-done one goes
on from its own `checkpoint.pt`, so the same command picks up where it was stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch

from generation.builtin.model import unknown_keys_refuse
from generation.builtin.pipeline import device_resolve
from generation.builtin.train import CONFIGS_DIR, RunConfig, train

CURRICULUM = CONFIGS_DIR / "curriculum.json"
DEVICES = ("cpu", "cuda")
NO_TIME_BUDGET = (
    1e9  # minutes: a stage stops at its steps, however long they take (finite, so run.json stays JSON)
)


@dataclass(frozen=True)
class Stage:
    name: str  # its run folder under the curriculum's output folder
    config: Path  # its recipe
    init: str | None  # the stage whose weights it starts from (None: from scratch)
    device: str  # where it ran: cpu or cuda
    steps: int  # the step it ran to

    def run_config(self) -> RunConfig:
        """The stage's recipe, stopped at its step and with no time budget."""
        config = RunConfig.load(self.config)
        return RunConfig(config.model, replace(config.train, stop=self.steps, minutes=NO_TIME_BUDGET))


def _stage_from_dict(data: dict[str, Any], folder: Path, earlier: list[str]) -> Stage:
    unknown_keys_refuse(Stage, data, "stage key")
    missing = [f.name for f in fields(Stage) if f.name not in data]
    if missing:
        raise ValueError(f"stage {data.get('name')!r} lacks {', '.join(missing)}")
    stage = Stage(
        name=data["name"],
        config=folder / data["config"],
        init=data["init"],
        device=data["device"],
        steps=int(data["steps"]),
    )
    if stage.name in earlier:
        raise ValueError(f"stage {stage.name!r} is listed twice")
    if stage.init is not None and stage.init not in earlier:
        raise ValueError(f"stage {stage.name!r} starts from {stage.init!r}, which is not an earlier stage")
    if stage.device not in DEVICES:
        raise ValueError(f"stage {stage.name!r}: device {stage.device!r} is not one of {', '.join(DEVICES)}")
    if stage.steps < 1:
        raise ValueError(f"stage {stage.name!r}: steps must be 1 or more, not {stage.steps}")
    return stage


def curriculum_load(path: Path = CURRICULUM) -> list[Stage]:
    """The stages listed in `path`, in order; their config files are named relative to its folder."""
    data = json.loads(path.read_text())
    try:
        if set(data) != {"stages"}:
            raise ValueError(f"a curriculum has one key, 'stages', not {sorted(data)}")
        stages: list[Stage] = []
        for entry in data["stages"]:
            stages.append(_stage_from_dict(entry, path.parent, [s.name for s in stages]))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    return stages


def stage_done(stage: Stage, out: Path) -> bool:
    """Whether the stage's run folder holds weights saved at its step (or later)."""
    info = out / stage.name / "config.json"
    return info.exists() and json.loads(info.read_text())["step"] >= stage.steps


def _stages_to_run(stages: list[Stage], until: str | None) -> list[Stage]:
    names = [stage.name for stage in stages]
    if until is None:
        return stages
    if until not in names:
        raise ValueError(f"no stage {until!r} in the curriculum (stages: {', '.join(names)})")
    return stages[: names.index(until) + 1]


def _devices_check(stages: list[Stage], out: Path, device: str | None) -> None:
    """Refuse at once, not hours in, a stage that asks for a GPU this machine does not have."""
    if device is not None:
        return
    wanting = [s.name for s in stages if s.device == "cuda" and not stage_done(s, out)]
    if wanting and not torch.cuda.is_available():
        raise RuntimeError(
            f"stages {', '.join(wanting)} ran on cuda and there is no GPU here; "
            "pass --device cpu to run every stage on the CPU (slower, and a GPU stage's many "
            "loader processes will share the cores)"
        )


def curriculum_run(
    stages: list[Stage],
    out: Path,
    *,
    device: str | None = None,
    until: str | None = None,
    quiet: bool = False,
    on_stage: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the stages in order (up to and including `until`) into `out/<name>`, each started from
    its init stage's folder, on its own device or on `device` for all; skip the ones done.
    Returns one summary per stage, and hands each to `on_stage` as soon as it is known."""
    stages = _stages_to_run(stages, until)
    _devices_check(stages, out, device)
    summaries = []
    for stage in stages:
        if stage_done(stage, out):
            summary: dict[str, Any] = {"stage": stage.name, "skipped": "done"}
        else:
            init = out / stage.init if stage.init is not None else None
            where = device_resolve(device or stage.device)
            result = train(stage.run_config(), out / stage.name, init=init, device=where, quiet=quiet)
            summary = {"stage": stage.name, "device": where, **result}
        summaries.append(summary)
        if on_stage is not None:
            on_stage(summary)
    return summaries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curriculum", type=Path, default=CURRICULUM, help="the stages (a JSON file)")
    parser.add_argument("--out", type=Path, default=Path("var/train/curriculum"), help="one folder per stage")
    parser.add_argument(
        "--device", help="auto, cpu or cuda for every stage (default: the device each stage ran on)"
    )
    parser.add_argument("--until", help="stop after this stage")
    args = parser.parse_args(argv)
    stages = curriculum_load(args.curriculum)

    def report(summary: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(summary) + "\n")
        sys.stdout.flush()

    curriculum_run(stages, args.out, device=args.device, until=args.until, on_stage=report)


if __name__ == "__main__":
    main()
