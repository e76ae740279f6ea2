"""provenance.audio: copies of a sound agree with it at the right offset; other sounds do not."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from scipy.io import wavfile
from scipy.signal import resample_poly

from generation.builtin import world
from mediakit.sampling import AUDIO_RATE, mono_16k
from provenance.audio import FRAME_S, audio_agreement, audio_print, audio_unpack

SPEECH = Path(__file__).resolve().parent.parent / "fixtures" / "voices" / "sample.wav"


def _scene_sound(background: str, seed: int, motion: str = "bounce") -> np.ndarray:
    """4 s of a built-in world scene's sound at 16 kHz."""
    scene = world.Scene("red", "ball", motion, background, speed="quickly")
    return world.scene_render(scene, np.random.default_rng(seed), frames=32, size=16, fps=8.0).audio


def _speech(start_s: float, end_s: float) -> np.ndarray:
    rate, samples = wavfile.read(SPEECH)
    wav = mono_16k(samples.astype(np.float32) / 32768.0, int(rate))
    return wav[round(start_s * AUDIO_RATE) : round(end_s * AUDIO_RATE)]


def _aac(samples: np.ndarray, *, bitrate: int = 24_000, rate: int = 22_050) -> np.ndarray:
    """Through AAC at a low bitrate and another sample rate, in MP4, and back to 16 kHz."""
    wav = resample_poly(samples, rate, AUDIO_RATE).astype(np.float32)
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout, stream.bit_rate = "mono", bitrate
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wav[None]), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, 0
        for packet in (*stream.encode(frame), *stream.encode()):
            container.mux(packet)
    out.seek(0)
    with av.open(out, "r") as container:
        decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    return mono_16k(decoded, rate)


def test_a_print_is_sorted_hash_time_pairs():
    blob = audio_print(_scene_sound("field", 1), AUDIO_RATE)
    hashes, times = audio_unpack(blob)
    assert len(blob) % 8 == 0
    assert hashes.size >= 50
    assert np.all(np.diff(hashes.astype(np.int64)) >= 0)
    assert times.max() * FRAME_S <= 4.0


@pytest.mark.parametrize(
    "samples",
    [np.zeros(4 * AUDIO_RATE, np.float32), np.full(AUDIO_RATE, 1e-5, np.float32), np.zeros(100, np.float32)],
    ids=["silence", "below_-60_dbfs", "too_short"],
)
def test_silence_and_scraps_print_nothing(samples):
    assert audio_print(samples, AUDIO_RATE) == b""
    assert audio_agreement(b"", audio_print(_scene_sound("field", 1), AUDIO_RATE)).matched is False


def test_a_stereo_44k_sound_prints_like_its_16k_mono_self():
    sound = _scene_sound("beach", 2)
    stereo = np.stack([sound, sound])
    at_44k = resample_poly(stereo, 44_100, AUDIO_RATE, axis=1).astype(np.float32)
    vote = audio_agreement(audio_print(at_44k, 44_100, query=True), audio_print(sound, AUDIO_RATE))
    assert vote.matched
    assert vote.offset_s == pytest.approx(0.0, abs=0.05)


COPIES = {
    "aac_24k": lambda s: (_aac(s), 0.0),
    "volume_up_6db": lambda s: (np.clip(s * 2.0, -1, 1), 0.0),
    "volume_down_6db": lambda s: (s * 0.5, 0.0),
    "excerpt_3s": lambda s: (_aac(s[AUDIO_RATE // 2 : 7 * AUDIO_RATE // 2]), 0.5),
}


@pytest.mark.parametrize("transform", COPIES, ids=list(COPIES))
@pytest.mark.parametrize(
    "original",
    [
        pytest.param(lambda: _scene_sound("field", 3, "left"), id="world_wind"),
        pytest.param(lambda: _scene_sound("room", 4), id="world_room_bounce"),
        pytest.param(lambda: _speech(0.0, 10.0), id="speech"),
    ],
)
def test_a_copy_agrees_at_its_offset(original, transform):
    sound = original()
    copy, start_s = COPIES[transform](sound)
    vote = audio_agreement(audio_print(copy, AUDIO_RATE, query=True), audio_print(sound, AUDIO_RATE))
    assert vote.matched, vote
    assert vote.offset_s == pytest.approx(start_s, abs=0.05)
    assert vote.score >= 0.12


def test_an_excerpt_late_in_a_long_clip_is_placed():
    long = _speech(0.0, 30.0)
    vote = audio_agreement(
        audio_print(_aac(long[20 * AUDIO_RATE : 23 * AUDIO_RATE]), AUDIO_RATE, query=True),
        audio_print(long, AUDIO_RATE),
    )
    assert vote.matched
    assert vote.offset_s == pytest.approx(20.0, abs=0.05)


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        pytest.param(
            lambda: _scene_sound("field", 5, "left"), lambda: _scene_sound("beach", 6), id="wind_vs_waves"
        ),
        pytest.param(
            lambda: _scene_sound("night", 7), lambda: _scene_sound("room", 8), id="crickets_vs_room"
        ),
        pytest.param(lambda: _speech(0.0, 10.0), lambda: _speech(10.0, 20.0), id="same_voices_other_words"),
        pytest.param(lambda: _speech(0.0, 10.0), lambda: _scene_sound("field", 9), id="speech_vs_wind"),
    ],
)
def test_unrelated_sounds_do_not_agree(query, stored):
    vote = audio_agreement(audio_print(query(), AUDIO_RATE, query=True), audio_print(stored(), AUDIO_RATE))
    assert not vote.matched, vote
    assert vote.score < 0.12


def test_a_copy_of_one_scene_prefers_its_own_print_over_a_same_ambience_scene():
    """The world's same-ambience clips share one noise loop (hard negatives): the original still wins."""
    sound, other = _scene_sound("room", 10), _scene_sound("room", 11)
    query = audio_print(_aac(sound), AUDIO_RATE, query=True)
    own = audio_agreement(query, audio_print(sound, AUDIO_RATE))
    theirs = audio_agreement(query, audio_print(other, AUDIO_RATE))
    assert own.matched
    assert own.score > theirs.score
