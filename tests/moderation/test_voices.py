"""Voices: one of the two real speakers of tests/fixtures/voices (a telephone conversation, see its
README) is registered as a public figure from some of her turns; her other turns are blocked (as an
embedding and as a rendered clip's voice track), the other speaker's are not, at the calibrated
MODERATION_VOICE_MATCH_SIMILARITY (bench/moderation.py measures the error rates behind it). Samples
with too little speech, or that are no audio at all, are refused with a message."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.core.exceptions import ValidationError

from mediakit import Clip
from moderation.likeness.voices import (
    VoiceModelUnavailable,
    figure_voice_add,
    voice_embed,
    voice_match,
    voice_model_status,
    voice_segments,
)
from moderation.models import AuditEntry, FigureVoice, PublicFigure
from moderation.public import ScreeningUnavailable, clip_screen

pytestmark = pytest.mark.django_db

VOICES = Path(__file__).resolve().parent.parent / "fixtures" / "voices"
RATE = 16_000
# Stretches where only one speaker talks, from sample.rttm (its turns less the other speaker's).
DIANE_ENROL = [(11.03, 14.49), (28.5, 30.0)]  # speaker90: what the registry hears
DIANE_OTHER = [(8.35, 9.92), (18.59, 21.49)]  # speaker90: never registered
SHEILA = [(14.70, 17.92), (21.78, 24.78), (24.78, 27.85)]  # speaker91


@pytest.fixture(scope="module")
def wav() -> np.ndarray:
    samples, rate = sf.read(VOICES / "sample.wav", dtype="float32")
    assert rate == RATE
    return samples


def turns() -> list[tuple[float, float, str]]:
    rows = [line.split() for line in (VOICES / "sample.rttm").read_text().splitlines() if line.strip()]
    return [(float(r[3]), float(r[3]) + float(r[4]), r[7]) for r in rows]


def cut(wav: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    return np.concatenate([wav[int(start * RATE) : int(end * RATE)] for start, end in spans])


def wav_bytes(samples: np.ndarray, fmt: str = "WAV") -> bytes:
    out = io.BytesIO()
    sf.write(out, samples, RATE, format=fmt)
    return out.getvalue()


def clip_with(audio: np.ndarray) -> Clip:
    """A rendered clip (plain grey frames, no face) whose voice track is `audio`."""
    seconds = len(audio) / RATE
    frames = np.full((max(1, int(seconds * 4)), 96, 96, 3), 128, dtype=np.uint8)
    return Clip(frames=frames, fps=4.0, audio=audio[None, :].astype(np.float32), sample_rate=RATE)


@pytest.fixture
def diane(wav: np.ndarray) -> PublicFigure:
    figure = PublicFigure.objects.create(name="Diane (speaker90)")
    figure_voice_add(figure=figure, audio=wav_bytes(cut(wav, DIANE_ENROL)), filename="diane.wav")
    return figure


def test_the_spans_are_one_speaker_each() -> None:
    """The hand-picked spans lie inside their speaker's turns and outside the other's."""
    for spans, speaker in ((DIANE_ENROL + DIANE_OTHER, "speaker90"), (SHEILA, "speaker91")):
        for start, end in spans:
            assert any(s <= start and end <= e for s, e, who in turns() if who == speaker)
            assert not any(s < end and start < e for s, e, who in turns() if who != speaker)


def test_a_sample_is_embedded_on_registration(diane: PublicFigure) -> None:
    voice = FigureVoice.objects.get(figure=diane)
    assert len(voice.embedding) == 256
    assert np.linalg.norm(np.asarray(voice.embedding)) == pytest.approx(1.0, abs=1e-4)
    assert str(voice.sample.name).endswith(".wav")
    assert voice.sample.read()[:4] == b"RIFF"


@pytest.mark.parametrize("span", DIANE_OTHER, ids=lambda s: f"diane-{s[0]}s")
def test_the_figures_other_speech_matches(diane: PublicFigure, wav: np.ndarray, span) -> None:
    embedding = voice_embed(cut(wav, [span]), RATE)
    assert embedding is not None
    assert [figure_id for figure_id, _ in voice_match(embedding)] == [diane.id]


@pytest.mark.parametrize("span", SHEILA, ids=lambda s: f"sheila-{s[0]}s")
def test_the_other_speaker_does_not_match(diane: PublicFigure, wav: np.ndarray, span) -> None:
    embedding = voice_embed(cut(wav, [span]), RATE)
    assert embedding is not None
    assert voice_match(embedding) == []


def test_stereo_48k_is_heard_as_mono_16k(wav: np.ndarray) -> None:
    from scipy.signal import resample_poly

    mono = cut(wav, DIANE_ENROL)
    stereo = resample_poly(np.stack([mono, 0.5 * mono]), 3, 1, axis=1).astype(np.float32)
    here, there = voice_embed(mono, RATE), voice_embed(stereo, 48_000)
    assert here is not None
    assert there is not None
    assert float(here @ there) > 0.98


def test_a_clip_with_the_figures_voice_is_blocked(diane: PublicFigure, wav: np.ndarray) -> None:
    verdict = clip_screen(clip_with(cut(wav, [DIANE_OTHER[1]])))
    assert verdict.blocked
    assert verdict.error is not None
    assert verdict.error.code == "likeness_public_figure"
    voice_hits = [m for m in verdict.matches if m.kind == "voice"]
    assert voice_hits
    assert {m.figure_id for m in voice_hits} == {diane.id}
    assert all(m.time_s is not None and m.end_s is not None for m in voice_hits)


def test_a_clip_with_the_other_speakers_voice_passes(diane: PublicFigure, wav: np.ndarray) -> None:
    verdict = clip_screen(clip_with(cut(wav, SHEILA[1:])))
    assert not verdict.blocked
    assert verdict.voice_windows >= 2


def test_the_figures_voice_among_others_in_a_long_track_is_found(
    diane: PublicFigure, wav: np.ndarray
) -> None:
    """The whole 30 s conversation: windows while Diane speaks match, windows of Sheila alone do not."""
    segments = voice_segments(wav, RATE)
    matched = [(start, end) for start, end, e in segments if voice_match(e)]
    assert any(start >= 18.0 and end <= 21.6 for start, end in matched)
    assert not any(start >= 21.78 and end <= 27.85 for start, end in matched)


def test_a_deceased_figure_without_an_estate_block_does_not_block(
    diane: PublicFigure, wav: np.ndarray
) -> None:
    embedding = voice_embed(cut(wav, [DIANE_OTHER[0]]), RATE)
    assert embedding is not None
    diane.status = PublicFigure.Status.DECEASED
    diane.save(update_fields=["status"])
    assert voice_match(embedding) == []
    diane.estate_block = True
    diane.save(update_fields=["estate_block"])
    assert [figure_id for figure_id, _ in voice_match(embedding)] == [diane.id]


def test_a_figures_own_allowed_cameo_does_not_block(diane: PublicFigure, wav: np.ndarray) -> None:
    cameo_id = uuid.uuid4()
    diane.allowed_cameo_id = cameo_id
    diane.save(update_fields=["allowed_cameo_id"])
    embedding = voice_embed(cut(wav, [DIANE_OTHER[0]]), RATE)
    assert embedding is not None
    assert voice_match(embedding, allowed_cameo_ids=frozenset({cameo_id})) == []
    assert voice_match(embedding, allowed_cameo_ids=frozenset({uuid.uuid4()})) != []


@pytest.mark.parametrize(
    "audio",
    [
        pytest.param(lambda wav: np.zeros(3 * RATE, dtype=np.float32), id="silence"),
        pytest.param(lambda wav: cut(wav, [(6.69, 7.12)]), id="a-word"),
        pytest.param(
            lambda wav: (0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * RATE) / RATE)).astype(np.float32),
            id="a-tone",
        ),
        pytest.param(
            lambda wav: (0.1 * np.random.default_rng(1).standard_normal(3 * RATE)).astype(np.float32),
            id="hiss",
        ),
    ],
)
def test_too_little_speech_is_refused(wav: np.ndarray, audio) -> None:
    figure = PublicFigure.objects.create(name="Someone")
    with pytest.raises(ValidationError, match="too little speech"):
        figure_voice_add(figure=figure, audio=wav_bytes(audio(wav)), filename="short.wav")
    assert not FigureVoice.objects.exists()


def test_other_audio_formats_are_read(wav: np.ndarray) -> None:
    figure = PublicFigure.objects.create(name="Diane again")
    figure_voice_add(figure=figure, audio=wav_bytes(cut(wav, DIANE_ENROL), fmt="FLAC"), filename="d.flac")
    assert FigureVoice.objects.filter(figure=figure).count() == 1


@pytest.mark.parametrize("data", [b"", b"not audio at all" * 100, b"RIFF\x00\x00\x00\x00WAVEfmt "], ids=str)
def test_what_is_not_audio_is_refused(data: bytes) -> None:
    figure = PublicFigure.objects.create(name="Someone")
    with pytest.raises(ValidationError):
        figure_voice_add(figure=figure, audio=data, filename="x.wav")
    assert not FigureVoice.objects.exists()


def test_the_voice_model_is_reported_ready_without_loading_it() -> None:
    status = voice_model_status()
    assert status["ok"] is True


@pytest.mark.parametrize("damage", ["missing", "not-a-model"])
def test_an_unloadable_voice_model_fails_closed(
    diane: PublicFigure, wav: np.ndarray, settings, tmp_path: Path, damage: str
) -> None:
    """Given voice weights that cannot load, when a clip with speech is screened, nothing passes:
    screening is unavailable (the pipeline ends the job moderation_unavailable) and it is audited."""
    weights = tmp_path / "pretrained.pt"
    if damage == "not-a-model":
        weights.write_bytes(b"not a model" * 100)
    settings.MODERATION_VOICE_MODEL_PATH = str(weights)
    assert voice_model_status()["ok"] is (damage == "not-a-model")  # present, but does not load
    with pytest.raises(VoiceModelUnavailable):
        voice_embed(cut(wav, SHEILA[:1]), RATE)
    with pytest.raises(ScreeningUnavailable):
        clip_screen(clip_with(cut(wav, SHEILA[1:])), subject_kind="job", subject_id=diane.id)
    audited = AuditEntry.objects.get(subject_id=str(diane.id), action="screen.clip")
    assert audited.reason_code == "moderation_unavailable"
