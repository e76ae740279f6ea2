"""Looking a clip or a still up: was it made in Kino, and which video is it?

1. The query's frames (at most MAX_QUERY_FRAMES of them, spread over it) are hashed through
   QUERY_WINDOWS, each also mirrored: hashed flipped, not as PDQ's dihedral variant of the same DCT,
   which is 40-90 bits off on the world's flat, blocky pictures (the decimation's sample grid does
   not mirror onto itself) where the flipped picture hashes within 10 bits.
   The query windows undo a 10 % crop anchored at the centre or a corner: the 0.889 windows of a
   frame cropped by 10 % are the stored 0.8 windows; a 20 % crop is a stored window as it is.
2. Every hash asks pgvector's HNSW index for its nearest stored hashes (CLIP_SEARCH.neighbours;
   `<~>`, Hamming), all in one statement. A hit closer than SEARCH_BITS votes for (video, mirrored,
   time offset), once per query frame, weighted by how close it is: a copy's frames agree on one
   offset, a look-alike's hits scatter.
3. The best-voted videos (CLIP_SEARCH.candidates) are confirmed picture against picture
   (provenance.confirm) and, when the query has sound and the video a print, by provenance.audio's
   vote.
4. The verdict: from_kino when a candidate's pixels agree (mismatch at most MATCH_MISMATCH) or its
   sound matches with pixels not clearly against; not_from_kino when nothing was near or every
   candidate's pixels clearly disagree (REJECT_MISMATCH); inconclusive between the two. When two
   videos fit alike (AMBIGUOUS_GAP), from_kino names neither. A still has one frame to vote with: it
   fetches more neighbours and confirms more candidates (STILL_SEARCH), all of them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Literal
from uuid import UUID

import cv2
import numpy as np
from django.db import connection, transaction

from config.blas import on_one_blas_thread
from mediakit import Clip
from mediakit.sampling import size_down_to
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
QUERY_SIDE = 320  # query frames are scaled down to this short side first
GRID_FPS = 2.0  # query frames this often from the upload's first
MAX_QUERY_FRAMES = 8  # a longer query is sampled evenly down to this many grid frames
PHASE_FRAMES = 4  # and this many more, half a stored period (1 / SAMPLE_FPS) after grid frames
CROWD_BITS = 6  # other videos this close to a hit's distance crowd it (and share its vote)
SEARCH_BITS = 72  # a hit farther than this (of 256) votes for nothing
ATTEMPTS = 2  # (mirrored, offset) starts tried per candidate
CHECK_FRAMES = 5  # query frames, spread over it, compared with a candidate
OFFSET_BIN_MS = 500
MATCH_MISMATCH = 0.01  # at most this share of disagreeing pixels: the same pictures
REJECT_MISMATCH = 0.016  # at least this: other pictures (a look-alike)
BRIGHTNESS_LEVELS = 12  # mid-grey moved by more than this (of 255): "brightness" is reported
BRIGHTNESS_GAIN = 0.12  # or the contrast by more than this share
AUDIO_AGREE_S = 0.25  # the sound's offset within this of the pictures' counts as agreeing
AMBIGUOUS_GAP = 0.003  # two videos accepted this close: the pictures cannot tell which (none is named)


@dataclass(frozen=True)
class Search:
    neighbours: int  # stored hashes fetched per query hash
    ef_search: int  # HNSW's candidate list per search (above `neighbours`; recall is the vote's job)
    candidates: int  # videos confirmed


CLIP_SEARCH = Search(neighbours=24, ef_search=48, candidates=4)
# A still has one frame to vote with and 12 probes: it fetches more and confirms more candidates.
STILL_SEARCH = Search(neighbours=64, ef_search=128, candidates=8)


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
class Upload:
    """What is looked up: the upload's pictures from its start (`clip`: frames at any rate, perhaps
    scaled down as they were decoded), whether it is one image, and the upload's own length and short
    side when `clip` holds less (None: the clip's own)."""

    clip: Clip
    still: bool = False
    seconds: float | None = None
    short_side: int | None = None

    @property
    def length_s(self) -> float:
        return self.seconds if self.seconds is not None else self.clip.frames.shape[0] / self.clip.fps


@dataclass(frozen=True)
class QueryFrames:
    images: list[np.ndarray] = field(repr=False)  # uint8 [H, W, 3] each
    times_s: np.ndarray  # float [F]
    probes: list[tuple[int, int, bool]]  # (frame, QUERY_WINDOWS index, mirrored) of each hash
    hashes: np.ndarray = field(repr=False)  # bool [len(probes), 256]
    shrink: float = 1.0  # the images' size over the upload's (QUERY_SIDE)


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
    score: float  # its best (mirrored, offset)'s votes
    # The best pair of each of its ATTEMPTS best-voted (mirrored, offset): where the checks start.
    starts: list[Pair]


def query_frames(clip: Clip, short_side: int | None = None) -> QueryFrames:
    """The query's frames and hashes: up to MAX_QUERY_FRAMES frames every 1/GRID_FPS s from its first
    (spread evenly over a longer query), each whole, the first and one near the middle (a whole
    number of seconds later: where a copy from the start meets the stored windows) through all
    QUERY_WINDOWS too; then PHASE_FRAMES frames half a stored period after grid frames, whole, so
    that some query frames fall on stored ones wherever a copy starts (an upload is decoded at 8 fps,
    `lookup_query.QUERY_FPS`; a slower clip's late frames fall where they can). Each hash as it is and
    mirrored. `short_side`: the upload's, when the clip's frames were scaled down from it."""
    count = clip.frames.shape[0]
    if count == 0:
        return QueryFrames([], np.zeros(0), [], np.zeros((0, pdq.BITS), bool))
    grid, _ = sample_indices(count, clip.fps, GRID_FPS)
    if len(grid) > MAX_QUERY_FRAMES:
        grid = grid[np.linspace(0, len(grid) - 1, MAX_QUERY_FRAMES).round().astype(int)]
    late = grid[np.linspace(0, len(grid) - 1, min(len(grid), PHASE_FRAMES)).round().astype(int)]
    late = np.round(late + clip.fps / SAMPLE_FPS / 2).astype(int)  # half a stored period later
    indices = np.union1d(grid, late[late < count]).astype(int)  # a slow decode: late frames may be grid ones
    times_ms = np.round(indices / clip.fps * 1000).astype(np.int64)
    images = [_shrunk(clip.frames[i]) for i in indices]
    middle = grid[2 * (len(grid) // 4)]  # a whole second after the first, for a copy from the start
    windowed = {0, int(np.searchsorted(indices, middle))}
    probes: list[tuple[int, int, bool]] = []
    hashes = []
    for f, image in enumerate(images):
        luma = pdq.luminance(image)
        for w in range(len(QUERY_WINDOWS) if f in windowed else 1):
            seen = window_crop(luma, QUERY_WINDOWS[w])
            hashes += [pdq.luma_bits(seen), pdq.luma_bits(np.ascontiguousarray(seen[:, ::-1]))]
            probes += [(f, w, False), (f, w, True)]
    bits = np.stack(hashes) if hashes else np.zeros((0, pdq.BITS), bool)
    shrink = min(images[0].shape[:2]) / (short_side or min(clip.frames.shape[1:3])) if images else 1.0
    return QueryFrames(images, times_ms / 1000.0, probes, bits, shrink)


def _shrunk(image: np.ndarray) -> np.ndarray:
    """A large upload's frame scaled down to QUERY_SIDE on its short side: PDQ ends at 64 x 64 and the
    pixels are compared at 128 anyway; hashing and ORB at 1080p would cost ten times as much."""
    size = size_down_to(image.shape[1], image.shape[0], QUERY_SIDE)
    return image if size is None else cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def nearest(hashes: np.ndarray, search: Search = CLIP_SEARCH) -> list[tuple[int, UUID, int, int, int]]:
    """For each hash (bool [N, 256]), its `search.neighbours` nearest stored hashes, as (hash index,
    video id, at_ms, window, distance), in one statement."""
    texts = [bits_text(bits) for bits in hashes]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [search.ef_search])
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
            [texts, search.neighbours],
        )
        return [(int(i), v, int(at), int(w), int(d)) for i, v, at, w, d in cursor.fetchall()]


def candidates(query: QueryFrames, *, still: bool = False) -> list[Candidate]:
    """The best-voted videos: hits agree on (video, mirrored, time offset), one vote per query frame,
    each weighted by its closeness and by how few other videos the same hash came as close to (a
    frame of bare background meets every clip of that background: its votes count for little)."""
    best: dict[tuple[UUID, bool, int], dict[int, tuple[float, Pair]]] = defaultdict(dict)
    search = STILL_SEARCH if still else CLIP_SEARCH
    searched = nearest(query.hashes, search)
    for index, hits in _by_probe(searched).items():
        frame, query_window, mirrored = query.probes[index]
        closest: dict[UUID, int] = {}
        for video_id, _, _, distance in hits:
            closest.setdefault(video_id, distance)
        nearest_first = list(closest.values())  # the hits come closest first
        for video_id, at_ms, stored_window, distance in hits:
            # The other videos this close: every video within reach, less this one (its closest is).
            crowd = bisect_right(nearest_first, distance + CROWD_BITS) - 1
            weight = (1 - distance / SEARCH_BITS) / (1 + crowd)
            offset = round((at_ms - query.times_s[frame] * 1000) / OFFSET_BIN_MS)
            key = (video_id, mirrored, offset)
            held = best[key].get(frame)
            if held is None or weight > held[0]:
                best[key][frame] = (
                    weight,
                    Pair(frame, at_ms, query_window, stored_window, mirrored, distance),
                )
    keys: dict[UUID, list[tuple[float, Pair]]] = defaultdict(list)
    for (video_id, _, _), votes in best.items():
        score = sum(weight for weight, _ in votes.values())
        keys[video_id].append((score, max(votes.values(), key=lambda wp: wp[0])[1]))
    found = []
    for video_id, scored in keys.items():
        scored.sort(key=lambda sp: -sp[0])
        found.append(Candidate(video_id, scored[0][0], [pair for _, pair in scored[:ATTEMPTS]]))
    return sorted(found, key=lambda c: -c.score)[: search.candidates]


def _by_probe(hits: list[tuple[int, UUID, int, int, int]]) -> dict[int, list[tuple[UUID, int, int, int]]]:
    """The hits closer than SEARCH_BITS, per query hash, closest first."""
    grouped: dict[int, list[tuple[UUID, int, int, int]]] = defaultdict(list)
    for index, video_id, at_ms, window, distance in sorted(hits, key=lambda h: h[4]):
        if distance <= SEARCH_BITS:
            grouped[index].append((video_id, at_ms, window, distance))
    return grouped


@dataclass(frozen=True)
class Checked:
    candidate: Candidate
    mirrored: bool
    checks: list[tuple[int, confirm.FrameCheck]]  # (query frame, its check)
    mismatch: float  # the worst frame's
    audio: audio_prints.AudioVote | None
    video: VideoPrint
    query_times: tuple[float, ...]  # the query frames' times

    @property
    def offset_s(self) -> float:
        """Where the query starts in the video, by the pictures."""
        return float(np.median([c.video_time_s - self.query_times[f] for f, c in self.checks]))

    @property
    def heard(self) -> bool:
        """The sound matched at the pictures' offset (the world's ambiences loop: a match elsewhere
        in time says nothing)."""
        vote = self.audio
        return bool(
            vote
            and vote.matched
            and vote.offset_s is not None
            and abs(vote.offset_s - self.offset_s) <= AUDIO_AGREE_S
        )


def candidate_check(query: QueryFrames, candidate: Candidate, query_audio: bytes) -> Checked | None:
    """Compare the query with the candidate over the whole query: a start pair fixes the geometry
    (windows, ORB) and the time offset (the next start is tried when the first frame disagrees);
    CHECK_FRAMES frames spread over the query must all agree (a frame showing only a shared
    background agrees with any clip of that background, so the worst frame counts)."""
    video = VideoPrint.objects.filter(video_id=candidate.video_id).first()
    stored = confirm.stored_frames(candidate.video_id, video.handle) if video else None
    if video is None or stored is None:
        return None
    tried = []
    for start in candidate.starts:
        windows = (QUERY_WINDOWS[start.query_window], WINDOWS[start.stored_window])
        image = query.images[start.frame]
        place, first = confirm.placed_check(image, stored, start.at_ms / 1000, windows, start.mirrored)
        tried.append((start, place, first))
        if first.mismatch < REJECT_MISMATCH:
            break
    start, place, first = min(tried, key=lambda t: t[2].mismatch)
    checks = [(start.frame, first), *_followed(query, stored, start.frame, first, place, video.duration_ms)]
    vote = None
    if query_audio and video.audio:
        vote = audio_prints.audio_agreement(query_audio, bytes(video.audio))
    times = tuple(float(t) for t in query.times_s)
    mismatch = max(c.mismatch for _, c in checks)
    checks.sort(key=lambda fc: fc[0])
    return Checked(candidate, place.mirrored, checks, mismatch, vote, video, times)


def _followed(
    query: QueryFrames,
    stored: confirm.StoredFrames,
    done: int,
    first: confirm.FrameCheck,
    place: confirm.Placement,
    duration_ms: int,
) -> list[tuple[int, confirm.FrameCheck]]:
    """The other frames' checks at the first one's offset and placement; stops at one that clearly
    disagrees (the verdict is then settled)."""
    offset = first.video_time_s - float(query.times_s[done])
    checks: list[tuple[int, confirm.FrameCheck]] = []
    if first.mismatch >= REJECT_MISMATCH:
        return checks
    for frame in _spread(len(query.images), done):
        at = float(query.times_s[frame]) + offset
        if -confirm.FOLLOW_S <= at <= duration_ms / 1000 + confirm.FOLLOW_S:
            check = confirm.frame_check(query.images[frame], stored, at, place, confirm.FOLLOW_S)
            checks.append((frame, check))
            if check.mismatch >= REJECT_MISMATCH:
                break
    return checks


def _spread(frames: int, done: int) -> list[int]:
    """Up to CHECK_FRAMES - 1 query frames other than `done`, spread evenly over the query."""
    picks = np.linspace(0, frames - 1, min(frames, CHECK_FRAMES)).round().astype(int)
    return [int(f) for f in dict.fromkeys(picks) if f != done]


@on_one_blas_thread  # PDQ's and the checks' small products (config.blas)
def lookup(upload: Upload) -> Verdict:
    """The verdict on an upload."""
    clip, still = upload.clip, upload.still
    query = query_frames(clip, upload.short_side)
    if not query.images:
        return NOT_FROM_KINO
    query_audio = b""
    if clip.audio is not None and clip.sample_rate and clip.audio.size:
        query_audio = audio_prints.audio_print(clip.audio, clip.sample_rate, query=True)
    checked = []
    for candidate in candidates(query, still=still):
        result = candidate_check(query, candidate, query_audio)
        if result is None:
            continue
        checked.append(result)
        if result.mismatch <= MATCH_MISMATCH / 2 and not still:
            break  # a clear match over several frames: the rest cannot beat it (one frame can tie)
    return verdict(query, checked, upload)


def _accepted(result: Checked) -> bool:
    return result.mismatch <= MATCH_MISMATCH or (result.heard and result.mismatch < REJECT_MISMATCH)


def _tied(first: Checked, second: Checked) -> bool:
    """Two videos fit the pictures alike (a frame of bare background fits every clip of it; a stitch
    shows its parts' frames): unless only the first one's sound agrees, neither is named."""
    if first.heard != second.heard:
        return False
    return second.mismatch - first.mismatch < AMBIGUOUS_GAP


def _rejected(result: Checked) -> bool:
    return result.mismatch >= REJECT_MISMATCH


def verdict(query: QueryFrames, checked: list[Checked], upload: Upload) -> Verdict:
    accepted = sorted((r for r in checked if _accepted(r)), key=lambda r: r.mismatch)
    if accepted:
        found = _found(query, accepted[0], upload)
        if len(accepted) > 1 and _tied(accepted[0], accepted[1]):
            return replace(found, video_id=None, video_range_s=None)  # made in Kino; which, unknown
        return found
    if all(_rejected(r) for r in checked):
        return NOT_FROM_KINO
    closest = min(checked, key=lambda r: r.mismatch)
    return Verdict("inconclusive", None, round(_confidence(closest), 3), None, None, ())


def _confidence(result: Checked) -> float:
    """1 at no disagreeing pixel, 0 at REJECT_MISMATCH; a matching sound adds to it."""
    pictures = float(np.clip(1 - result.mismatch / REJECT_MISMATCH, 0, 1))
    if result.heard and result.audio is not None:
        return min(1.0, 0.5 + pictures / 2 + result.audio.score / 2)
    return pictures


def _found(query: QueryFrames, result: Checked, upload: Upload) -> Verdict:
    """from_kino: the span of the query its checked frames cover, and where that falls in the video."""
    still, query_end = upload.still, upload.length_s
    checked = [float(query.times_s[f]) for f, _ in result.checks]
    query_range = (min(checked), min(query_end, max(checked) + 1 / GRID_FPS))
    offset = result.offset_s
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
        transforms_seen(result, query_end, query.shrink, still=still),
    )


def transforms_seen(result: Checked, query_s: float, shrink: float, *, still: bool) -> tuple[str, ...]:
    """What was done to the video, as the checks saw it (`query_s`: the query's length; `shrink`: how
    much the lookup scaled the upload down before looking)."""
    checks = [c for _, c in result.checks]
    scale = float(np.median([c.scale for c in checks])) / shrink
    coverage = float(np.median([c.coverage for c in checks]))
    gain = float(np.median([c.gain for c in checks]))
    brightness = float(np.median([c.gain * 128 + c.offset - 128 for c in checks]))
    seen = []
    if result.mirrored:
        seen.append("mirrored")
    if coverage < 0.95:
        seen.append("cropped")
    if abs(scale - 1) > 0.08:
        seen.append("scaled")
    if abs(brightness) > BRIGHTNESS_LEVELS or abs(gain - 1) > BRIGHTNESS_GAIN:
        seen.append("brightness")
    if still:
        seen.append("still")
    elif query_s < result.video.duration_ms / 1000 - 0.75:
        seen.append("excerpt")
    return tuple(seen)
