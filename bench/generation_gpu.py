"""The GPU phase of bench/generation.py: a Wan 2.1 pipeline at random weights, through DiffusersEngine
against the bare pipeline call, in the same process and run: seconds per clip and peak memory.

    python3 bench/generation.py --gpu-only          on a CUDA machine: updates `gpu` in generation.json
    .venv/bin/python bench/generation.py --gpu-only --scale tiny --device cpu     (seconds; writes nothing)

Scale "1.3b" (what the `gpu` key holds): the transformer has Wan2.1-T2V-1.3B's config (1.42 B
parameters, the values of the shipped Wan2.1-T2V-1.3B-Diffusers folder), the VAE is Wan 2.1's own
(AutoencoderKLWan's defaults, 127 M), and the scheduler is the UniPC flow scheduler (shift 3.0) that
folder ships. The text encoder is reduced: one layer shaped like UMT5-XXL's (d_model 4096, 64 heads,
d_ff 10240: 193 M) over tiny.py's 52-word vocabulary, where the real one has 24 such layers and a
256k-word vocabulary (5.7 B: too big to build at random for a benchmark). The transformer still reads
4096-d states for 512 tokens, so each denoising step costs what the real model's does; the real encoder
would add a fraction of a second per clip, the same to both sides, and what is compared is the engine
against the bare call of the same pipeline, not Wan's published speed. The weights are random (seeded):
the frames are noise, the timings are the model's.

Sizes for 1.3b: 832x480, 33 frames, 20 steps, guidance 5.0 (the pipeline's default, so two transformer
passes a step), bf16; one warm-up of each side, then 3 clips each, interleaved (the order alternates).
Expected on an H200: about 10 s a clip, and about 3 minutes for the whole command (imports, building on
the GPU, saving 3.3 GiB of bf16 safetensors and loading them back, 8 clips); GPU memory: 3.5 GB of
weights plus activations and the VAE's decode, well under 40 GB. Measured on this project's 2-core CPU
machine: building the 1.3b pipeline at random weights takes 31-34 s and 7.3 GB of RAM (fp32), saving it
in bf16 10-11 s (3.3 GiB), loading it back through DiffusersEngine in fp32 9.4 s; a 32x32, 5-frame,
1-step clip of it then runs in 6.2 s, process peak 7.7 GB.

The device machine's image has torch and transformers but neither diffusers nor Django (which
generation.engines imports, unconfigured), nor fasteners: carry them as wheels. Here, once, in the
repo's root:

    echo /.whl/ >> .git/info/exclude
    .venv/bin/python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \\
        --implementation cp --platform manylinux2014_x86_64 -d .whl \\
        diffusers==0.42.1 django==5.2.19 asgiref==3.13.0 sqlparse==0.6.1 fasteners==0.20

then one device call, with carry [".whl"] and timeout_s 480:

    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \\
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site && PYTHONUNBUFFERED=1 \\
        python3 bench/generation.py --gpu-only && cp bench/results/generation.json $OUT/

and copy the generation.json that comes back over bench/results/generation.json (only `gpu` and
`gpu_note` change).
"""

from __future__ import annotations

import gc
import inspect
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET = 0.10  # the design's: on a GPU, throughput within 10 % of the bare diffusers pipeline
PROMPT = "a red ball bouncing on the beach at sunset"  # every word in tiny.py's vocabulary
SEED = 11


@dataclass(frozen=True)
class Scale:
    transformer: Mapping[str, Any]  # WanTransformer3DModel's arguments
    text_encoder: Mapping[str, Any]  # UMT5Config's arguments (the vocabulary is tiny.py's)
    vae: Mapping[str, Any]  # AutoencoderKLWan's arguments; {}: Wan 2.1's own VAE
    width: int
    height: int
    num_frames: int  # 4k + 1
    steps: int
    runs: int  # timed clips per side, after one warm-up of each
    save_dtype: torch.dtype | None = None  # cast before saving (None: as built, fp32)
    scheduler: Mapping[str, Any] = field(
        # UniPCMultistepScheduler's arguments, as Wan2.1-T2V-1.3B-Diffusers ships them (480p: shift 3.0)
        default_factory=lambda: {
            "prediction_type": "flow_prediction",
            "use_flow_sigmas": True,
            "num_train_timesteps": 1000,
            "flow_shift": 3.0,
        }
    )


