"""Voices: resemblyzer utterance embeddings of speech, windows of a clip's voice track, and matching
against the registered figures' voice samples in pgvector (cosine).

The encoder (a 3-layer LSTM over 40-band mel frames, 256-d L2-normed output) loads once per process
from the weights its wheel ships, on the CPU. Speech is found with WebRTC's VAD the way resemblyzer's
own preprocessing does it, but keeping the mask on the clip's timeline so that a window knows when it
was spoken.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import pickle
import threading
from math import gcd
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import av
import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from pgvector.django import CosineDistance
from scipy.ndimage import binary_dilation
from scipy.signal import resample_poly

from moderation.likeness.loader import ScreeningUnavailable
from moderation.models import FigureVoice, PublicFigure

if TYPE_CHECKING:
    from resemblyzer import VoiceEncoder

logger = logging.getLogger(__name__)

RATE = 16_000  # resemblyzer's sampling rate
VAD_WINDOW = 480  # 30 ms at 16 kHz: one WebRTC VAD decision
VAD_SMOOTHING = 8  # windows averaged before a decision counts (resemblyzer's hparams)
VAD_MAX_SILENCE = 6  # silent windows kept around speech (resemblyzer's hparams)
TARGET_DBFS = -30.0  # quiet speech is raised to this loudness before the VAD (resemblyzer's hparams)
SILENCE_RMS = 1e-4  # below this the signal is silence: nothing to normalise
LOUDNESS_FRAME = 160  # 10 ms at 16 kHz
# A whole sample whose loudness varies less than this is no speech (a tone, a hiss); clip windows are
# not held to it, so that speech over a steady background is still heard.
MIN_LOUDNESS_SPREAD_DB = 3.0
SAMPLE_MAX_BYTES = 20 * 1024 * 1024
SAMPLE_MAX_S = 600


class VoiceModelUnavailable(ScreeningUnavailable):
    """The voice encoder could not be loaded; screening must fail closed."""


_encoder_lock = threading.Lock()
_encoder: tuple[Path, VoiceEncoder] | None = None  # (weights it was loaded from, the encoder)


def voice_weights() -> Path:
    """MODERATION_VOICE_MODEL_PATH, or the `pretrained.pt` the resemblyzer wheel ships (located by
    its import spec, so that nothing heavy is imported to find it)."""
    if settings.MODERATION_VOICE_MODEL_PATH:
        return Path(settings.MODERATION_VOICE_MODEL_PATH)
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise VoiceModelUnavailable("the resemblyzer package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"


def voice_encoder() -> VoiceEncoder:
    """The process's one encoder, loaded on first use (CPU); VoiceModelUnavailable when it cannot be."""
    global _encoder  # the one model per process
    weights = voice_weights()
    loaded = _encoder
    if loaded is not None and loaded[0] == weights:
        return loaded[1]
    with _encoder_lock:
        if _encoder is None or _encoder[0] != weights:
            _encoder = (weights, _load(weights))
            logger.info("moderation.voice_model_loaded", extra={"weights": str(weights)})
        return _encoder[1]


def _load(weights: Path) -> VoiceEncoder:
    # resemblyzer raises a bare Exception for a missing file: looked for here first.
    if not weights.is_file():
        raise VoiceModelUnavailable(f"voice model file missing: {weights}")
    try:
        from resemblyzer import VoiceEncoder  # heavy (torch, librosa)

        return VoiceEncoder("cpu", verbose=False, weights_fpath=weights)
    except (ImportError, OSError, RuntimeError, KeyError, ValueError, pickle.UnpicklingError) as error:
        logger.error(
            "moderation.voice_model_unavailable", extra={"weights": str(weights), "error": str(error)}
        )
        raise VoiceModelUnavailable(f"voice model could not be loaded: {error}") from error


def voice_model_status() -> dict[str, Any]:
    """For /healthz: whether the voice encoder's weights are where it will load them from, without
    loading it (torch has no business in a web process that never screens a clip)."""
    try:
        weights = voice_weights()
    except VoiceModelUnavailable as error:
        return {"ok": False, "error": "voice_model_unavailable", "detail": str(error)}
    if not weights.is_file() or weights.stat().st_size == 0:
        return {"ok": False, "error": "voice_model_unavailable", "detail": f"missing {weights}"}
    return {"ok": True, "loaded": _encoder is not None and _encoder[0] == weights}


