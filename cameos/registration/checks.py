"""What a registration's upload must show, each check with its own error code.

Pure functions over decoded frames, poses and sound: they raise `Refused(code)` and never touch the
database (services.py stores what they find and matches it against the registry and other cameos).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from cameos import errors
from cameos.registration.phrase import digits_heard, digits_wrong
from config.errors import ErrorCode
from moderation.public import Pose

# The turn's start: the median yaw of the first posed frames, about half a second's worth.
START_FRAMES = 3
# A turn must show in two consecutive posed frames past the line (one is a landmark's hiccup).
TURN_FRAMES = 2
# Frames with one face: at least this share of the sampled frames (a turned head may lose the
# frontal detector for a moment; a video mostly without a face is no selfie).
MIN_FACE_SHARE = 0.5
# Frames with two faces or more: more than this share is someone else in the video.
MAX_SEVERAL_SHARE = 0.1
FRONTAL_SPREAD = 0.1  # a frame within this of the start's yaw counts as frontal (the embedding's)


class Refused(Exception):
    """A check said no: the registration fails with this code."""

    def __init__(self, error: ErrorCode, message: str = "") -> None:
        super().__init__(message or error.message)
        self.error = error
        self.message = message or error.message


@dataclass(frozen=True)
class Track:
    """The one face of each sampled frame that has exactly one (frame index -> pose)."""

    poses: dict[int, Pose]
    frames: int  # frames sampled
    yaws: tuple[float, ...] = field(default=())

    @property
    def ordered(self) -> list[Pose]:
        return [self.poses[index] for index in sorted(self.poses)]


def one_face(poses: Sequence[Pose], frames: int) -> Track:
    """NO_FACE / SEVERAL_FACES unless the video shows one face (most of the time, alone)."""
    by_frame: dict[int, list[Pose]] = {}
    for pose in poses:
        by_frame.setdefault(pose.image, []).append(pose)
    several = sum(1 for found in by_frame.values() if len(found) > 1)
    if frames and several / frames > MAX_SEVERAL_SHARE:
        raise Refused(errors.SEVERAL_FACES)
    single = {index: found[0] for index, found in by_frame.items() if len(found) == 1}
    if not frames or len(single) / frames < MIN_FACE_SHARE:
        raise Refused(errors.NO_FACE)
    ordered = [single[index] for index in sorted(single)]
    return Track(poses=single, frames=frames, yaws=tuple(pose.yaw for pose in ordered))


def start_yaw(track: Track) -> float:
    return float(np.median(track.yaws[:START_FRAMES]))


def liveness(track: Track, turns: Sequence[str]) -> None:
    """LIVENESS_FAILED unless the head starts facing the camera and turns each asked way, in order.

    "left" is the person's own left: the nose moves to the picture's right (positive yaw) in an
    unmirrored recording, which is what phone cameras store."""
    yaws = np.asarray(track.yaws, dtype=np.float64)
    if len(yaws) < START_FRAMES + TURN_FRAMES * len(turns):
        raise Refused(errors.LIVENESS_FAILED, "Too few frames showed your face to follow the head turns.")
    start = start_yaw(track)
    if abs(start) > settings.CAMEO_LIVENESS_FRONTAL:
        raise Refused(errors.LIVENESS_FAILED, "Start the video facing the camera.")
    line = settings.CAMEO_LIVENESS_YAW
    moved = yaws - start
    side = np.where(moved >= line, 1, np.where(moved <= -line, -1, 0))
    seen = _turns_seen(side)
    asked = [1 if turn == "left" else -1 for turn in turns]
    if seen[: len(asked)] != asked:
        names = {1: "left", -1: "right"}
        told = ", ".join(names[s] for s in seen) or "none"
        raise Refused(
            errors.LIVENESS_FAILED,
            f"Turn your head {' then '.join(turns)}, starting from the camera (seen: {told}).",
        )


def _turns_seen(side: np.ndarray) -> list[int]:
    """The sides the head went to, in order: a run of TURN_FRAMES frames past the line on one side
    counts once, and a side counts again only after the other."""
    seen: list[int] = []
    run_side, run = 0, 0
    for value in side.tolist():
        run = run + 1 if value == run_side and value != 0 else 1
        run_side = value
        if value != 0 and run >= TURN_FRAMES and (not seen or seen[-1] != value):
            seen.append(value)
    return seen


def described_frames(track: Track, *, budget: int = 12) -> list[Pose]:
    """The poses to describe: every frontal one (they make the embedding) and an even spread of the
    rest (they show it stays one person), at most `budget`."""
    start = start_yaw(track)
    ordered = track.ordered
    frontal = [pose for pose in ordered if abs(pose.yaw - start) <= FRONTAL_SPREAD]
    others = [pose for pose in ordered if abs(pose.yaw - start) > FRONTAL_SPREAD]
    frontal = _spread(frontal, max(1, budget * 2 // 3))
    return sorted(frontal + _spread(others, budget - len(frontal)), key=lambda pose: pose.image)


def _spread(poses: list[Pose], count: int) -> list[Pose]:
    if count <= 0 or not poses:
        return []
    if len(poses) <= count:
        return poses
    picks = np.linspace(0, len(poses) - 1, count).round().astype(int)
    return [poses[i] for i in sorted(set(picks.tolist()))]


def one_person(poses: Sequence[Pose], descriptors: Sequence[np.ndarray], start: float) -> np.ndarray:
    """FACE_CHANGED unless every described frame is the same person as the frontal ones; the face
    embedding: the frontal frames' mean descriptor (dlib compares descriptors as they come, so the
    mean is not renormalised: the mean of one person's descriptors sits at its centre)."""
    stack = np.stack(descriptors).astype(np.float32)
    frontal = [i for i, pose in enumerate(poses) if abs(pose.yaw - start) <= FRONTAL_SPREAD] or list(
        range(len(poses))
    )
    centre = stack[frontal].mean(axis=0)
    distances = np.linalg.norm(stack - centre, axis=1)
    if float(distances.max()) > settings.CAMEO_FACE_SAME_DISTANCE:
        raise Refused(errors.FACE_CHANGED)
    return centre.astype(np.float32)


def phrase(samples: np.ndarray | None, digits: str) -> str:
    """PHRASE_MISMATCH unless the digits heard are the challenge's (CAMEO_PHRASE_MAX_WRONG may be
    misheard); the digits heard."""
    if samples is None or not samples.size:
        raise Refused(errors.NO_SPEECH)
    heard = digits_heard(samples, count=len(digits.split()))
    if not heard:
        raise Refused(errors.NO_SPEECH)
    if digits_wrong(heard, digits) > settings.CAMEO_PHRASE_MAX_WRONG:
        raise Refused(errors.PHRASE_MISMATCH)
    return heard
