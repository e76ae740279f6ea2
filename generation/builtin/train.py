"""Train the built-in model on the procedural world: `python -m generation.builtin.train --config FILE`.

Resumable: the run folder keeps `checkpoint.pt` (weights, EMA, optimiser, step, RNG), and a
second call with the same config goes on from it. Every `save_every` steps it also writes the
EMA weights the engine loads (`model.safetensors` + `config.json`) and `loss.png`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from generation.builtin import world
from generation.builtin.audio import waveform_to_bands
from generation.builtin.model import (
    MIN_T,
    KinoDiT,
    ModelConfig,
    grow_depth,
    split_slots,
    unknown_keys_refuse,
    video_noise,
)
from generation.builtin.pipeline import SAMPLING_DEFAULTS, device_resolve, weights_load, weights_save
from generation.builtin.sampler import time_shift
from generation.builtin.text import TextEncoder

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"  # the recorded recipes


@dataclass(frozen=True)
class TrainConfig:
    batch: int = 32
    lr: float = 1e-3
    warmup: int = 200
    steps: int = 10_000  # the learning rate follows a cosine from lr down to lr / 10 over these
    minutes: float = 600.0  # stop early after this much training time (summed over resumes)
    stop: int = 0  # stop early at this step (0: at `steps`); the schedule still spans `steps`
    ema: float = 0.999
    uncond: float = 0.1  # share of examples trained without text, for classifier-free guidance
    # Logit-normal flow times moved toward noise by this shift, and the sampler uses the same one:
    # where the object goes and how it moves is settled at high noise, which t ~ logit-normal
    # alone rarely visits (t > 0.9 in 1.4 % of draws; with shift 3, 14 %).
    time_shift: float = 1.0
    object_weight: float = 4.0  # extra loss weight on pixels covered by an object
    # Weight of a second video loss on the change from each frame to the next (see `flow_loss`).
    motion_weight: float = 0.0
    # Extra loss weight on the frames within one of a contact (a floor hit, a knock) and on the
    # sound there: where the thud and the stop have to agree (see `contact_weights`).
    contact_weight: float = 0.0
    bank: int = 20_000  # captions embedded once, each rendered afresh every time it is drawn
    # Each rendered clip is trained on at this many (flow time, noise) draws in its step: more of
    # the loss's expectation over times and noise per rendered clip, for where rendering, not the
    # network, sets the pace. The noise is drawn on the CPU, though, so it is not free: two draws
    # halved stage 19's steps a second on the H100 (see the model card).
    draws: int = 1
    save_every: int = 250
    seed: int = 0
    # Relative odds of each motion in the caption bank (1 for any not named), e.g. {"bounce": 3}.
    motion_weights: dict[str, float] = field(default_factory=dict)
    knocks: float = world.KNOCKS  # share of the bank's sideways slides that run into a second object
    threads: int = 0  # torch threads; 0: all cores
    loader_workers: int = 1

    def __post_init__(self) -> None:
        world.motion_odds(self.motion_weights)  # a misspelt motion fails here, not after the bank is built
        if self.draws < 1:
            raise ValueError(f"draws must be 1 or more, not {self.draws}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown_keys_refuse(cls, data, "train key")
        return cls(**data)


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        unknown_keys_refuse(cls, data, "section")
        return cls(ModelConfig.from_dict(data.get("model", {})), TrainConfig.from_dict(data.get("train", {})))

    @classmethod
    def load(cls, path: Path) -> RunConfig:
        """A run config from a JSON file with "model" and "train" sections; a ValueError that names
        the file and the key for anything it does not know."""
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error


# --- data -----------------------------------------------------------------------------------


def caption_bank(
    size: int,
    seed: int,
    encoder: TextEncoder,
    motion_weights: dict[str, float] | None = None,
    knocks: float = world.KNOCKS,
) -> dict[str, Any]:
    """`size` training scenes (motions drawn by `motion_weights`, `knocks` of the sideways slides
    running into a second object) with one caption each, embedded once (fp16)."""
    rng = np.random.default_rng(seed)
    scenes = [world.scene_sample(rng, motion_weights=motion_weights, knocks=knocks) for _ in range(size)]
    captions = [world.caption(scene, rng) for scene in scenes]
    tokens, masks, pooled = [], [], []
    for start in range(0, size, 256):
        batch = encoder(captions[start : start + 256])
        tokens.append(batch.tokens.half())
        masks.append(batch.mask)
        pooled.append(batch.pooled.half())
    return {
        "scenes": scenes,
        "captions": captions,
        "tokens": torch.cat(tokens),
        "mask": torch.cat(masks),
        "pooled": torch.cat(pooled),
    }


Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class WorldClips(IterableDataset[Batch]):
    """An endless stream of (bank index, video, audio grid, object mask, contact frames) batches."""

    def __init__(self, scenes: list[world.Scene], config: ModelConfig, batch: int, seed: int) -> None:
        self.scenes, self.config, self.batch, self.seed = scenes, config, batch, seed

    def __iter__(self) -> Iterator[Batch]:
        c = self.config
        rng = np.random.default_rng(self.seed)
        while True:
            index = rng.integers(len(self.scenes), size=self.batch)
            rendered = [
                world.scene_render(self.scenes[i], rng, frames=c.frames, size=c.size, fps=c.fps)
                for i in index
            ]
            video = torch.from_numpy(np.stack([r.frames for r in rendered])).permute(0, 4, 1, 2, 3)  # uint8
            audio = waveform_to_bands(
                torch.from_numpy(np.stack([r.audio for r in rendered])),
                sample_rate=c.sample_rate,
                fps=c.fps,
                frames=c.frames,
                bins_per_frame=c.bins_per_frame,
                bands=c.audio_bands,
            )
            mask = torch.from_numpy(np.stack([r.mask for r in rendered]))
            contacts = torch.zeros(len(rendered), c.frames, dtype=torch.bool)  # [B, T]
            for row, r in enumerate(rendered):
                contacts[row, r.contacts] = True
            yield torch.from_numpy(index), video, audio, mask, contacts


# --- training -------------------------------------------------------------------------------


def training_stages(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Every run behind a weights folder's `config.json`, oldest first: the ones it started from
    (`--init`), then its own."""
    return [*info["trained_from"], {"step": info["step"], "train_minutes": info["train_minutes"]}]


