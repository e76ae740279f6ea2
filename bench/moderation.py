"""Moderation's figures -> bench/results/moderation.json.

    .venv/bin/python bench/moderation.py            (about 5 minutes on 2 cores)

- `screen_10s_720p_s`: `clip_screen` of a 10 s 1280x720 clip at 24 fps with three faces that move,
  grow and change light, over 10 s of a real two-speaker conversation at 48 kHz stereo: faces at
  2 fps and the voice track, against a registry of 26 figures (24 faces, one voice). The median of
  several runs after a warm-up (wall and CPU seconds: the machine may be shared), and in the same
  run its parts alone: sampling only (frames and the 16 kHz mono track), face detection and
  descriptors only, voice windows only; and the same clip with its faces still (a still face is
  described once). Target (issue 22): <= 2 s on 2 cores.
- `face_same_person_recall` / `face_false_match_rate`: dlib descriptors at MODERATION_FACE_MATCH_DISTANCE.
  Every photograph is registered as found (its original); probes are every photograph as found and
  under six transforms (mirrored, cropped, scaled down, scaled up, JPEG q30, all at once). A
  genuine pair is a registered photo and a probe of the same person (its own transforms, or another
  photograph of that person); an impostor pair, of two people. A probe in which no face is found
  counts as a miss. Photos: the fixtures (tests/fixtures/faces) and bench/data/faces (its README
  says where each comes from). Pairs share people, so beside the pair-level Wilson intervals the
  rate over pairs of people (any false match between two people counts once) is given too.
- `voice_eer`: resemblyzer embeddings of 1.5 s pieces where one speaker alone talks, every pair of
  pieces within a set: the fixture conversation (tests/fixtures/voices: 2 speakers, telephone) and
  AMI meeting recordings (bench/data/voices: 14 speakers; its README says where they come from);
  `voice_enrolled`: the registry's way, each piece against its speaker's other pieces embedded
  together (what a registered sample is) and against the other speakers' pieces, with the error
  rates at MODERATION_VOICE_MATCH_SIMILARITY.
- `text_policy` and `adversarial_block_rate`: `moderation.text.evaluate.text_policy_evaluate()` on
  the held-out labelled set.

Its own database (kino_modbench, made afresh) and Redis database 13 (bench/fresh.py); `--only
faces,voices,text,screen` measures some parts only and writes nothing.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.fresh import fresh_environment  # noqa: E402  (after the path)

RESULTS = ROOT / "bench" / "results" / "moderation.json"
DATABASE = "kino_modbench"
REDIS_DB = 13
FIXTURE_FACES = ROOT / "tests" / "fixtures" / "faces"
FOUND_FACES = ROOT / "bench" / "data" / "faces"
VOICES = ROOT / "tests" / "fixtures" / "voices"
MEETING_VOICES = ROOT / "bench" / "data" / "voices"
PARTS = ("faces", "voices", "text", "screen")
RATE = 16_000
CHUNK_S = 1.5  # the stretches of one speaker the voice pairs are made of
MIN_CHUNK_S = 1.2
SCREEN_RUNS = 5

# The fixtures' faces (left, top, right, bottom), from tests/fixtures/faces/README.md.
T1_BOXES = [
    (1118, 283, 1226, 390),
    (67, 283, 175, 390),
    (724, 367, 832, 474),
    (450, 295, 557, 402),
    (870, 67, 999, 196),
    (275, 176, 364, 265),
]
ASTRONAUT_FACE = (175, 76, 265, 166)


def wilson(successes: int, n: int, z: float = 1.96) -> list[float]:
    """The Wilson score interval of a proportion (95 % by default)."""
    if n == 0:
        return [0.0, 1.0]
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def rate(successes: int, n: int) -> dict[str, Any]:
    return {
        "rate": round(successes / n, 4) if n else None,
        "ci95": wilson(successes, n),
        "k": successes,
        "n": n,
    }


# --- faces ----------------------------------------------------------------------------


def crop(picture: Image.Image, box: tuple[int, int, int, int], margin: float = 0.5) -> Image.Image:
    left, top, right, bottom = box
    pad = round((right - left) * margin)
    return picture.crop(
        (
            max(0, left - pad),
            max(0, top - pad),
            min(picture.width, right + pad),
            min(picture.height, bottom + pad),
        )
    )


def face_photos() -> list[tuple[str, str, Image.Image]]:
    """(person, photo, picture) of every photograph, each cut around its one person."""
    photos = [("tom_hanks", "a", Image.open(FIXTURE_FACES / "Tom_Hanks_54745.png").convert("RGB"))]
    astronaut = Image.open(FIXTURE_FACES / "astronaut.png").convert("RGB")
    photos.append(("eileen_collins", "a", crop(astronaut, ASTRONAUT_FACE)))
    group = Image.open(FIXTURE_FACES / "t1.jpg").convert("RGB")
    photos += [(f"t1_person_{i}", "a", crop(group, box)) for i, box in enumerate(T1_BOXES)]
    for path in sorted(FOUND_FACES.glob("*.jpg")):
        person, photo = path.stem.split("__")
        photos.append((person, photo, Image.open(path).convert("RGB")))
    return photos


def jpeg(picture: Image.Image, quality: int) -> Image.Image:
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def _crop_share(picture: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    width, height = picture.size
    return picture.crop((int(width * left), int(height * top), int(width * right), int(height * bottom)))


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "mirrored": ImageOps.mirror,
    "cropped": lambda p: _crop_share(p, 0.1, 0.05, 0.9, 0.95),
    "scaled_down": lambda p: p.resize((p.width * 2 // 3, p.height * 2 // 3), Image.Resampling.BILINEAR),
    "scaled_up": lambda p: p.resize((p.width * 2, p.height * 2), Image.Resampling.BICUBIC),
    "jpeg_q30": lambda p: jpeg(p, 30),
    "all_at_once": lambda p: jpeg(
        _crop_share(ImageOps.mirror(p), 0.05, 0.0, 1.0, 0.95).resize(
            (int(p.width * 0.7), int(p.height * 0.7))
        ),
        40,
    ),
}


def central_descriptor(picture: Image.Image) -> np.ndarray | None:
    """The descriptor of the face nearest the picture's centre (its person), as a start image is read."""
    from django.conf import settings

    from moderation.likeness.faces import faces_find

    faces = faces_find(
        [np.asarray(picture)],
        min_face=settings.MODERATION_IMAGE_MIN_FACE,
        threshold=settings.MODERATION_FACE_DETECT_THRESHOLD,
    )
    if not faces:
        return None
    centre = np.array([picture.width / 2, picture.height / 2])

    def off_centre(face: Any) -> float:
        left, top, right, bottom = face.box
        return float(np.linalg.norm(np.array([(left + right) / 2, (top + bottom) / 2]) - centre))

    return min(faces, key=off_centre).descriptor