def _mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """float32 mono at 16 kHz; [C, N] or [N] in."""
    wav = np.asarray(samples, dtype=np.float32)
    if wav.ndim == 2:  # [channels, samples]
        wav = wav.mean(axis=0)
    if sample_rate != RATE:
        common = gcd(int(sample_rate), RATE)
        wav = resample_poly(wav, RATE // common, int(sample_rate) // common).astype(np.float32)
    return np.clip(np.nan_to_num(wav), -1.0, 1.0)


def _normalised(wav: np.ndarray) -> np.ndarray | None:
    """Quiet speech raised to TARGET_DBFS (never lowered); None for silence."""
    rms = float(np.sqrt(np.mean(wav.astype(np.float64) ** 2))) if wav.size else 0.0
    if rms < SILENCE_RMS:
        return None
    gain = 10 ** ((TARGET_DBFS - 20 * np.log10(rms)) / 20)
    return wav * gain if gain > 1 else wav


def _speech_masks(wav: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per 30 ms window: (speech, kept). `speech` is the smoothed VAD decision, `kept` adds the short
    silences around it that resemblyzer keeps in an utterance."""
    import webrtcvad  # only where speech is read

    count = len(wav) // VAD_WINDOW
    pcm = (np.clip(wav[: count * VAD_WINDOW], -1.0, 1.0) * 32767).round().astype("<i2").tobytes()
    vad = webrtcvad.Vad(3)
    step = VAD_WINDOW * 2
    flags = np.array([vad.is_speech(pcm[i * step : (i + 1) * step], RATE) for i in range(count)], dtype=float)
    if not count:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    padded = np.concatenate((np.zeros((VAD_SMOOTHING - 1) // 2), flags, np.zeros(VAD_SMOOTHING // 2)))
    speech = np.convolve(padded, np.ones(VAD_SMOOTHING) / VAD_SMOOTHING, mode="valid").round().astype(bool)
    kept = binary_dilation(speech, np.ones(VAD_MAX_SILENCE + 1))
    return speech, kept


def _voiced(wav: np.ndarray, speech: np.ndarray, kept: np.ndarray, first: int, last: int) -> Any:
    """The kept samples of the VAD windows [first, last), or None with too little speech in them."""
    min_windows = settings.MODERATION_VOICE_MIN_SPEECH_S * RATE / VAD_WINDOW
    if speech[first:last].sum() < min_windows:
        return None
    keep = np.repeat(kept[first:last], VAD_WINDOW)
    return wav[first * VAD_WINDOW : last * VAD_WINDOW][keep].astype(np.float32)


def _embed_many(utterances: list[np.ndarray]) -> list[np.ndarray]:
    """resemblyzer's `embed_utterance` for several utterances in one forward pass: the LSTM's cost is
    its 160 sequential steps, so one batch of every partial costs about what one utterance does."""
    import torch  # heavy, loaded with the encoder
    from resemblyzer import audio

    encoder = voice_encoder()
    mels: list[np.ndarray] = []
    counts: list[int] = []
    for wav in utterances:
        wav_slices, mel_slices = encoder.compute_partial_slices(len(wav), rate=1.3, min_coverage=0.75)
        padded = np.pad(wav, (0, max(0, wav_slices[-1].stop - len(wav))))
        mel = audio.wav_to_mel_spectrogram(padded)
        mels.extend(mel[s] for s in mel_slices)
        counts.append(len(mel_slices))
    if not mels:
        return []
    # Each of the LSTM's 160 steps is a small matrix product: on one thread a 10 s track takes about
    # 0.2 s of CPU; shared out over threads that other processes want too, 7x the CPU and 6x the
    # wall time on a busy 2-core machine (measured). Restored after, as moderation.text.embed does.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            partials = encoder(torch.from_numpy(np.stack(mels))).numpy()
    finally:
        torch.set_num_threads(threads)
    embeddings = []
    for group in np.split(partials, np.cumsum(counts)[:-1]):
        mean = group.mean(axis=0)
        embeddings.append((mean / np.linalg.norm(mean)).astype(np.float32))
    return embeddings


def voice_embed(samples: np.ndarray, sample_rate: int) -> np.ndarray | None:
    """One 256-d L2-normed embedding of all the speech in `samples` (float32, mono [N] or [C, N]);
    None when there is less than MODERATION_VOICE_MIN_SPEECH_S of speech, or it is a steady sound."""
    wav = _normalised(_mono_16k(samples, sample_rate))
    if wav is None:
        return None
    speech, kept = _speech_masks(wav)
    voiced = _voiced(wav, speech, kept, 0, len(speech))
    if voiced is None or _loudness_spread_db(voiced) < MIN_LOUDNESS_SPREAD_DB:
        return None
    return _embed_many([voiced])[0]


def _loudness_spread_db(wav: np.ndarray) -> float:
    """The standard deviation of the 10 ms frames' loudness (dB). Speech rises and falls with its
    syllables and pauses (6-13 dB in the fixtures' and the meeting set's pieces); a steady tone or
    hiss, which WebRTC's VAD takes for speech once it is loud enough, stays within a dB."""
    frames = len(wav) // LOUDNESS_FRAME
    if frames < 2:  # a spread needs two frames
        return 0.0
    power = (wav[: frames * LOUDNESS_FRAME].astype(np.float64).reshape(frames, -1) ** 2).mean(axis=1)
    return float(np.std(10 * np.log10(power + 1e-10)))


def voice_segments(samples: np.ndarray, sample_rate: int) -> list[tuple[float, float, np.ndarray]]:
    """(start s, end s, embedding) for each window of MODERATION_VOICE_WINDOW_S, every
    MODERATION_VOICE_HOP_S, that holds enough speech; a track shorter than a window is one window.
    A clip's voice track is matched window by window so that a figure's voice among others is found."""
    wav = _normalised(_mono_16k(samples, sample_rate))
    if wav is None:
        return []
    speech, kept = _speech_masks(wav)
    per_second = RATE / VAD_WINDOW
    size = max(1, round(settings.MODERATION_VOICE_WINDOW_S * per_second))
    hop = max(1, round(settings.MODERATION_VOICE_HOP_S * per_second))
    starts = list(range(0, max(1, len(speech) - size + 1), hop))
    if starts[-1] + size < len(speech):  # the tail gets a window too
        starts.append(len(speech) - size)
    spans, utterances = [], []
    for first in starts:
        last = min(len(speech), first + size)
        voiced = _voiced(wav, speech, kept, first, last)
        if voiced is not None:
            spans.append((first / per_second, last / per_second))
            utterances.append(voiced)
    return [(start, end, e) for (start, end), e in zip(spans, _embed_many(utterances), strict=True)]


def audio_decode(data: bytes) -> np.ndarray:
    """Any audio file PyAV (FFmpeg) reads, as float32 mono at 16 kHz; ValidationError otherwise."""
    if len(data) > SAMPLE_MAX_BYTES:
        raise ValidationError(f"This audio file is larger than {SAMPLE_MAX_BYTES // (1024 * 1024)} MB.")
    chunks: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise ValidationError("This file has no audio track.")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
            for frame in container.decode(container.streams.audio[0]):
                chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
                if sum(len(c) for c in chunks) > SAMPLE_MAX_S * RATE:
                    raise ValidationError(f"This recording is longer than {SAMPLE_MAX_S // 60} minutes.")
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    except (av.FFmpegError, ValueError) as error:
        raise ValidationError("This file could not be read as audio.") from error
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)


@transaction.atomic
def figure_voice_add(*, figure: PublicFigure, audio: bytes, filename: str) -> FigureVoice:
    """Register a voice sample of `figure`: decoded, its speech embedded, the file kept.
    Refuses (ValidationError) a file that is not audio or holds too little speech."""
    samples = audio_decode(audio)
    embedding = voice_embed(samples, RATE)
    if embedding is None:
        raise ValidationError(
            "This recording has too little speech to recognise a voice "
            f"(at least {settings.MODERATION_VOICE_MIN_SPEECH_S:g} s of clear speech is needed)."
        )
    voice = FigureVoice(figure=figure, embedding=embedding.tolist())
    voice.sample.save(filename, ContentFile(audio), save=False)
    voice.save()
    logger.info(
        "moderation.figure_voice_added", extra={"figure_id": str(figure.id), "voice_id": str(voice.id)}
    )
    return voice


def voice_match(
    embedding: np.ndarray, *, allowed_cameo_ids: frozenset[UUID] = frozenset()
) -> list[tuple[UUID, float]]:
    """(figure id, cosine similarity) of each blocking figure with a voice sample at or above
    MODERATION_VOICE_MATCH_SIMILARITY, best first; a figure whose own cameo is among
    `allowed_cameo_ids` does not block."""
    threshold = settings.MODERATION_VOICE_MATCH_SIMILARITY
    blocking = Q(figure__active=True) & (
        Q(figure__status=PublicFigure.Status.LIVING) | Q(figure__estate_block=True)
    )
    rows = (
        FigureVoice.objects.filter(blocking)
        .exclude(figure__allowed_cameo_id__in=list(allowed_cameo_ids))
        .annotate(distance=CosineDistance("embedding", np.asarray(embedding, dtype=np.float32)))
        .filter(distance__lte=1.0 - threshold)
        .order_by("distance")
        .values_list("figure_id", "distance")
    )
    # No LIMIT: an HNSW scan under this filter is approximate and could miss a match; an exact scan
    # of a few thousand 256-d vectors is still milliseconds.
    best: dict[UUID, float] = {}
    for figure_id, distance in rows:
        best.setdefault(figure_id, 1.0 - float(distance))
    return list(best.items())