def learning_rate(tc: TrainConfig, step: int) -> float:
    """Linear warm-up, then a cosine from lr to lr / 10 at `steps`."""
    progress = min(1.0, step / tc.steps)
    return tc.lr * min(1.0, (step + 1) / tc.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def contact_weights(
    contacts: torch.Tensor, weight: float, bins_per_frame: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss weights from contact frames [B, T] (bool): per video frame [B, T] and per audio bin
    [B, T · bins], 1 + `weight` within one frame of a contact and 1 elsewhere.

    Frame f's sound is the bins whose times lie within half a frame of f / fps (bin b sits at
    b / bins_per_frame frames), so a bin is near a contact within 1.5 frames of it.
    """
    frames = contacts.shape[1]
    at = torch.arange(frames, dtype=torch.float32, device=contacts.device)
    bins = torch.arange(frames * bins_per_frame, dtype=torch.float32, device=contacts.device) / bins_per_frame

    def near(positions: torch.Tensor, reach: float) -> torch.Tensor:
        close = (positions[:, None] - at[None, :]).abs() <= reach  # [positions, T]
        return (close[None] & contacts[:, None, :]).any(dim=-1).float()

    return 1 + weight * near(at, 1.0), 1 + weight * near(bins, 1.5)


def flow_loss(
    model: KinoDiT,
    video: torch.Tensor,
    audio: torch.Tensor,
    text: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    weight: torch.Tensor,
    shift: float = 1.0,
    audio_weight: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rectified flow, x_t = (1 - t)·x + t·noise: the network predicts the clean x, and the loss compares
    the velocity that implies, (x_t - x̂) / t, with the true one, noise - x. Returns the (video, audio)
    MSE, weighted by `weight` ([B, 1, T, H, W]) and `audio_weight` ([B, T · bins], default 1), and
    the video's motion loss: the same error's change from each frame to the next.

    Pixel MSE alone lets a model keep the object still for the two frames of a time slot and move it
    between slots (unsure where it is, it draws the average place twice); that staircase reads as a
    stop at every slot. An error shared by neighbouring frames costs nothing in the motion loss and a
    wrong change between them costs in full, so it asks for the frame-to-frame motion even where the
    place is unsure (the idea behind VideoJAM's motion term, Chefer et al. 2025, without the flow).
    """
    b, device = video.shape[0], video.device
    # Drawn from the CPU generator whatever the device, so a run's randomness does not depend on it.
    t = time_shift(torch.sigmoid(torch.randn(b)), shift).to(device)  # logit-normal times, shifted
    noise_v = video_noise(tuple(video.shape), model.config.noise_correlation).to(device)
    noise_a = torch.randn(audio.shape).to(device)
    tv, ta = t.view(b, 1, 1, 1, 1), t.view(b, 1, 1)
    noisy_v, noisy_a = (1 - tv) * video + tv * noise_v, (1 - ta) * audio + ta * noise_a
    clean_v, clean_a = model(noisy_v, noisy_a, t, *text)
    error_v = (noisy_v - clean_v) / tv.clamp(min=MIN_T) - (noise_v - video)  # [B, 3, T, H, W]
    error_a = (noisy_a - clean_a) / ta.clamp(min=MIN_T) - (noise_a - audio)
    loss_v = (weight * error_v**2).sum() / (weight.sum() * 3)
    change = error_v[:, :, 1:] - error_v[:, :, :-1]
    pair_weight = torch.maximum(weight[:, :, 1:], weight[:, :, :-1])  # the object in either frame
    loss_m = (pair_weight * change**2).sum() / (pair_weight.sum() * 3)
    if audio_weight is None:
        audio_weight = torch.ones(audio.shape[:2], device=device)
    loss_a = (audio_weight[..., None] * error_a**2).sum() / (audio_weight.sum() * audio.shape[2])
    return loss_v, loss_a, loss_m


def loss_plot(losses: list[tuple[int, float]], path: Path) -> None:
    """The loss curve (moving average) as a PNG, drawn with Pillow."""
    from PIL import Image, ImageDraw

    width, height, pad = 800, 400, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    if len(losses) >= 2:
        steps = np.array([s for s, _ in losses], dtype=float)
        values = np.array([v for _, v in losses], dtype=float)
        window = max(1, len(values) // 100)
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        steps = steps[window - 1 :]
        low, high = float(smooth.min()), float(smooth.max()) or 1.0
        span_s, span_v = max(steps[-1] - steps[0], 1), max(high - low, 1e-9)
        points = [
            (
                pad + (s - steps[0]) / span_s * (width - 2 * pad),
                height - pad - (v - low) / span_v * (height - 2 * pad),
            )
            for s, v in zip(steps, smooth, strict=True)
        ]
        draw.line(points, fill=(200, 40, 40), width=2)
        draw.text((pad, height - pad + 10), f"step {int(steps[0])}", fill="black")
        draw.text((width - pad - 80, height - pad + 10), f"step {int(steps[-1])}", fill="black")
        draw.text((5, pad - 20), f"loss {high:.4f}", fill="black")
        draw.text((5, height - pad), f"{low:.4f}", fill="black")
    draw.rectangle((pad, pad, width - pad, height - pad), outline="black")
    draw.text((width // 2 - 60, 10), "training loss (moving average)", fill="black")
    image.save(path)


def train(
    config: RunConfig,
    out: Path,
    *,
    init: Path | None = None,
    device: str = "cpu",
    log_every: int = 10,
    quiet: bool = False,
) -> dict[str, Any]:
    """Train (or resume) into `out` on `device`; returns the final state's summary.

    A new run may start from the weights in `init` (a model folder, e.g. the shipped checkpoint):
    both the network and its EMA begin there, with a fresh optimiser and schedule. A run with
    more blocks than `init` starts from them spread out with identity blocks between
    (`grow_depth`); one with shorter time slots (patch_t 1 from 2), from them cut (`split_slots`).
    """
    from tqdm import tqdm

    tc, mc = config.train, config.model
    if tc.threads:
        torch.set_num_threads(tc.threads)
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps({"model": mc.to_dict(), "train": asdict(tc)}, indent=2))
    torch.manual_seed(tc.seed)
    model = KinoDiT(mc).to(device)
    ema = KinoDiT(mc).to(device).requires_grad_(False)
    ema.load_state_dict(model.state_dict())
    optimiser = torch.optim.AdamW(model.parameters(), lr=tc.lr, betas=(0.9, 0.99), weight_decay=0.0)
    step, seconds, losses = 0, 0.0, []
    trained_from: list[dict[str, Any]] = []  # the runs behind the weights this one started from, oldest first
    checkpoint_path = out / "checkpoint.pt"
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, weights_only=False, map_location=device)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimiser.load_state_dict(state["optimiser"])
        step, seconds, losses = state["step"], state["seconds"], state["losses"]
        trained_from = state["trained_from"]
        torch.set_rng_state(state["torch_rng"].cpu())
    elif init is not None:
        init_config, weights, info = weights_load(init)
        if init_config.depth != mc.depth:  # go on deeper
            grown = replace(init_config, depth=mc.depth)
            weights, init_config = grow_depth(weights, init_config, grown, model.state_dict()), grown
        if init_config.patch_t != mc.patch_t:  # go on with finer time slots
            weights = split_slots(weights, init_config, mc)
        model.load_state_dict(weights)
        ema.load_state_dict(weights)
        trained_from = training_stages(info)

    bank_path = out / "bank.pt"
    if bank_path.exists():
        bank = torch.load(bank_path, weights_only=False)
    else:
        bank = caption_bank(
            tc.bank, tc.seed, TextEncoder(max_tokens=mc.text_tokens), tc.motion_weights, tc.knocks
        )
        torch.save(bank, bank_path)
    clips = WorldClips(bank["scenes"], mc, tc.batch, seed=tc.seed * 1_000_003 + step)
    loader = DataLoader(
        clips,
        batch_size=None,
        num_workers=tc.loader_workers,
        prefetch_factor=4 if tc.loader_workers else None,
    )

    def save() -> None:
        torch.save(
            {
                "model": model.state_dict(),
                "ema": ema.state_dict(),
                "optimiser": optimiser.state_dict(),
                "step": step,
                "seconds": seconds,
                "losses": losses,
                "torch_rng": torch.get_rng_state(),
                "trained_from": trained_from,
            },
            checkpoint_path.with_suffix(".tmp"),
        )
        os.replace(checkpoint_path.with_suffix(".tmp"), checkpoint_path)
        weights_save(
            ema,
            out,
            sampling={**SAMPLING_DEFAULTS, "shift": tc.time_shift},
            extra={
                "step": step,
                "train_minutes": round(seconds / 60, 2),
                "trained_on": torch.device(device).type,
                "trained_from": trained_from,
            },
        )
        loss_plot(losses, out / "loss.png")

    budget = tc.minutes * 60
    bar = tqdm(total=tc.steps, initial=step, disable=quiet, desc="train", dynamic_ncols=True)
    began = time.monotonic() - seconds
    running = None
    for batch in loader:
        if step >= (tc.stop or tc.steps) or seconds >= budget:
            break
        index, video_u8, audio, mask, contacts = (x.repeat_interleave(tc.draws, dim=0) for x in batch)
        lr = learning_rate(tc, step)
        for group in optimiser.param_groups:
            group["lr"] = lr
        video = video_u8.to(device).float() / 127.5 - 1
        audio = audio.to(device)
        drop = torch.rand(len(index)) < tc.uncond
        tokens = bank["tokens"][index].float().to(device)
        text_mask = (bank["mask"][index] & ~drop[:, None]).to(device)
        pooled = (bank["pooled"][index].float() * (~drop)[:, None]).to(device)
        frame_weight, audio_weight = contact_weights(
            contacts.to(device), tc.contact_weight, mc.bins_per_frame
        )
        weight = (1 + tc.object_weight * mask.to(device).float()) * frame_weight[:, :, None, None]
        loss_v, loss_a, loss_m = flow_loss(
            model,
            video,
            audio,
            (tokens, text_mask, pooled),
            weight.unsqueeze(1),  # [B, 1, T, H, W]
            shift=tc.time_shift,
            audio_weight=audio_weight,
        )
        loss = loss_v + loss_a + tc.motion_weight * loss_m
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        decay = min(tc.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
                p_ema.lerp_(p, 1 - decay)
        step += 1
        seconds = time.monotonic() - began
        value = float(loss.detach())
        losses.append((step, value))
        running = value if running is None else 0.98 * running + 0.02 * value
        bar.update(1)
        if step % log_every == 0:
            bar.set_postfix(
                loss=f"{running:.4f}",
                video=f"{float(loss_v):.3f}",
                audio=f"{float(loss_a):.3f}",
                motion=f"{float(loss_m):.3f}",
                min=f"{seconds / 60:.1f}",
            )
        if step % tc.save_every == 0:
            save()
    save()
    bar.close()
    return {
        "step": step,
        "train_minutes": seconds / 60,
        "loss": running,
        "params": sum(p.numel() for p in model.parameters()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", type=Path, required=True, help="a JSON file with 'model' and 'train' sections"
    )
    parser.add_argument("--out", type=Path, help="run folder (default var/train/<config name>)")
    parser.add_argument("--minutes", type=float, help="override the config's time budget")
    parser.add_argument(
        "--stop", type=int, help="stop at this step (the schedule still spans the config's steps)"
    )
    parser.add_argument("--init", type=Path, help="start a new run from these weights (a model folder)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:1 … (auto: cuda when there is one)")
    args = parser.parse_args(argv)
    config = RunConfig.load(args.config)
    overrides = {
        key: value for key, value in (("minutes", args.minutes), ("stop", args.stop)) if value is not None
    }
    config = RunConfig(config.model, replace(config.train, **overrides))
    out = args.out or Path("var/train") / args.config.stem
    print(json.dumps(train(config, out, init=args.init, device=device_resolve(args.device))))


if __name__ == "__main__":
    main()
