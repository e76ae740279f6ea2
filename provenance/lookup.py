"""Looking a clip or a still up: was it made in Kino, and which video is it?

1. The query's frames, sampled at fingerprints.SAMPLE_FPS (at most MAX_QUERY_FRAMES of them), are
   hashed through QUERY_WINDOWS, each also mirrored (PDQ's dihedral variant, from the same DCT).
   The query windows undo a 10 % crop anchored at the centre or a corner: the 0.889 windows of a
   frame cropped by 10 % are the stored 0.8 windows; a 20 % crop is a stored window as it is.
2. Every hash asks pgvector's HNSW index for its NEIGHBOURS nearest stored hashes (`<~>`, Hamming),
   all in one statement. A hit closer than SEARCH_BITS votes for (video, mirrored, time offset),
   once per query frame, weighted by how close it is: a copy's frames agree on one offset, a
   look-alike's hits scatter.
3. The CANDIDATES best-voted videos are confirmed picture against picture (provenance.confirm) and,
   when the query has sound and the video a print, by provenance.audio's vote.
4. The verdict: from_kino when a candidate's pixels agree (mismatch at most MATCH_MISMATCH) or its
   sound matches with pixels not clearly against; not_from_kino when nothing was near or every
   candidate's pixels clearly disagree (REJECT_MISMATCH); inconclusive between the two.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

import numpy as np
from django.db import connection, transaction

from mediakit import Clip
from provenance import audio as audio_prints
from provenance import confirm, pdq
from provenance.fingerprints import CROP, SAMPLE_FPS, WINDOWS, bits_text, sample_indices, window_crop
from provenance.models import VideoPrint

VerdictKind = Literal["from_kino", "not_from_kino", "inconclusive"]

_INNER = CROP / 0.9  # a stored CROP window, seen in a frame cropped by 10 %
QUERY_WINDOWS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 0.0, 1.0, 1.0),
    ((1 - _INNER) / 2, (1 - _INNER) / 2, _INNER, _INNER),
    (0.0, 0.0, _INNER, _INNER),
    (1 - _INNER, 0.0, _INNER, _INNER),
    (0.0, 1 - _INNER, _INNER, _INNER),
    (1 - _INNER, 1 - _INNER, _INNER, _INNER),
)
MAX_QUERY_FRAMES = 8  # a longer query is sampled evenly down to this many frames
NEIGHBOURS = 10  # stored hashes fetched per query hash
EF_SEARCH = 40  # HNSW's candidate list per search (pgvector's default; recall is the vote's job)
SEARCH_BITS = 72  # a hit farther than this (of 256) votes for nothing
CANDIDATES = 3  # videos confirmed per lookup
PAIRS_PER_CANDIDATE = 4  # query frames compared per candidate
OFFSET_BIN_MS = 500
MATCH_MISMATCH = 0.004  # at most this share of disagreeing pixels: the same pictures
REJECT_MISMATCH = 0.02  # at least this: other pictures (a look-alike)


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    video_id: UUID | None
    confidence: float
    query_range_s: tuple[float, float] | None
    video_range_s: tuple[float, float] | None
    transforms: tuple[str, ...]


NOT_FROM_KINO = Verdict("not_from_kino", None, 0.0, None, None, ())


@dataclass(frozen=True)
class QueryFrames:
    images: list[np.ndarray] = field(repr=False)  # uint8 [H, W, 3] each
    times_s: np.ndarray  # float [F]
    hashes: np.ndarray = field(repr=False)  # bool [F, len(QUERY_WINDOWS), 2 (as is, mirrored), 256]


@dataclass(frozen=True)
class Pair:
    """One query frame met one stored frame: which windows, how far apart."""

    frame: int  # index into QueryFrames
    at_ms: int
    query_window: int
    stored_window: int
    mirrored: bool
    distance: int


@dataclass
class Candidate:
    video_id: UUID
    mirrored: bool
    score: float
    pairs: list[Pair]


def query_frames(clip: Clip) -> QueryFrames:
    indices, times_ms = sample_indices(clip.frames.shape[0], clip.fps)
    if len(indices) > MAX_QUERY_FRAMES:
        keep = np.linspace(0, len(indices) - 1, MAX_QUERY_FRAMES).round().astype(int)
        indices, times_ms = indices[keep], times_ms[keep]
    images = [clip.frames[i] for i in indices]
    hashes = np.zeros((len(images), len(QUERY_WINDOWS), 2, pdq.BITS), bool)
    for f, image in enumerate(images):
        for w, window in enumerate(QUERY_WINDOWS):
            coefficients, _ = pdq.pdq_dct(window_crop(image, window))
            hashes[f, w, 0] = pdq.bits_from_dct(coefficients)
            hashes[f, w, 1] = pdq.bits_from_dct(pdq.dihedral(coefficients, "mirror"))
    return QueryFrames(images, times_ms / 1000.0, hashes)


def nearest(hashes: np.ndarray) -> list[tuple[int, UUID, int, int, int]]:
    """For each hash (bool [N, 256]), its NEIGHBOURS nearest stored hashes, as (hash index, video id,
    at_ms, window, distance), in one statement."""
    texts = [bits_text(bits) for bits in hashes]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [EF_SEARCH])
        cursor.execute(
            """
            SELECT q.ord - 1, f.video_id, f.at_ms, f."window", f.distance
            FROM unnest(%s::bit(256)[]) WITH ORDINALITY AS q(hash, ord)
            CROSS JOIN LATERAL (
                SELECT video_id, at_ms, "window", (hash <~> q.hash)::int AS distance
                FROM provenance_frameprint
                ORDER BY hash <~> q.hash
                LIMIT %s
            ) AS f
            """,
            [texts, NEIGHBOURS],
        )
        return [(int(i), v, int(at), int(w), int(d)) for i, v, at, w, d in cursor.fetchall()]


def candidates(query: QueryFrames) -> list[Candidate]:
    """The best-voted videos: hits agree on (video, mirrored, time offset), one vote per query frame."""
    windows, variants = query.hashes.shape[1:3]
    hits = nearest(query.hashes.reshape(-1, pdq.BITS))
    best: dict[tuple[UUID, bool, int], dict[int, Pair]] = defaultdict(dict)
    for index, video_id, at_ms, stored_window, distance in hits:
        if distance > SEARCH_BITS:
            continue
        frame, rest = divmod(index, windows * variants)
        query_window, variant = divmod(rest, variants)
        offset = round((at_ms - query.times_s[frame] * 1000) / OFFSET_BIN_MS)
        key = (video_id, bool(variant), offset)
        pair = Pair(frame, at_ms, query_window, stored_window, bool(variant), distance)
        held = best[key].get(frame)
        if held is None or distance < held.distance:
            best[key][frame] = pair
    by_video: dict[UUID, Candidate] = {}
    for (video_id, mirrored, _), pairs in best.items():
        score = sum(1 - p.distance / SEARCH_BITS for p in pairs.values())
        if video_id not in by_video or score > by_video[video_id].score:
            ordered = sorted(pairs.values(), key=lambda p: p.distance)
            by_video[video_id] = Candidate(video_id, mirrored, score, ordered)
    return sorted(by_video.values(), key=lambda c: -c.score)[:CANDIDATES]


@dataclass(frozen=True)
class Checked:
    candidate: Candidate
    checks: list[tuple[Pair, confirm.FrameCheck]]
    mismatch: float
    audio: audio_prints.AudioVote | None
    video: VideoPrint


def candidate_check(query: QueryFrames, candidate: Candidate, query_audio: bytes) -> Checked | None:
    video = VideoPrint.objects.filter(video_id=candidate.video_id).first()
    stored = confirm.stored_frames(candidate.video_id, video.handle) if video else None
    if video is None or stored is None:
        return None
    checks = []
    for pair in _spread(candidate.pairs):
        windows = (QUERY_WINDOWS[pair.query_window], WINDOWS[pair.stored_window])
        image = query.images[pair.frame]
        place = confirm.placement(image, stored, pair.at_ms / 1000, windows, pair.mirrored)
        time_s = float(query.times_s[pair.frame]) + _offset_s(candidate, query)
        checks.append((pair, confirm.frame_check(image, stored, time_s, place)))
    mismatch = float(np.median([c.mismatch for _, c in checks]))
    vote = None
    if query_audio and video.audio:
        vote = audio_prints.audio_agreement(query_audio, bytes(video.audio))
    return Checked(candidate, checks, mismatch, vote, video)


def _offset_s(candidate: Candidate, query: QueryFrames) -> float:
    """The candidate's time offset (stored minus query), the median over its pairs."""
    return float(np.median([p.at_ms / 1000 - query.times_s[p.frame] for p in candidate.pairs]))