def face_rates() -> dict[str, Any]:
    from django.conf import settings

    limit = settings.MODERATION_FACE_MATCH_DISTANCE
    registered: list[tuple[str, str, np.ndarray]] = []
    probes: list[tuple[str, str, str, np.ndarray | None]] = []  # person, photo, transform, descriptor
    for person, photo, picture in face_photos():
        original = central_descriptor(picture)
        probes.append((person, photo, "original", original))
        if original is not None:
            registered.append((person, photo, original))
        probes += [
            (person, photo, name, central_descriptor(how(picture))) for name, how in TRANSFORMS.items()
        ]
    genuine = {"same_photo": [0, 0], "other_photo": [0, 0]}  # [matched, pairs]
    impostor = [0, 0]
    genuine_d: list[float] = []
    impostor_d: list[float] = []
    confused: set[frozenset[str]] = set()
    for (person, photo, reference), (p_person, p_photo, transform, probe) in itertools.product(
        registered, probes
    ):
        if (person, photo, "original") == (p_person, p_photo, transform):
            continue
        distance = float(np.linalg.norm(reference - probe)) if probe is not None else math.inf
        matched = distance <= limit
        if person == p_person:
            tally = genuine["same_photo" if photo == p_photo else "other_photo"]
            tally[0] += matched
            tally[1] += 1
            genuine_d.append(distance)
        else:
            impostor[0] += matched
            impostor[1] += 1
            impostor_d.append(distance)
            if matched:
                confused.add(frozenset((person, p_person)))
    people = sorted({person for person, *_ in probes})
    person_pairs = len(people) * (len(people) - 1) // 2
    hits = genuine["same_photo"][0] + genuine["other_photo"][0]
    pairs = genuine["same_photo"][1] + genuine["other_photo"][1]
    finite_genuine = [d for d in genuine_d if math.isfinite(d)]
    return {
        "face_same_person_recall": {
            **rate(hits, pairs),
            "genuine_pairs": pairs,
            "same_photo_transformed": rate(*genuine["same_photo"]),
            "other_photo_of_the_person": rate(*genuine["other_photo"]),
            "probes_without_a_face": sum(1 for *_, d in probes if d is None),
        },
        "face_false_match_rate": {
            **rate(*impostor),
            "impostor_pairs": impostor[1],
            "people": len(people),
            "people_pairs": person_pairs,
            "people_pairs_confused": rate(len(confused), person_pairs),
            "confused": sorted("/".join(sorted(pair)) for pair in confused),
        },
        "face_match_distance": limit,
        "face_distances": {
            "genuine_p50_p95_max": _percentiles(finite_genuine, (50, 95, 100)),
            "impostor_min_p1_p5": _percentiles(impostor_d, (0, 1, 5)),
        },
        "face_threshold_sweep": {
            str(t): {
                "recall": round(float(np.mean([d <= t for d in genuine_d])), 4),
                "false_match_rate": round(float(np.mean([d <= t for d in impostor_d])), 4),
            }
            for t in (0.45, 0.5, 0.55, 0.6)
        },
        "face_photos": len({(p, ph) for p, ph, *_ in probes}),
        "face_transforms": list(TRANSFORMS),
    }


