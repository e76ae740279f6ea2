"""The audio fingerprint's rates -> `audio_bench()` (bench/provenance.py writes it into
bench/results/provenance.json under `audio`).

    .venv/bin/python bench/provenance_audio.py     (prints the figures as JSON; ~1 min on 2 cores)

Originals: SCENES scenes of the built-in world (`scene_render`, 4 s at 16 kHz: the longest the
world's 4 s ambience loops allow) and the three 10 s thirds of tests/fixtures/voices/sample.wav
(phone-quality speech of two people). Copies of each, as a lookup would hear them: AAC at 24 kbit/s
mono 22.05 kHz decoded back (a second encode of a download), the volume up and down 6 dB (clipped),
and a 3 s excerpt from 0.5 s in, re-encoded too. A copy is found when `audio_agreement` says
matched and its offset is within 50 ms of the truth.

Unrelated pairs: every scene against the other scenes. The world's ambiences are hard negatives
by construction: every clip of one ambience reads a window of the SAME 4 s noise loop (and "hum" is
one steady chord), so two unrelated "room" clips usually share a stretch of identical sound at
some offset. The bench reports those pairs apart (`false_match_rate_same_ambience`) from pairs of
different ambiences, and also the rate at which a false match lands at offset 0 ± 0.25 s (what a
lookup, which checks the audio offset against the pictures' offset, would take as agreement).
Measured (60 scenes, 2 cores): copies found 0.82 after AAC 24k (hum: a steady chord with no time in
it, 0.59 over all transforms; every other sound 0.89-1.0), 1.0 after ±6 dB, 0.80 as 3 s excerpts;
speech 1.0 everywhere; false matches 2.0 % across ambiences, 0 % between speech thirds, 78 % within
one ambience (shared loop) but 4.2 % at offset 0; 436 bytes and 1.4 ms a second of sound.
The two speech thirds against each other are unrelated too (same voices, different words).
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation.builtin import world  # noqa: E402
from mediakit.sampling import AUDIO_RATE, mono_16k  # noqa: E402
from provenance.audio import AudioVote, audio_agreement, audio_print  # noqa: E402

SCENES = 60
SECONDS = 4.0
EXCERPT = (0.5, 3.5)
SPEECH = ROOT / "tests" / "fixtures" / "voices" / "sample.wav"


def world_sounds(count: int, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """(ambience, 4 s of 16 kHz sound) for `count` random scenes of the built-in world."""
    rng = np.random.default_rng(seed)
    sounds = []
    for _ in range(count):
        scene = world.scene_sample(rng)
        rendered = world.scene_render(scene, rng, frames=round(SECONDS * 8), size=16, fps=8.0)
        sounds.append((world.BACKGROUNDS[scene.background].ambience, rendered.audio))
    return sounds


def speech_thirds() -> list[np.ndarray]:
    from scipy.io import wavfile

    rate, samples = wavfile.read(SPEECH)
    wav = mono_16k(samples.astype(np.float32) / 32768.0, int(rate))
    third = wav.size // 3
    return [wav[i * third : (i + 1) * third] for i in range(3)]


def aac_copy(samples: np.ndarray, *, bitrate: int = 24_000, rate: int = 22_050) -> np.ndarray:
    """The sound through AAC at a low bitrate and another sample rate, decoded back to 16 kHz."""
    wav = resample_poly(mono_16k(samples, AUDIO_RATE), rate, AUDIO_RATE).astype(np.float32)
    out = io.BytesIO()
    # MP4, not raw ADTS: its edit list tells the decoder to drop the encoder's priming samples.
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wav[None]), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        for packet in (*stream.encode(frame), *stream.encode()):
            container.mux(packet)
    out.seek(0)
    with av.open(out, "r") as container:
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    return mono_16k(np.concatenate(chunks), rate)


def copies(samples: np.ndarray) -> dict[str, tuple[np.ndarray, float]]:
    """Each transform's copy and where it starts in the original (seconds)."""
    start, end = (round(t * AUDIO_RATE) for t in EXCERPT)
    return {
        "aac_24k": (aac_copy(samples), 0.0),
        "volume_up_6db": (np.clip(samples * 2.0, -1, 1), 0.0),
        "volume_down_6db": (samples * 0.5, 0.0),
        "excerpt_3s": (aac_copy(samples[start:end]), EXCERPT[0]),
    }


def _found(vote: AudioVote, offset_s: float) -> bool:
    return vote.matched and vote.offset_s is not None and abs(vote.offset_s - offset_s) <= 0.05


def _rate(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 4) if hits else None


def _copies_found(
    originals: list[np.ndarray], prints: list[bytes], kinds: list[str]
) -> tuple[dict[str, list[bool]], dict[str, list[bool]]]:
    """Found or not, per transform and per kind of sound (the ambience, or "speech")."""
    by_transform: dict[str, list[bool]] = {}
    by_kind: dict[str, list[bool]] = {}
    for samples, stored, kind in zip(originals, prints, kinds, strict=True):
        for name, (copy, offset_s) in copies(samples).items():
            vote = audio_agreement(audio_print(copy, AUDIO_RATE, query=True), stored)
            key = f"speech_{name}" if kind == "speech" else name
            by_transform.setdefault(key, []).append(_found(vote, offset_s))
            by_kind.setdefault(kind, []).append(_found(vote, offset_s))
    return by_transform, by_kind


def audio_bench(scenes: int = SCENES) -> dict[str, Any]:
    sounds = world_sounds(scenes)
    speech = speech_thirds()
    originals = [s for _, s in sounds] + speech
    started = time.perf_counter()
    prints = [audio_print(s, AUDIO_RATE) for s in originals]
    print_s = time.perf_counter() - started
    seconds = sum(s.size for s in originals) / AUDIO_RATE
    found, by_kind = _copies_found(originals, prints, [kind for kind, _ in sounds] + ["speech"] * len(speech))
    queries = [audio_print(s, AUDIO_RATE, query=True) for s in originals]
    same: list[bool] = []
    other: list[bool] = []
    at_zero: list[bool] = []
    scores: list[float] = []
    for i, (kind_i, _) in enumerate(sounds):
        for j, (kind_j, _) in enumerate(sounds):
            if i == j:
                continue
            vote = audio_agreement(queries[i], prints[j])
            (same if kind_i == kind_j else other).append(vote.matched)
            at_zero.append(vote.matched and vote.offset_s is not None and abs(vote.offset_s) <= 0.25)
            if kind_i != kind_j:
                scores.append(vote.score)
    speech_false = [
        audio_agreement(queries[len(sounds) + i], prints[len(sounds) + j]).matched
        for i in range(3)
        for j in range(3)
        if i != j
    ]
    return {
        "audio_match_rate": {name: _rate(hits) for name, hits in found.items()},
        "audio_match_rate_by_sound": {kind: _rate(hits) for kind, hits in sorted(by_kind.items())},
        "audio_false_match_rate_other_ambience": _rate(other),
        "audio_false_match_rate_same_ambience": _rate(same),
        "audio_false_match_rate_at_offset_0": _rate(at_zero),
        "audio_false_match_rate_speech": _rate(speech_false),
        "audio_score_p99_other_ambience": round(float(np.percentile(scores, 99)), 4),
        "audio_print_bytes_per_s": round(sum(len(p) for p in prints) / seconds, 1),
        "audio_print_ms_per_s": round(1000 * print_s / seconds, 2),
        "audio_clips": len(originals),
        "audio_unrelated_pairs": len(same) + len(other) + len(speech_false),
    }


if __name__ == "__main__":
    print(json.dumps(audio_bench(), indent=2))
