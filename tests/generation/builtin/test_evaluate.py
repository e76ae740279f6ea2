"""The detectors, checked against the world's ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from generation.builtin import evaluate, world


@pytest.fixture(scope="module")
def truth():
    cases = evaluate.held_out_cases(60, seed=7)
    rng = np.random.default_rng(7)
    clips = []
    for case in cases:
        rendered = world.scene_render(case.scene, rng)
        clips.append((rendered.frames, rendered.audio))
    return cases, clips


def test_detectors_agree_with_the_ground_truth(truth):
    cases, clips = truth
    result = evaluate.score(cases, clips, sample_rate=16000, fps=8)
    assert result["color_acc"] >= 0.95
    assert result["motion_acc"] >= 0.95
    assert result["av_sync_acc"] >= 0.95
    matched, judged = map(int, result["av_sync_by_event"]["knock"].split("/"))
    assert matched == judged > 0  # held-out sliders that run into something, each seen and heard


def test_detectors_catch_wrong_clips(truth):
    cases, clips = truth
    reversed_clips = [
        (frames[::-1], audio) for frames, audio in clips
    ]  # left ↔ right, up ↔ down, grow ↔ shrink
    silent = [(frames, np.zeros_like(audio)) for frames, audio in clips]
    recoloured = [(frames[..., ::-1].copy(), audio) for frames, audio in clips]  # RGB → BGR
    backwards = evaluate.score(cases, reversed_clips, sample_rate=16000, fps=8)
    assert backwards["motion_acc"] < 0.5
    left = backwards["motion_by_prompt"]["left"]  # reversed, every left reads as right
    assert left.startswith("0/")
    assert left != "0/0"
    assert sum(int(t.split("/")[1]) for t in backwards["motion_by_prompt"].values()) == len(cases)
    assert backwards["av_sync_by_event"]["knock"].startswith("0/")  # standing, then sliding: no knock
    assert evaluate.score(cases, silent, sample_rate=16000, fps=8)["av_sync_acc"] == 0
    assert evaluate.score(cases, recoloured, sample_rate=16000, fps=8)["color_acc"] < 0.5