def _percentiles(values: list[float], which: tuple[int, ...]) -> list[float] | None:
    return [round(float(np.percentile(values, q)), 4) for q in which] if values else None


# --- voices ---------------------------------------------------------------------------


def speaker_turns() -> list[tuple[float, float, str]]:
    rows = [line.split() for line in (VOICES / "sample.rttm").read_text().splitlines() if line.strip()]
    return [(float(r[3]), float(r[3]) + float(r[4]), r[7]) for r in rows]


def alone_spans(turns: list[tuple[float, float, str]]) -> list[tuple[str, float, float]]:
    """Each speaker's turns less every stretch where the other one talks too."""
    spans = []
    for start, end, who in turns:
        parts = [(start, end)]
        for o_start, o_end, other in turns:
            if other != who:
                parts = [piece for a, b in parts for piece in _less(a, b, o_start, o_end)]
        spans += [(who, a, b) for a, b in parts]
    return spans


def _less(a: float, b: float, start: float, end: float) -> list[tuple[float, float]]:
    """[a, b) less [start, end)."""
    if end <= a or start >= b:
        return [(a, b)]
    return [piece for piece in ((a, start), (end, b)) if piece[1] > piece[0]]


def voice_chunks(wav: np.ndarray) -> list[tuple[str, float, float]]:
    """(speaker, start, end) of the stretches of about CHUNK_S with enough speech to embed."""
    from moderation.likeness.voices import voice_embed

    chunks = []
    for who, start, end in alone_spans(speaker_turns()):
        t = start
        while end - t >= MIN_CHUNK_S:
            stop = min(end, t + CHUNK_S) if end - (t + CHUNK_S) >= MIN_CHUNK_S else end
            if voice_embed(wav[int(t * RATE) : int(stop * RATE)], RATE) is not None:
                chunks.append((who, round(t, 2), round(stop, 2)))
            t = stop
    return chunks


def equal_error(genuine: list[float], impostor: list[float]) -> dict[str, float]:
    """The threshold where the false-reject and false-match rates meet, and their mean there."""
    best = (math.inf, 0.0, 0.0, 0.0)
    for threshold in sorted(set(genuine) | set(impostor)):
        frr = float(np.mean([g < threshold for g in genuine]))
        far = float(np.mean([i >= threshold for i in impostor]))
        if abs(frr - far) < best[0]:
            best = (abs(frr - far), threshold, frr, far)
    _, threshold, frr, far = best
    return {
        "eer": round((frr + far) / 2, 4),
        "threshold": round(threshold, 4),
        "frr": round(frr, 4),
        "far": round(far, 4),
    }


Piece = tuple[str, np.ndarray]  # (speaker, 16 kHz mono samples)


