"""The training loop: its losses, schedule, checkpoints and starts from other weights."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch

from generation.builtin.curriculum import CURRICULUM
from generation.builtin.model import KinoDiT, split_slots
from generation.builtin.pipeline import KinoPipeline
from generation.builtin.train import (
    CONFIGS_DIR,
    RunConfig,
    TrainConfig,
    contact_weights,
    flow_loss,
    learning_rate,
    train,
)
from tests.generation.builtin.helpers import Drawn, pairs_averaged


def test_the_motion_loss_asks_for_each_frames_motion_not_only_its_place():
    torch.manual_seed(0)
    truth = torch.rand(4, 3, 8, 8, 8) * 2 - 1  # [B, 3, T, H, W]
    audio = torch.zeros(4, 16, 8)
    weight, text = torch.ones(4, 1, 8, 8, 8), (torch.zeros(4, 1, 4), torch.ones(4, 1, dtype=torch.bool), None)

    def losses(drawn: torch.Tensor) -> tuple[float, float]:
        loss_v, _, loss_m = flow_loss(Drawn(drawn, audio), truth, audio, text, weight)
        return float(loss_v), float(loss_m)

    assert losses(truth) == pytest.approx((0.0, 0.0), abs=1e-9)
    # Off by the same amount in every frame: wrong places, but every change from frame to frame is right.
    offset = torch.rand(4, 3, 1, 8, 8) - 0.5
    place, motion = losses(truth + offset)
    assert place > 0.01
    assert motion == pytest.approx(0.0, abs=1e-9)
    # Each pair of frames drawn at their average: closer in place, a stop every other frame.
    place, motion = losses(pairs_averaged(truth, 2, 1))
    assert place > 0.01
    assert motion > place


def test_contact_weights_cover_the_frames_and_the_sound_around_each_contact():
    contacts = torch.zeros(2, 16, dtype=torch.bool)
    contacts[0, 5] = True
    frames, bins = contact_weights(contacts, 3.0, 4)
    assert frames[0].tolist() == [1.0] * 4 + [4.0] * 3 + [1.0] * 9  # frames 4, 5 and 6
    # Frame 5's own sound is bins 18-21 (within half a frame of its time); a frame either side, 14-26.
    assert torch.nonzero(bins[0] == 4.0).flatten().tolist() == list(range(14, 27))
    assert torch.equal(frames[1], torch.ones(16))  # no contact, no extra weight
    assert torch.equal(bins[1], torch.ones(64))


def test_the_audio_loss_weighs_each_bin_as_asked():
    video = torch.zeros(2, 3, 4, 8, 8)
    truth = torch.zeros(2, 16, 8)  # [B, bins, bands]
    wrong = truth.clone()
    wrong[:, :4] = 1.0  # the sound is off in the first 4 bins only
    weight, text = torch.ones(2, 1, 4, 8, 8), (torch.zeros(2, 1, 4), torch.ones(2, 1, dtype=torch.bool), None)

    def audio_loss(audio_weight: torch.Tensor | None) -> float:
        torch.manual_seed(0)  # the same flow times for every call
        _, loss_a, _ = flow_loss(Drawn(video, wrong), video, truth, text, weight, audio_weight=audio_weight)
        return float(loss_a)

    plain = audio_loss(None)
    assert audio_loss(torch.ones(2, 16)) == pytest.approx(plain)
    there, elsewhere = torch.ones(2, 16), torch.ones(2, 16)
    there[:, :4], elsewhere[:, 4:] = 4.0, 4.0
    assert audio_loss(there) > 1.5 * plain
    assert audio_loss(elsewhere) < 0.5 * plain


@pytest.mark.parametrize("knob", ["motion_weight", "contact_weight"])
def test_training_steps_by_each_loss_weight_as_set(tiny_run, tiny_config, tmp_path, knob):
    config = tiny_config

    def one_step(value: float, name: str) -> dict[str, torch.Tensor]:
        # Only bounces, so every batch has floor contacts for the contact weight to act on.
        train_config = replace(config.train, steps=1, motion_weights={"bounce": 1000}, **{knob: value})
        train(RunConfig(config.model, train_config), tmp_path / name, init=tiny_run, quiet=True)
        return torch.load(tmp_path / name / "checkpoint.pt", weights_only=False)["model"]

    plain, again, weighted = one_step(0.0, "plain"), one_step(0.0, "again"), one_step(10.0, "weighted")
    name = "video_out.weight"
    assert torch.equal(plain[name], again[name])  # the same data and noise: only the loss differs
    assert not torch.allclose(plain[name], weighted[name])


def test_each_clip_is_trained_on_as_many_draws_as_asked(tiny_run, tiny_config, tmp_path, monkeypatch):
    from generation.builtin import train as training

    seen = []

    def flow_loss(model, video, audio, *args, **kwargs):
        seen.append(video)
        return real(model, video, audio, *args, **kwargs)

    real = training.flow_loss
    monkeypatch.setattr(training, "flow_loss", flow_loss)
    config = tiny_config
    train(
        RunConfig(config.model, replace(config.train, steps=1, draws=3)), tmp_path, init=tiny_run, quiet=True
    )
    (video,) = seen
    assert video.shape[0] == 3 * config.train.batch
    assert torch.equal(video[0::3], video[1::3])
    assert torch.equal(video[0::3], video[2::3])
    assert not torch.equal(video[0], video[3])  # different clips between, the same one thrice in a row
    with pytest.raises(ValueError, match="draws must be 1 or more"):
        TrainConfig(draws=0)


def test_training_writes_weights_a_loss_curve_and_resumes(tiny_run, tiny_config, tmp_path):
    run = shutil.copytree(tiny_run, tmp_path / "run")
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["step"] == 6
    assert len(state["losses"]) == 6
    assert all(np.isfinite(loss) for _, loss in state["losses"])
    assert (run / "loss.png").stat().st_size > 1000
    info = json.loads((run / "config.json").read_text())
    assert info["step"] == 6
    assert info["model"]["size"] == 16
    before = (run / "model.safetensors").read_bytes()

    config = tiny_config
    summary = train(RunConfig(config.model, replace(config.train, steps=9)), run, quiet=True)
    assert summary["step"] == 9  # went on from step 6, did not start over
    assert torch.load(run / "checkpoint.pt", weights_only=False)["step"] == 9
    assert (run / "model.safetensors").read_bytes() != before


def test_a_new_run_can_start_from_shipped_weights(tiny_run, tiny_config, tmp_path):
    from safetensors.torch import load_file

    config = tiny_config
    run = RunConfig(config.model, replace(config.train, steps=1, time_shift=3.0))
    train(run, tmp_path, init=tiny_run, quiet=True)
    # The sampler is told the noise shift the network was trained with.
    assert KinoPipeline.from_pretrained(tmp_path).sampling["shift"] == 3.0
    # The new run's weights say what they started from, so the whole training cost can be told.
    start = json.loads((tiny_run / "config.json").read_text())
    info = json.loads((tmp_path / "config.json").read_text())
    earlier = [*start["trained_from"], {"step": start["step"], "train_minutes": start["train_minutes"]}]
    assert info["trained_from"] == earlier
    assert info["step"] == 1
    before, after = (
        load_file(str(tiny_run / "model.safetensors")),
        load_file(str(tmp_path / "model.safetensors")),
    )
    fresh = KinoDiT(config.model).state_dict()
    name = "video_in.weight"
    # One step (EMA decay 0.1 at step 0) moves the weights a little from where they started, not from scratch.
    assert (after[name] - before[name]).abs().max() < (fresh[name] - before[name]).abs().max() / 10


@pytest.mark.parametrize(
    ("field", "value", "moved"),
    [
        ("patch_t", 1, {"video_in.weight": "video_in.weight"}),
        ("depth", 4, {"blocks.2.qkv.weight": "blocks.1.qkv.weight"}),
    ],
)
def test_a_run_of_another_shape_starts_from_the_weights_it_was_given(
    tiny_run, tiny_config, tmp_path, field, value, moved
):
    """Shorter slots start from the cut weights; more blocks, from the old ones spread out."""
    from safetensors.torch import load_file

    config = tiny_config
    shape = replace(config.model, **{field: value})
    train(RunConfig(shape, replace(config.train, steps=1)), tmp_path, init=tiny_run, quiet=True)
    before, after = (
        load_file(str(tiny_run / "model.safetensors")),
        load_file(str(tmp_path / "model.safetensors")),
    )
    if field == "patch_t":
        before = split_slots(before, config.model, shape)
    assert json.loads((tmp_path / "config.json").read_text())["model"][field] == value
    fresh = KinoDiT(shape).state_dict()
    for new_name, old_name in moved.items():
        assert (after[new_name] - before[old_name]).abs().max() < (
            fresh[new_name] - before[old_name]
        ).abs().max() / 10


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    config = TrainConfig(lr=1e-3, warmup=100, steps=1000)
    assert learning_rate(config, 0) == pytest.approx(1e-5)
    assert learning_rate(config, 99) == pytest.approx(1e-3, rel=0.03)
    assert learning_rate(config, 500) == pytest.approx(0.55e-3)
    assert learning_rate(config, 1000) == pytest.approx(1e-4)
    assert learning_rate(config, 5000) == pytest.approx(1e-4)


@pytest.mark.parametrize(
    "path", sorted(p for p in CONFIGS_DIR.glob("*.json") if p != CURRICULUM), ids=lambda p: p.name
)
def test_every_recorded_recipe_loads(path):
    """A misspelt key or motion in a committed config fails here, not hours into a run."""
    RunConfig.load(path)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param({"model": {"dept": 2}}, r"unknown model key.*'dept'", id="model-key"),
        pytest.param({"train": {"learn_rate": 1e-3}}, r"unknown train key.*'learn_rate'", id="train-key"),
        pytest.param({"trian": {"lr": 1e-3}}, r"unknown section.*'trian'", id="section"),
        pytest.param({"train": {"motion_weights": {"bonce": 3}}}, "bonce", id="motion"),
    ],
)
def test_a_recipe_with_a_key_it_does_not_know_is_refused_naming_the_key_and_the_file(tmp_path, change, named):
    recipe = json.loads((CONFIGS_DIR / "tiny.json").read_text())
    for section, values in change.items():
        recipe[section] = {**recipe.get(section, {}), **values}
    path = tmp_path / "misspelt.json"
    path.write_text(json.dumps(recipe))
    with pytest.raises(ValueError, match=named) as refused:
        RunConfig.load(path)
    assert str(path) in str(refused.value)
