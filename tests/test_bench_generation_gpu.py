"""The GPU phase of bench/generation.py at tiny sizes on CPU: the code a CUDA session runs at 1.3b."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
    return _load("bench_generation", ROOT / "bench" / "generation.py")


@pytest.fixture(scope="module")
def phase() -> ModuleType:
    return _load("bench_generation_gpu", ROOT / "bench" / "generation_gpu.py")


def test_gpu_phase_at_tiny_sizes_times_engine_and_bare_call_and_writes_nothing(bench, capsys):
    # given the results file as it is
    before = bench.RESULTS.read_bytes() if bench.RESULTS.is_file() else None

    # when the GPU phase runs alone, at tiny sizes on CPU
    bench.main(["--gpu-only", "--scale", "tiny", "--device", "cpu"])

    # then it prints both timings of the same clip, and leaves the file to the 1.3b run on CUDA
    printed, note = capsys.readouterr().out.rstrip("\n").rsplit("\n", 1)
    result = json.loads(printed)
    assert note.startswith("not written")
    assert (bench.RESULTS.read_bytes() if bench.RESULTS.is_file() else None) == before
    assert result["scale"] == "tiny"
    assert result["device"].startswith("cpu")
    assert result["dtype"] == "float32"
    assert result["engine_s_per_clip"] > 0
    assert result["bare_s_per_clip"] > 0
    assert math.isfinite(result["engine_over_bare"])
    assert len(result["engine_s_each"]) == len(result["bare_s_each"]) == result["runs"] == 2
    assert set(result["peak_memory_mb"]) == {"engine", "bare"}
    assert all(mb > 0 for mb in result["peak_memory_mb"].values())
    assert result["max_pixel_diff"] == 0  # same pipeline, arguments and seed: the same clip
    assert result["bare_frames_finite"]
    assert result["on_step_calls_per_clip"] == result["steps"] == 2
    assert result["guidance_scale"] == 5.0
    assert {"build_s", "save_s", "load_s", "folder_mb", "params", "torch", "diffusers", "date"} <= set(result)


def test_1_3b_scale_has_wan_2_1_t2v_1_3b_sizes(phase):
    import torch
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    # given the 1.3b scale, built on the meta device (no memory, no time)
    scale = phase.SCALES["1.3b"]
    with torch.device("meta"):
        transformer = WanTransformer3DModel(**scale.transformer)
        vae = AutoencoderKLWan(**scale.vae)
        text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=52, **scale.text_encoder))

    # then the transformer and VAE are Wan 2.1's sizes, and the reduced encoder speaks the transformer's width
    assert round(sum(p.numel() for p in transformer.parameters()) / 1e9, 2) == 1.42
    assert round(sum(p.numel() for p in vae.parameters()) / 1e6) == 127
    assert text_encoder.config.d_model == transformer.config.text_dim == 4096
    assert scale.width % 16 == scale.height % 16 == 0
    assert (scale.num_frames - 1) % 4 == 0


def test_the_full_run_takes_scale_and_device_only_with_gpu_only(bench):
    with pytest.raises(SystemExit):
        bench.main(["--scale", "tiny"])