def telephone_pieces() -> list[Piece]:
    """The fixture conversation's one-speaker stretches (2 speakers, telephone quality)."""
    import soundfile

    wav, rate_hz = soundfile.read(VOICES / "sample.wav", dtype="float32")
    assert rate_hz == RATE
    return [(who, wav[int(a * RATE) : int(b * RATE)]) for who, a, b in voice_chunks(wav)]


def meeting_pieces() -> list[Piece]:
    """bench/data/voices: one-speaker stretches of AMI meeting recordings (14 speakers)."""
    import soundfile

    wav, rate_hz = soundfile.read(MEETING_VOICES / "ami_chunks.flac", dtype="float32")
    assert rate_hz == RATE
    index = json.loads((MEETING_VOICES / "ami_chunks.json").read_text())
    return [(row["speaker"], wav[row["offset"] : row["offset"] + row["samples"]]) for row in index]


def voice_scores(pieces: list[Piece]) -> dict[str, list[float]]:
    """Cosine similarities: every pair of pieces (`pairs_*`), and each piece against its speaker's
    other pieces embedded together, as a registered sample is (`enrolled_*`)."""
    from moderation.likeness.voices import voice_embed

    def embed(samples: np.ndarray) -> np.ndarray:
        embedding = voice_embed(samples, RATE)
        assert embedding is not None  # only pieces with enough speech were kept
        return embedding

    embedded = [embed(samples) for _, samples in pieces]
    scores: dict[str, list[float]] = {
        k: [] for k in ("pairs_genuine", "pairs_impostor", "enrolled_genuine", "enrolled_impostor")
    }
    for (i, (a, _)), (j, (b, _)) in itertools.combinations(enumerate(pieces), 2):
        scores["pairs_genuine" if a == b else "pairs_impostor"].append(float(embedded[i] @ embedded[j]))
    for i, (who, _) in enumerate(pieces):
        others = [samples for j, (w, samples) in enumerate(pieces) if w == who and j != i]
        if not others:
            continue
        enrolled = embed(np.concatenate(others))
        scores["enrolled_genuine"].append(float(enrolled @ embedded[i]))
        scores["enrolled_impostor"] += [
            float(enrolled @ embedded[j]) for j, (w, _) in enumerate(pieces) if w != who
        ]
    return scores


def voice_summary(scores: dict[str, list[float]], pieces: list[Piece], threshold: float) -> dict[str, Any]:
    genuine, impostor = scores["pairs_genuine"], scores["pairs_impostor"]
    e_genuine, e_impostor = scores["enrolled_genuine"], scores["enrolled_impostor"]
    return {
        "pairs": {
            **equal_error(genuine, impostor),
            "genuine_pairs": len(genuine),
            "impostor_pairs": len(impostor),
            "genuine_min_p50_max": _percentiles(genuine, (0, 50, 100)),
            "impostor_min_p50_max": _percentiles(impostor, (0, 50, 100)),
        },
        "enrolled": {
            **equal_error(e_genuine, e_impostor),
            "genuine_trials": len(e_genuine),
            "impostor_trials": len(e_impostor),
            "false_reject_at_threshold": rate(sum(g < threshold for g in e_genuine), len(e_genuine)),
            "false_match_at_threshold": rate(sum(i >= threshold for i in e_impostor), len(e_impostor)),
            "genuine_min_p50_max": _percentiles(e_genuine, (0, 50, 100)),
            "impostor_p50_p95_max": _percentiles(e_impostor, (50, 95, 100)),
        },
        "pieces": len(pieces),
        "speakers": len({who for who, _ in pieces}),
        "seconds_of_speech": round(sum(len(samples) for _, samples in pieces) / RATE, 1),
    }