def _spread(pairs: list[Pair]) -> list[Pair]:
    """At most PAIRS_PER_CANDIDATE pairs, the closest first, of different query frames."""
    return pairs[:PAIRS_PER_CANDIDATE]


def lookup(clip: Clip, *, still: bool) -> Verdict:
    """The verdict on an uploaded clip (frames at any rate; `still`: one image)."""
    query = query_frames(clip)
    if not query.images:
        return NOT_FROM_KINO
    query_audio = b""
    if clip.audio is not None and clip.sample_rate and clip.audio.size:
        query_audio = audio_prints.audio_print(clip.audio, clip.sample_rate)
    checked = []
    for candidate in candidates(query):
        result = candidate_check(query, candidate, query_audio)
        if result is None:
            continue
        checked.append(result)
        if result.mismatch <= MATCH_MISMATCH / 2:
            break  # a clear match: the rest cannot beat it
    return verdict(query, checked, clip, still=still)


def _accepted(result: Checked) -> bool:
    heard = result.audio is not None and result.audio.matched
    return result.mismatch <= MATCH_MISMATCH or (heard and result.mismatch < REJECT_MISMATCH)


def _rejected(result: Checked) -> bool:
    heard_other = result.audio is not None and not result.audio.matched and result.mismatch > MATCH_MISMATCH
    return result.mismatch >= REJECT_MISMATCH or heard_other


