"""Provenance's numbers -> bench/results/provenance.json.

    .venv/bin/python bench/provenance.py --clips 100000 --samples 150     (the issue's run: ~2.5 h alone)
    .venv/bin/python bench/provenance.py --clips 2000 --samples 40        (a quick one)

The index: `--clips` posted clips, each a distinct draw of the built-in world (`scene_sample`,
`scene_render`: 4 s at 8 fps, drawn at 64 x 64 and scaled up to the delivered 256 x 256 as
mediakit.frames_for_phones does, the watermark burned in with one of 500 handles), fingerprinted
by `clip_prints` as the worker does and loaded with COPY; the HNSW index is built after the load
(timed: `index_build_s`). `index_mb` is the FramePrint table and its indexes, `detail.index` says
more (VideoPrint, rows, hashes per clip).

The lookups: `--samples` posted clips drawn at random, each downloaded (the posted MP4, crf 20),
transformed, encoded again (crf 23 unless said), read as the API reads an upload (`lookup_media_read`:
probed, decoded at up to 8 fps) and looked up; found = from_kino naming the right video. Transforms:
reencoded_crf38, scaled_half, cropped_10 and cropped_20 (anchored at the centre or a corner, drawn
at random), mirrored, watermark_removed (cv2.inpaint over provenance.watermark's boxes),
brightness_up / brightness_down (x1.2 / x0.8), excerpt_3s (from a random start within the first
second), still (one frame at a random time, JPEG q90). Unrelated: as many fresh draws of the same
world (never indexed; the hard case: same backgrounds, shapes and motions), posted the same way;
right = not_from_kino.

Files: the lookup compares pixels with a candidate's own MP4. Rendering and encoding 100,000 MP4s
would take hours and gigabytes the index does not need, so the bench's storage makes a clip's MP4
on first read, deterministically from its seed (the same frames its prints came from), and keeps
it; every lookup runs twice, the first pass warming that storage, the second timed: the timed
`lookup` call includes hashing the decoded upload, the pgvector search, reading the candidates'
MP4 bytes from memory, decoding them and the pixel checks; not the upload's decoding.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "provenance.json"
DATABASE = "kino_provbench"
REDIS_DB = 13
NATIVE = 64  # the world is drawn this size, then scaled up to the delivered 256
FPS = 8.0
FRAMES = 32
HANDLES = 500
UNRELATED_SEED = 50_000_000
TRANSFORMS = (
    "reencoded_crf38",
    "scaled_half",
    "cropped_10",
    "cropped_20",
    "mirrored",
    "watermark_removed",
    "brightness_up",
    "brightness_down",
    "excerpt_3s",
    "still",
)
# (key in the file, or "" to merge the part's keys in; module; function)
PARTS = (
    ("", "bench.provenance_c2pa", "c2pa_bench"),
    ("", "bench.provenance_watermark", "watermark_bench"),
    ("audio", "bench.provenance_audio", "audio_bench"),
)


def handle_of(index: int) -> str:
    return f"maker{index % HANDLES}"


def video_id_of(index: int) -> UUID:
    return UUID(int=index + 1)


def posted(index: int, every: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Clip `index` as posted: (frames uint8 [32 / every, 256, 256, 3] with the watermark, sound [N] at
    16 kHz). `every`: keep one frame in so many (the marks and pixels of those frames are the same as
    in the whole clip: the watermark's place depends on the time only)."""
    from generation.builtin.world import scene_render, scene_sample
    from mediakit.encode import frames_for_phones
    from provenance.watermark import watermark_burn

    rng = np.random.default_rng(index)
    rendered = scene_render(scene_sample(rng), rng, frames=FRAMES, size=NATIVE, fps=FPS)
    frames = frames_for_phones(rendered.frames[::every])
    return watermark_burn(frames, FPS / every, handle_of(index)), rendered.audio


def _prints_of(indices: list[int]) -> list[tuple[int, list[tuple[int, int, str]], bytes]]:
    """Each clip's prints as clip_prints makes them from the posted frames (only the sampled frames
    are scaled up and marked: the same pixels, a quarter of the work)."""
    from provenance.fingerprints import SAMPLE_FPS, bits_text, clip_prints

    every = round(FPS / SAMPLE_FPS)
    out = []
    for index in indices:
        frames, sound = posted(index, every)
        prints = clip_prints(frames, FPS / every, sound, 16_000, handle=handle_of(index))
        rows = zip(
            prints.times_ms.tolist(), prints.windows.tolist(), map(bits_text, prints.hashes), strict=True
        )
        out.append((index, list(rows), prints.audio))
    return out