def voice_rates() -> dict[str, Any]:
    from django.conf import settings

    threshold = settings.MODERATION_VOICE_MATCH_SIMILARITY
    sets = {"telephone_fixture": telephone_pieces(), "meeting_ami": meeting_pieces()}
    scored = {name: voice_scores(pieces) for name, pieces in sets.items()}
    # Pairs are made within a set only: a telephone voice against a meeting one is too easy to tell.
    pooled = {k: [x for s in scored.values() for x in s[k]] for k in next(iter(scored.values()))}
    both = voice_summary(pooled, [p for pieces in sets.values() for p in pieces], threshold)
    return {
        "voice_eer": {
            **both["pairs"],
            "piece_s": CHUNK_S,
            "pieces": both["pieces"],
            "speakers": both["speakers"],
            "per_set": {name: voice_summary(scored[name], sets[name], threshold)["pairs"] for name in sets},
        },
        "voice_enrolled": {
            **both["enrolled"],
            "similarity_threshold": threshold,
            "per_set": {
                name: voice_summary(scored[name], sets[name], threshold)["enrolled"] for name in sets
            },
        },
        "voice_sets": {
            name: {
                k: v
                for k, v in voice_summary(scored[name], sets[name], threshold).items()
                if k not in ("pairs", "enrolled")
            }
            for name in sets
        },
    }


# --- text -----------------------------------------------------------------------------


def text_rates() -> dict[str, Any]:
    from moderation.text.evaluate import text_policy_evaluate

    result = text_policy_evaluate()
    return {
        "text_policy": {
            category: {k: v[k] for k in ("precision", "recall", "n")}
            for category, v in result["categories"].items()
        },
        "adversarial_block_rate": result["adversarial_block_rate"],
        "text_details": result,
    }


# --- screening time -------------------------------------------------------------------


def registry_fill(wav: np.ndarray) -> dict[str, int]:
    """Every found photograph's person and Tom Hanks as figures (one face each), and one voice."""
    import soundfile
    from django.core.exceptions import ValidationError

    from moderation.likeness.registry import figure_face_add
    from moderation.likeness.voices import figure_voice_add
    from moderation.models import PublicFigure

    faces = refused = 0
    for path in [FIXTURE_FACES / "Tom_Hanks_54745.png", *sorted(FOUND_FACES.glob("*__a.jpg"))]:
        figure = PublicFigure.objects.create(name=path.stem.split("__")[0])
        try:
            figure_face_add(figure=figure, image=path.read_bytes(), filename=path.name)
        except ValidationError:  # a photo the registry refuses (no face found at its size)
            refused += 1
            continue
        faces += 1
    out = io.BytesIO()
    soundfile.write(out, wav[int(11.03 * RATE) : int(14.49 * RATE)], RATE, format="WAV")
    figure_voice_add(
        figure=PublicFigure.objects.create(name="speaker90"), audio=out.getvalue(), filename="s90.wav"
    )
    return {"figures": PublicFigure.objects.count(), "faces": faces, "photos_refused": refused, "voices": 1}


def frame_at(t: float, faces: list[Image.Image], background: Image.Image, *, still: bool) -> np.ndarray:
    """A 1280x720 frame at `t` s: the faces drift, grow and brighten over the clip (or stay still)."""
    frame = background.copy()
    change = 0.0 if still else t
    for i, face in enumerate(faces):
        zoom = 1.0 + 0.04 * change
        size = (int(face.width * zoom), int(face.height * zoom))
        moved = ImageEnhance.Brightness(face.resize(size, Image.Resampling.BILINEAR)).enhance(
            0.8 + 0.04 * change
        )
        frame.paste(moved, (60 + i * 420 + int(8 * change), 120 + int(6 * change * (-1) ** i)))
    return np.asarray(frame)


def screen_clip(wav: np.ndarray, *, still: bool = False) -> Any:
    """10 s, 720p, 24 fps; only the frames screening samples are drawn (the rest stay unwritten
    zero pages: 660 MB of frames would cost the machine, not the screening)."""
    from django.conf import settings
    from scipy.signal import resample_poly

    from mediakit import Clip

    fps, seconds = 24.0, 10.0
    frames = np.zeros((int(fps * seconds), 720, 1280, 3), dtype=np.uint8)
    rng = np.random.default_rng(7)
    noise = rng.integers(40, 200, (720, 1280, 3), dtype=np.uint8)
    background = Image.fromarray(noise).filter(ImageFilter.GaussianBlur(8))
    people = [
        Image.open(FIXTURE_FACES / "Tom_Hanks_54745.png").convert("RGB").resize((300, 300)),
        Image.open(FOUND_FACES / "joe_biden__a.jpg").convert("RGB"),
        Image.open(FOUND_FACES / "pyfeat_single__a.jpg").convert("RGB"),
    ]
    for t in np.arange(0.0, seconds, 1.0 / settings.MODERATION_SCREEN_FPS):
        index = round(float(t) * fps)
        frames[index] = frame_at(float(t), people, background, still=still)
    speech = wav[int(18.0 * RATE) : int(28.0 * RATE)]
    stereo = np.stack([speech, speech]) * 0.9
    audio = resample_poly(stereo, 3, 1, axis=1).astype(np.float32)  # 16 kHz -> 48 kHz
    return Clip(frames=frames, fps=fps, audio=audio, sample_rate=48_000)