SCALES = {
    "1.3b": Scale(
        transformer={
            "patch_size": (1, 2, 2),
            "num_attention_heads": 12,
            "attention_head_dim": 128,
            "in_channels": 16,
            "out_channels": 16,
            "text_dim": 4096,
            "freq_dim": 256,
            "ffn_dim": 8960,
            "num_layers": 30,
            "cross_attn_norm": True,
            "qk_norm": "rms_norm_across_heads",
            "eps": 1e-6,
            "rope_max_seq_len": 1024,
        },
        # One layer of UMT5-XXL's shape (the real one has 24 and a 256k vocabulary: 5.7 B parameters).
        text_encoder={
            "d_model": 4096,
            "d_kv": 64,
            "num_heads": 64,
            "d_ff": 10240,
            "num_layers": 1,
            "feed_forward_proj": "gated-gelu",
            "relative_attention_num_buckets": 32,
            "relative_attention_max_distance": 128,
            "dropout_rate": 0.0,
        },
        vae={},
        width=832,
        height=480,
        num_frames=33,
        steps=20,
        runs=3,
        save_dtype=torch.bfloat16,  # what the engine loads on a GPU ("auto"): half the bytes to save and load
    ),
    # The same builder and code path at tiny.py's sizes: seconds on a CPU.
    "tiny": Scale(
        transformer={
            "patch_size": (1, 2, 2),
            "num_attention_heads": 2,
            "attention_head_dim": 12,
            "in_channels": 16,
            "out_channels": 16,
            "text_dim": 32,
            "freq_dim": 256,
            "ffn_dim": 32,
            "num_layers": 2,
            "cross_attn_norm": True,
            "qk_norm": "rms_norm_across_heads",
            "rope_max_seq_len": 32,
        },
        text_encoder={
            "d_model": 32,
            "d_kv": 8,
            "d_ff": 64,
            "num_layers": 1,
            "num_heads": 4,
            "relative_attention_num_buckets": 8,
            "dropout_rate": 0.0,
        },
        vae={
            "base_dim": 3,
            "z_dim": 16,
            "dim_mult": [1, 1, 1, 1],
            "num_res_blocks": 1,
            "temperal_downsample": [False, True, True],
        },
        width=32,
        height=32,
        num_frames=9,
        steps=2,
        runs=2,
    ),
}


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _components(scale: Scale) -> dict[str, Any]:
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    from generation.engines.tiny import VOCABULARY, _tokenizer

    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(VOCABULARY), **scale.text_encoder))
    torch.manual_seed(0)
    transformer = WanTransformer3DModel(**scale.transformer)
    torch.manual_seed(0)
    vae = AutoencoderKLWan(**scale.vae)
    return {
        "transformer": transformer,
        "vae": vae,
        "scheduler": UniPCMultistepScheduler(**scale.scheduler),
        "text_encoder": text_encoder,
        "tokenizer": _tokenizer(),
    }


