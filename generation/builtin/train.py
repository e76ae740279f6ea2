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
from typing import Any, NamedTuple

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
CHECKPOINT = "checkpoint.pt"  # in a run folder: everything a resumed run needs


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


@dataclass
class TrainState:
    """What a run carries from one step to the next; `checkpoint.pt` keeps all of it."""

    model: KinoDiT
    ema: KinoDiT
    optimiser: torch.optim.Optimizer
    step: int = 0
    seconds: float = 0.0  # training time, summed over resumes
    losses: list[tuple[int, float]] = field(default_factory=list)
    # The runs behind the weights this one started from, oldest first.
    trained_from: list[dict[str, Any]] = field(default_factory=list)


class StepLosses(NamedTuple):
    total: float
    video: float
    audio: float
    motion: float


def _state_new(mc: ModelConfig, tc: TrainConfig, device: str) -> TrainState:
    """A fresh network (seeded), its EMA copy and the optimiser."""
    torch.manual_seed(tc.seed)
    model = KinoDiT(mc).to(device)
    ema = KinoDiT(mc).to(device).requires_grad_(False)
    ema.load_state_dict(model.state_dict())
    optimiser = torch.optim.AdamW(model.parameters(), lr=tc.lr, betas=(0.9, 0.99), weight_decay=0.0)
    return TrainState(model, ema, optimiser)


def _checkpoint_resume(state: TrainState, path: Path, device: str) -> None:
    saved = torch.load(path, weights_only=False, map_location=device)
    state.model.load_state_dict(saved["model"])
    state.ema.load_state_dict(saved["ema"])
    state.optimiser.load_state_dict(saved["optimiser"])
    state.step, state.seconds, state.losses = saved["step"], saved["seconds"], saved["losses"]
    state.trained_from = saved["trained_from"]
    torch.set_rng_state(saved["torch_rng"].cpu())


def _init_from(state: TrainState, init: Path) -> None:
    """Network and EMA from the weights in `init`, grown or cut to this run's shape."""
    mc = state.model.config
    init_config, weights, info = weights_load(init)
    if init_config.depth != mc.depth:  # go on deeper
        grown = replace(init_config, depth=mc.depth)
        weights, init_config = grow_depth(weights, init_config, grown, state.model.state_dict()), grown
    if init_config.patch_t != mc.patch_t:  # go on with finer time slots
        weights = split_slots(weights, init_config, mc)
    state.model.load_state_dict(weights)
    state.ema.load_state_dict(weights)
    state.trained_from = training_stages(info)


def _state_start(config: RunConfig, out: Path, init: Path | None, device: str) -> TrainState:
    """The run's state: resumed from `out`'s checkpoint, else started from `init`, else fresh."""
    state = _state_new(config.model, config.train, device)
    checkpoint = out / CHECKPOINT
    if checkpoint.exists():
        _checkpoint_resume(state, checkpoint, device)
    elif init is not None:
        _init_from(state, init)
    return state


def _bank_load(path: Path, mc: ModelConfig, tc: TrainConfig) -> dict[str, Any]:
    """The run's caption bank: built and embedded once, then read back on every resume."""
    if path.exists():
        return torch.load(path, weights_only=False)
    encoder = TextEncoder(max_tokens=mc.text_tokens)
    bank = caption_bank(tc.bank, tc.seed, encoder, tc.motion_weights, tc.knocks)
    torch.save(bank, path)
    return bank


def _loader(bank: dict[str, Any], mc: ModelConfig, tc: TrainConfig, step: int) -> DataLoader[Batch]:
    # The stream's seed moves with the step, so a resumed run does not see the same clips again.
    clips = WorldClips(bank["scenes"], mc, tc.batch, seed=tc.seed * 1_000_003 + step)
    return DataLoader(
        clips,
        batch_size=None,
        num_workers=tc.loader_workers,
        prefetch_factor=4 if tc.loader_workers else None,
    )