def verdict(query: QueryFrames, checked: list[Checked], clip: Clip, *, still: bool) -> Verdict:
    accepted = sorted((r for r in checked if _accepted(r)), key=lambda r: r.mismatch)
    if accepted:
        return _found(query, accepted[0], clip, still=still)
    if all(_rejected(r) for r in checked):
        return NOT_FROM_KINO
    closest = min(checked, key=lambda r: r.mismatch)
    return Verdict("inconclusive", None, round(_confidence(closest), 3), None, None, ())


def _confidence(result: Checked) -> float:
    """1 at no disagreeing pixel, 0 at REJECT_MISMATCH; a matching sound adds to it."""
    pictures = float(np.clip(1 - result.mismatch / REJECT_MISMATCH, 0, 1))
    if result.audio is not None and result.audio.matched:
        return min(1.0, 0.5 + pictures / 2 + result.audio.score / 2)
    return pictures


def _found(query: QueryFrames, result: Checked, clip: Clip, *, still: bool) -> Verdict:
    """from_kino: the matched span of the query (its frames that voted for the video) and of the video."""
    frame_s = 1 / SAMPLE_FPS
    voted = [float(query.times_s[p.frame]) for p in result.candidate.pairs]
    query_end = clip.frames.shape[0] / clip.fps
    query_range = (min(voted), min(query_end, max(voted) + frame_s))
    offset = float(np.median([c.video_time_s - query.times_s[p.frame] for p, c in result.checks]))
    duration = result.video.duration_ms / 1000
    video_range = (max(0.0, query_range[0] + offset), min(duration, query_range[1] + offset))
    if still:
        query_range = (0.0, 0.0)
        video_range = (video_range[0], video_range[0])
    return Verdict(
        "from_kino",
        result.candidate.video_id,
        round(_confidence(result), 3),
        (round(query_range[0], 2), round(query_range[1], 2)),
        (round(video_range[0], 2), round(video_range[1], 2)),
        transforms_seen(result, query_end, still=still),
    )


def transforms_seen(result: Checked, query_s: float, *, still: bool) -> tuple[str, ...]:
    """What was done to the video, as the checks saw it (`query_s`: the query's length)."""
    checks = [c for _, c in result.checks]
    scale = float(np.median([c.scale for c in checks]))
    coverage = float(np.median([c.coverage for c in checks]))
    gain = float(np.median([c.gain for c in checks]))
    offset = float(np.median([c.offset for c in checks]))
    brightness = float(np.median([c.gain * 128 + c.offset - 128 for c in checks]))
    seen = []
    if result.candidate.mirrored:
        seen.append("mirrored")
    if coverage < 0.95:
        seen.append("cropped")
    if abs(scale - 1) > 0.08:
        seen.append("scaled")
    if abs(brightness) > 10 or (abs(gain - 1) > 0.12 and abs(offset) > 8):
        seen.append("brightness")
    if still:
        seen.append("still")
    elif query_s < result.video.duration_ms / 1000 - 0.75:
        seen.append("excerpt")
    return tuple(seen)