def _copy_rows(batch: list[tuple[int, list[tuple[int, int, str]], bytes]]) -> int:
    from django.db import connection

    rows = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        columns = "video_id, duration_ms, width, height, handle, audio, created_at"
        with raw.copy(f"COPY provenance_videoprint ({columns}) FROM STDIN") as copy:
            for index, _, sound in batch:
                copy.write_row(
                    (video_id_of(index), 4000, 256, 256, handle_of(index), sound, datetime.now(UTC))
                )
        with raw.copy('COPY provenance_frameprint (video_id, at_ms, "window", hash) FROM STDIN') as copy:
            for index, prints, _ in batch:
                for at_ms, window, text in prints:
                    copy.write_row((video_id_of(index), at_ms, window, text))
                    rows += 1
    return rows


def index_load(clips: int, workers: int) -> dict[str, Any]:
    """Fingerprint and COPY `clips` posted clips, then build the HNSW index (timed apart)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS frameprint_hash_hnsw")
    connection.close()  # the fingerprinting children are forked: none may share the socket
    chunks = [list(range(start, min(clips, start + 100))) for start in range(0, clips, 100)]
    began, rows = time.perf_counter(), 0
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for done, batch in enumerate(pool.imap(_prints_of, chunks), 1):
            rows += _copy_rows(batch)
            if done % 50 == 0:
                print(
                    f"  {done * 100} clips, {rows} hashes, {time.perf_counter() - began:.0f} s",
                    file=sys.stderr,
                )
    load_s = time.perf_counter() - began
    began = time.perf_counter()
    with connection.cursor() as cursor:
        # The graph must fit: 2.2 M hashes (50,000 clips at 44 each) outgrew 1 GB, and the build ran
        # past 35 min where 1.6 M had taken 8. 4.4 M (100,000 clips) need about 2-3 GB.
        cursor.execute("SET maintenance_work_mem = '4GB'")
        cursor.execute(
            'CREATE INDEX frameprint_hash_hnsw ON provenance_frameprint USING hnsw ("hash" bit_hamming_ops) '
            "WITH (m = 16, ef_construction = 64)"
        )
        cursor.execute("VACUUM ANALYZE provenance_frameprint")
    build_s = time.perf_counter() - began
    return {"load_s": round(load_s, 1), "build_s": round(build_s, 1), "rows": rows, **_sizes()}


def _sizes() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size('provenance_frameprint'), "
            "pg_relation_size('frameprint_hash_hnsw'), pg_total_relation_size('provenance_videoprint'), "
            "(SELECT count(*) FROM provenance_frameprint), "
            "(SELECT count(*) FROM provenance_videoprint)"
        )
        frame_total, hnsw, video_total, rows, videos = cursor.fetchone()
    mb = 1024 * 1024
    return {
        "frameprint_mb": round(frame_total / mb, 1),
        "hnsw_mb": round(hnsw / mb, 1),
        "videoprint_mb": round(video_total / mb, 1),
        "hashes": rows,
        "videos": videos,
        "hashes_per_clip": round(rows / max(1, videos), 1),
    }


class LazyFiles:
    """The posted MP4s, each made on first read from its seed and kept (see the module's docstring)."""

    def __init__(self, clips: int) -> None:
        self.clips = clips
        self.kept: dict[UUID, bytes] = {}

    def read(self, video_id: UUID) -> bytes | None:
        index = video_id.int - 1
        if not 0 <= index < self.clips:
            return None
        if video_id not in self.kept:
            self.kept[video_id] = encode(*posted(index))
        return self.kept[video_id]


def encode(frames: np.ndarray, sound: np.ndarray | None, crf: int = 20) -> bytes:
    from mediakit import Clip
    from mediakit.encode import clip_encode

    clip = Clip(
        frames=np.ascontiguousarray(frames),
        fps=FPS,
        audio=None if sound is None else sound[None],
        sample_rate=16_000,
    )
    return clip_encode(clip, min_short_side=2, crf=crf).mp4


def _crop(frames: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    _, height, width, _ = frames.shape
    h, w = round(height * (1 - share)), round(width * (1 - share))
    anchor = ("centre", "top_left", "top_right", "bottom_left", "bottom_right")[rng.integers(5)]
    y = {"centre": (height - h) // 2, "top_left": 0, "top_right": 0}.get(anchor, height - h)
    x = {"centre": (width - w) // 2, "top_left": 0, "bottom_left": 0}.get(anchor, width - w)
    return frames[:, y : y + h, x : x + w]


def _inpainted(frames: np.ndarray, handle: str) -> np.ndarray:
    import cv2

    from provenance.watermark import watermark_box

    out = frames.copy()
    for k, frame in enumerate(frames):
        x, y, w, h = watermark_box(k / FPS, frame.shape[1], frame.shape[0], handle)
        mask = np.zeros(frame.shape[:2], np.uint8)
        mask[max(0, y - 2) : y + h + 2, max(0, x - 2) : x + w + 2] = 255
        out[k] = cv2.inpaint(np.ascontiguousarray(frame), mask, 3, cv2.INPAINT_TELEA)
    return out


def upload(
    transform: str, frames: np.ndarray, sound: np.ndarray, handle: str, rng: np.random.Generator
) -> bytes:
    """The transformed copy as a member would upload it."""
    import cv2

    per_second = 16_000
    if transform == "still":
        image = frames[rng.integers(len(frames))]
        buffer = io.BytesIO()
        from PIL import Image

        Image.fromarray(image).save(buffer, format="JPEG", quality=90)
        return buffer.getvalue()
    if transform == "excerpt_3s":
        start = int(rng.integers(0, 9))
        cut = sound[round(start / FPS * per_second) : round((start + 24) / FPS * per_second)]
        return encode(frames[start : start + 24], cut, crf=23)
    changed: dict[str, Callable[[], np.ndarray]] = {
        "reencoded_crf38": lambda: frames,
        "scaled_half": lambda: np.stack(
            [cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA) for f in frames]
        ),
        "cropped_10": lambda: _crop(frames, 0.1, rng),
        "cropped_20": lambda: _crop(frames, 0.2, rng),
        "mirrored": lambda: frames[:, :, ::-1],
        "watermark_removed": lambda: _inpainted(frames, handle),
        "brightness_up": lambda: np.clip(frames.astype(np.float32) * 1.2, 0, 255).astype(np.uint8),
        "brightness_down": lambda: (frames.astype(np.float32) * 0.8).astype(np.uint8),
        "unrelated": lambda: frames,
    }
    return encode(changed[transform](), sound, crf=38 if transform == "reencoded_crf38" else 23)


def queries(clips: int, samples: int, files: LazyFiles, seed: int) -> list[tuple[str, int, bytes]]:
    """(transform, the index of the clip it copies (an unrelated clip's own seed), the upload) for
    every lookup."""
    from mediakit.sampling import clip_from_file

    rng = np.random.default_rng(seed)
    chosen = rng.choice(clips, size=min(samples, clips), replace=False)
    out: list[tuple[str, int, bytes]] = []
    for index in chosen:
        downloaded = clip_from_file(files.read(video_id_of(int(index))) or b"", fps=FPS)
        frames, sound = downloaded.frames, posted(int(index))[1]
        for transform in TRANSFORMS:
            out.append((transform, int(index), upload(transform, frames, sound, handle_of(int(index)), rng)))
    for j in range(len(chosen)):
        frames, sound = posted(UNRELATED_SEED + j)
        out.append(("unrelated", UNRELATED_SEED + j, upload("unrelated", frames, sound, handle_of(j), rng)))
    return out


def _looked_up(data: bytes) -> tuple[Any, float]:
    from provenance.lookup import lookup
    from provenance.lookup_query import lookup_media_read

    upload = lookup_media_read(io.BytesIO(data))
    began = time.perf_counter()
    verdict = lookup(upload)
    return verdict, (time.perf_counter() - began) * 1000


def lookups(clips: int, samples: int, seed: int) -> dict[str, Any]:
    from provenance import confirm

    files = LazyFiles(clips)
    confirm.video_file_read = files.read  # the bench's storage (see the module's docstring)
    made = queries(clips, samples, files, seed)
    for _, _, data in made:  # first pass: warms the storage
        _looked_up(data)
    rows: dict[str, list[bool]] = {t: [] for t in (*TRANSFORMS, "unrelated")}
    kinds: dict[str, dict[str, int]] = {t: {} for t in rows}
    times: list[float] = []
    misses: list[dict[str, Any]] = []
    transforms_seen: dict[str, dict[str, int]] = {t: {} for t in TRANSFORMS}
    for transform, index, data in made:
        verdict, took = _looked_up(data)
        times.append(took)
        kinds[transform][verdict.kind] = kinds[transform].get(verdict.kind, 0) + 1
        if transform == "unrelated":
            hit = verdict.kind == "not_from_kino"
        else:
            hit = verdict.kind == "from_kino" and verdict.video_id == video_id_of(index)
        rows[transform].append(hit)
        if not hit:
            named = verdict.video_id.int - 1 if verdict.video_id else None
            misses.append({"transform": transform, "clip": index, "kind": verdict.kind, "named": named})
        if transform == "unrelated":
            continue
        for name in verdict.transforms:
            transforms_seen[transform][name] = transforms_seen[transform].get(name, 0) + 1
    recall = {t: round(float(np.mean(rows[t])), 4) for t in TRANSFORMS}
    overall = float(np.mean([hit for t in TRANSFORMS for hit in rows[t]]))
    return {
        "lookup_recall": {"overall": round(overall, 4), **recall},
        "unrelated_not_found_rate": round(float(np.mean(rows["unrelated"])), 4),
        "lookup_p50_ms": round(float(np.percentile(times, 50)), 1),
        "lookup_p99_ms": round(float(np.percentile(times, 99)), 1),
        "detail_lookups": {
            "verdicts": kinds,
            "transforms_reported": transforms_seen,
            "queries": len(made),
            "misses": misses[:80],
        },
    }


def _parts() -> dict[str, Any]:
    report: dict[str, Any] = {}
    for key, module, function in PARTS:
        try:
            part = getattr(importlib.import_module(module), function)()
        except (ImportError, AttributeError, RuntimeError, ValueError) as exc:
            part = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        if key:
            report[key] = part
        else:
            report.update({f"{function}_error" if k == "error" else k: v for k, v in part.items()})
    return report


def _reused_index(clips: int, written: Path) -> dict[str, Any]:
    """The index a previous run loaded (--reuse): its sizes; its load and build times are that run's,
    from the file it wrote (`written`: where this run writes)."""
    sizes = _sizes()
    if sizes["videos"] != clips:
        raise SystemExit(f"--reuse: the kept index holds {sizes['videos']} clips, not {clips}")
    previous = json.loads(written.read_text()) if written.exists() else {}
    kept = previous.get("detail", {}).get("index", {})
    return {**kept, **sizes, "build_s": kept.get("build_s"), "reused": True}


def main(
    clips: int,
    samples: int,
    workers: int,
    seed: int,
    parts: bool,
    reuse: bool = False,
    out: Path = RESULTS,
) -> dict[str, Any]:
    from bench.fresh import fresh_environment
    from config import embedded

    workdir = embedded.var_dir() / "bench-provenance"
    reused = fresh_environment(workdir, database=DATABASE, redis_db=REDIS_DB, reuse=reuse)
    import django

    django.setup()
    began = time.perf_counter()
    index = _reused_index(clips, out) if reused else index_load(clips, workers)
    measured = lookups(clips, samples, seed)
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["bench/provenance.py", *sys.argv[1:]]),
        "indexed": clips,
        "lookup_recall": measured.pop("lookup_recall"),
        "unrelated_not_found_rate": measured.pop("unrelated_not_found_rate"),
        "lookup_p50_ms": measured.pop("lookup_p50_ms"),
        "lookup_p99_ms": measured.pop("lookup_p99_ms"),
        "index_mb": index["frameprint_mb"],
        "index_build_s": index["build_s"],
        "c2pa_overhead_ratio": None,
        "watermark_readback_rate": None,
        "invisible_mark_recovery": None,
        "targets": {
            "recall_each": 0.95,
            "unrelated_not_found_rate": 0.99,
            "lookup_p50_ms": 100,
            "lookup_p99_ms": 300,
        },
        "detail": {
            "index": index,
            "lookups": measured.pop("detail_lookups"),
            "samples": samples,
            "machine": {
                "python": platform.python_version(),
                "cpus": len(os.sched_getaffinity(0)),
                "load_avg": os.getloadavg(),
            },
            "bench_s": round(time.perf_counter() - began, 1),
        },
    }
    if parts:
        report.update(_parts())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=100_000, help="posted clips to index")
    parser.add_argument("--samples", type=int, default=200, help="posted clips looked up per transform")
    parser.add_argument("--workers", type=int, default=2, help="processes fingerprinting the index")
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--no-parts", action="store_true", help="skip the watermark, C2PA and audio benches")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the index a previous run of this size loaded"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go")
    args = parser.parse_args()
    print(
        json.dumps(
            main(args.clips, args.samples, args.workers, args.seed, not args.no_parts, args.reuse, args.out),
            indent=2,
            default=str,
        )
    )