def timed(work: Callable[[], Any], runs: int) -> tuple[dict[str, float], Any]:
    """Median wall and CPU seconds (this process, all its threads) of `runs` calls, and the last answer.
    On a machine other processes share, wall time waits for them; CPU time is the work itself."""
    wall, cpu, answer = [], [], None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        answer = work()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return {"wall_s": round(statistics.median(wall), 3), "cpu_s": round(statistics.median(cpu), 3)}, answer


def screen_time() -> dict[str, Any]:
    import soundfile
    from django.conf import settings

    from mediakit.sampling import audio_mono_16k, frames_at
    from moderation.likeness.faces import faces_find
    from moderation.likeness.voices import voice_match, voice_segments
    from moderation.public import clip_screen

    wav, _ = soundfile.read(VOICES / "sample.wav", dtype="float32")
    registry = registry_fill(wav)
    clip = screen_clip(wav)
    clip_screen(clip)  # warm-up: models loaded, caches filled
    load_before = round(os.getloadavg()[0], 2)
    full, verdict = timed(lambda: clip_screen(clip), SCREEN_RUNS)
    still_clip = screen_clip(wav, still=True)
    still, _ = timed(lambda: clip_screen(still_clip), SCREEN_RUNS)
    sampled, (frames, track) = timed(
        lambda: (frames_at(clip, settings.MODERATION_SCREEN_FPS), audio_mono_16k(clip)), SCREEN_RUNS
    )
    images = [frame.image for frame in frames]
    faces_s, faces = timed(
        lambda: faces_find(
            images,
            min_face=settings.MODERATION_CLIP_MIN_FACE,
            threshold=settings.MODERATION_FACE_DETECT_THRESHOLD,
        ),
        SCREEN_RUNS,
    )
    voice_s, windows = timed(lambda: [voice_match(e) for *_, e in voice_segments(track, RATE)], SCREEN_RUNS)
    return {
        "screen_10s_720p_s": {
            "median_s": full["wall_s"],
            "median_cpu_s": full["cpu_s"],
            "same_clip_faces_still": still,
            "target_s": 2.0,
            "runs": SCREEN_RUNS,
            "baseline_sampling_only": sampled,
            "faces_only": faces_s,
            "voice_only": voice_s,
            "frames_screened": verdict.frames,
            "faces_found": verdict.faces,
            "faces_found_detection_only": len(faces),
            "voice_windows": len(windows),
            "blocked": verdict.blocked,
            "matches": sorted({m.kind for m in verdict.matches}),
            "registry": registry,
            "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
        }
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only", type=lambda names: names.split(","), help=f"comma-separated: {','.join(PARTS)}"
    )
    args = parser.parse_args(argv)
    from config import embedded

    started = time.monotonic()
    fresh_environment(embedded.var_dir() / "bench-moderation", database=DATABASE, redis_db=REDIS_DB)
    import django

    django.setup()
    parts = args.only or list(PARTS)
    measure = {"faces": face_rates, "voices": voice_rates, "text": text_rates, "screen": screen_time}
    result: dict[str, Any] = {}
    for part in parts:
        part_started = time.monotonic()
        result.update(measure[part]())
        print(f"{part}: {round(time.monotonic() - part_started)} s", flush=True)
    if args.only:
        print(json.dumps(result, indent=2, default=str))
        return 0
    command = " ".join(
        [".venv/bin/python bench/moderation.py", *(argv if argv is not None else sys.argv[1:])]
    )
    result.update(
        {
            "seconds": round(time.monotonic() - started),
            "cores": os.cpu_count(),
            "date": date.today().isoformat(),
            "command": command.strip(),
        }
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str) + "\n")
    summary = ("screen_10s_720p_s", "face_same_person_recall", "face_false_match_rate", "voice_eer")
    print(json.dumps({k: result[k] for k in summary if k in result}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