def _text_condition(
    bank: dict[str, Any], index: torch.Tensor, uncond: float, device: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(word states, word mask, sentence embedding) of the drawn captions, a share `uncond` of
    them blanked for classifier-free guidance."""
    drop = torch.rand(len(index)) < uncond
    tokens = bank["tokens"][index].float().to(device)
    mask = (bank["mask"][index] & ~drop[:, None]).to(device)
    pooled = (bank["pooled"][index].float() * (~drop)[:, None]).to(device)
    return tokens, mask, pooled


def _loss_weights(
    mask: torch.Tensor, contacts: torch.Tensor, config: RunConfig, device: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel video weights [B, 1, T, H, W] (objects and contacts weigh more) and per-bin audio
    weights [B, T · bins]."""
    tc = config.train
    frame_weight, audio_weight = contact_weights(
        contacts.to(device), tc.contact_weight, config.model.bins_per_frame
    )
    weight = (1 + tc.object_weight * mask.to(device).float()) * frame_weight[:, :, None, None]
    return weight.unsqueeze(1), audio_weight


def _ema_update(state: TrainState, ema: float) -> None:
    # A short memory at first, so that the average does not cling to the random start.
    decay = min(ema, (1 + state.step) / (10 + state.step))
    with torch.no_grad():
        for p_ema, p in zip(state.ema.parameters(), state.model.parameters(), strict=True):
            p_ema.lerp_(p, 1 - decay)


def _train_step(
    state: TrainState, batch: Batch, bank: dict[str, Any], config: RunConfig, device: str
) -> StepLosses:
    """One optimiser step (and EMA update) on a batch, each clip repeated `draws` times."""
    tc = config.train
    index, video_u8, audio, mask, contacts = (x.repeat_interleave(tc.draws, dim=0) for x in batch)
    lr = learning_rate(tc, state.step)
    for group in state.optimiser.param_groups:
        group["lr"] = lr
    video = video_u8.to(device).float() / 127.5 - 1
    audio = audio.to(device)
    text = _text_condition(bank, index, tc.uncond, device)
    weight, audio_weight = _loss_weights(mask, contacts, config, device)
    loss_v, loss_a, loss_m = flow_loss(
        state.model, video, audio, text, weight, shift=tc.time_shift, audio_weight=audio_weight
    )
    loss = loss_v + loss_a + tc.motion_weight * loss_m
    state.optimiser.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(state.model.parameters(), 1.0)
    state.optimiser.step()
    _ema_update(state, tc.ema)
    state.step += 1
    return StepLosses(*(float(x.detach()) for x in (loss, loss_v, loss_a, loss_m)))


def _postfix(running: float, losses: StepLosses, seconds: float) -> dict[str, str]:
    """What the progress bar shows: the running loss, the last step's parts, the minutes so far."""
    return {
        "loss": f"{running:.4f}",
        "video": f"{losses.video:.3f}",
        "audio": f"{losses.audio:.3f}",
        "motion": f"{losses.motion:.3f}",
        "min": f"{seconds / 60:.1f}",
    }


def _save(state: TrainState, out: Path, tc: TrainConfig, device: str) -> None:
    """The checkpoint (written aside, then moved into place), the EMA weights the engine loads and
    the loss curve."""
    checkpoint = out / CHECKPOINT
    torch.save(
        {
            "model": state.model.state_dict(),
            "ema": state.ema.state_dict(),
            "optimiser": state.optimiser.state_dict(),
            "step": state.step,
            "seconds": state.seconds,
            "losses": state.losses,
            "torch_rng": torch.get_rng_state(),
            "trained_from": state.trained_from,
        },
        checkpoint.with_suffix(".tmp"),
    )
    os.replace(checkpoint.with_suffix(".tmp"), checkpoint)
    weights_save(
        state.ema,
        out,
        sampling={**SAMPLING_DEFAULTS, "shift": tc.time_shift},
        extra={
            "step": state.step,
            "train_minutes": round(state.seconds / 60, 2),
            "trained_on": torch.device(device).type,
            "trained_from": state.trained_from,
        },
    )
    loss_plot(state.losses, out / "loss.png")


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
    state = _state_start(config, out, init, device)
    bank = _bank_load(out / "bank.pt", mc, tc)
    bar = tqdm(total=tc.steps, initial=state.step, disable=quiet, desc="train", dynamic_ncols=True)
    began = time.monotonic() - state.seconds
    running = None
    for batch in _loader(bank, mc, tc, state.step):
        if state.step >= (tc.stop or tc.steps) or state.seconds >= tc.minutes * 60:
            break
        losses = _train_step(state, batch, bank, config, device)
        state.seconds = time.monotonic() - began
        state.losses.append((state.step, losses.total))
        running = losses.total if running is None else 0.98 * running + 0.02 * losses.total
        bar.update(1)
        if state.step % log_every == 0:
            bar.set_postfix(_postfix(running, losses, state.seconds))
        if state.step % tc.save_every == 0:
            _save(state, out, tc, device)
    _save(state, out, tc, device)
    bar.close()
    return {
        "step": state.step,
        "train_minutes": state.seconds / 60,
        "loss": running,
        "params": sum(p.numel() for p in state.model.parameters()),
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