def pipeline_save(scale: Scale, folder: Path, device: str) -> dict[str, Any]:
    """Build `scale`'s WanPipeline at random weights on `device` (fast on a GPU); save it to `folder`."""
    from diffusers import WanPipeline

    started = time.perf_counter()
    with torch.device(device):
        components = _components(scale)
    built = time.perf_counter()
    params = {name: _params(components[name]) for name in ("transformer", "vae", "text_encoder")}
    pipe = WanPipeline(**components)
    if scale.save_dtype is not None:
        # diffusers warns that some modules should stay fp32: the engine's from_pretrained(dtype=...) keeps
        # them fp32 when it loads, and random weights do not miss the bits.
        pipe.to(dtype=scale.save_dtype)
    pipe.save_pretrained(folder)
    saved = time.perf_counter()
    del pipe, components
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return {
        "params": params,
        "build_s": round(built - started, 2),
        "save_s": round(saved - built, 2),
        "folder_mb": round(size / 2**20, 1),
    }


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def _peak_reset(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
    else:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: VmHWM starts again from VmRSS


def _peak_mb(device: str) -> float:
    if device.startswith("cuda"):
        return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    status = Path("/proc/self/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return round(int(line.split()[1]) / 1024, 1)


def _timed(device: str, call: Callable[[], Any]) -> tuple[float, float, Any]:
    """Seconds and peak memory (MiB) of one call, the device's queue drained on both sides."""
    _sync(device)
    _peak_reset(device)
    started = time.perf_counter()
    out = call()
    _sync(device)
    return time.perf_counter() - started, _peak_mb(device), out


def _as_uint8(frames: np.ndarray) -> np.ndarray:
    return (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)


def _interleaved(device: str, runs: int, calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """One warm-up of each side, then `runs` timed clips each, the order alternating run by run."""
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    peaks: dict[str, list[float]] = {name: [] for name in calls}
    last: dict[str, Any] = {}
    for call in calls.values():
        call()
    for run in range(runs):
        for name in list(calls)[:: 1 if run % 2 == 0 else -1]:
            wall, peak, last[name] = _timed(device, calls[name])
            seconds[name].append(wall)
            peaks[name].append(peak)
    peak_mb = {name: max(values) for name, values in peaks.items()}
    return {"seconds": seconds, "peak_mb": peak_mb, "last": last}


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"{device} ({torch.get_num_threads()} threads)"


def _report(name: str, scale: Scale, device: str, engine: Any, timing: dict[str, Any]) -> dict[str, Any]:
    import diffusers

    engine_s, bare_s = (statistics.median(timing["seconds"][side]) for side in ("engine", "bare"))
    frames = timing["last"]
    return {
        "what": "WanPipeline at random weights: DiffusersEngine.generate against the bare pipeline call, "
        "same pipeline object, arguments and seed, interleaved in one process (bench/generation_gpu.py)",
        "scale": name,
        "device": _device_name(device),
        "dtype": str(engine.dtype).removeprefix("torch."),
        "width": scale.width,
        "height": scale.height,
        "num_frames": scale.num_frames,
        "steps": scale.steps,
        # the pipeline's default (5.0 for Wan): above 1, two transformer passes a step
        "guidance_scale": inspect.signature(type(engine.pipe).__call__).parameters["guidance_scale"].default,
        "runs": scale.runs,
        "engine_s_per_clip": round(engine_s, 3),
        "bare_s_per_clip": round(bare_s, 3),
        "engine_over_bare": round(engine_s / bare_s - 1, 4),
        "target": f"engine_over_bare <= {TARGET}",
        "within_target": engine_s / bare_s - 1 <= TARGET,
        "engine_s_each": [round(s, 3) for s in timing["seconds"]["engine"]],
        "bare_s_each": [round(s, 3) for s in timing["seconds"]["bare"]],
        "peak_memory_mb": timing["peak_mb"],
        "peak_memory_kind": "torch.cuda.max_memory_allocated, reset before each clip"
        if device.startswith("cuda")
        else "process peak RSS (VmHWM), reset before each clip",
        # The engine's uint8 frames against the bare call's float frames rounded the same way.
        "max_pixel_diff": int(np.abs(frames["engine"].astype(int) - _as_uint8(frames["bare"])).max()),
        "bare_frames_finite": bool(np.isfinite(frames["bare"]).all()),  # random weights in bf16 may overflow
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "date": date.today().isoformat(),
    }


def bench_gpu(device: str = "cuda", scale: str = "1.3b") -> dict[str, Any]:
    """Build the `scale` pipeline, load it through the production loader and time both calls on `device`."""
    from generation.engines.base import GenerationRequest
    from generation.engines.diffusers_engine import DiffusersEngine, DiffusersSettings

    chosen = SCALES[scale]
    with tempfile.TemporaryDirectory(prefix="kino-bench-wan-") as tmp:
        built = pipeline_save(chosen, Path(tmp), device)
        started = time.perf_counter()
        engine = DiffusersEngine(
            DiffusersSettings(path=Path(tmp), device=device, dtype="auto", steps=chosen.steps)
        )
        load_s = time.perf_counter() - started
    request = GenerationRequest(
        prompt=PROMPT,
        width=chosen.width,
        height=chosen.height,
        num_frames=chosen.num_frames,
        fps=16,
        seed=SEED,
    )
    width, height, num_frames = engine.fit(chosen.width, chosen.height, chosen.num_frames)
    steps_seen: list[int] = []  # the worker's on_step writes progress and sends an event; here, a list

    def through_engine() -> np.ndarray:
        return engine.generate(request, lambda done, total: steps_seen.append(done)).frames

    def bare() -> np.ndarray:
        return engine.pipe(
            prompt=PROMPT,
            height=height,
            width=width,
            num_frames=num_frames,
            num_inference_steps=chosen.steps,
            generator=torch.Generator(device="cpu").manual_seed(SEED),
            output_type="np",
        ).frames[0]

    timing = _interleaved(device, chosen.runs, {"engine": through_engine, "bare": bare})
    return {
        **_report(scale, chosen, device, engine, timing),
        **built,
        "load_s": round(load_s, 2),
        "on_step_calls_per_clip": len(steps_seen) / (chosen.runs + 1),
    }
