"""Where a face looks: dlib's 68-point landmarks and the head's yaw they give, for cameo liveness.

The 68-point shape predictor ships in `face-recognition-models` next to the 5-point one
(loader.py). It loads once per process, under a lock, and a missing or damaged file raises
ScreeningUnavailable (fail closed: no liveness check, no cameo).

Yaw is read from the landmarks alone, without a 3D head model: turning the head moves the nose
(and the eyes, the mouth) towards one cheek's outline and away from the other, so the nose's
position between the two cheek outlines, measured along the eyes' axis, is a signed turn that a
shift, a scale or an in-plane tilt of the whole picture does not change. A still photo moved or
zoomed across the screen therefore keeps one yaw, which is why liveness asks for turns.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moderation.likeness.faces import CHIP_PX, DESCRIPTOR_PADDING, _detect
from moderation.likeness.loader import ScreeningUnavailable, face_models, model_folder

logger = logging.getLogger(__name__)

LANDMARKS_FILE = "shape_predictor_68_face_landmarks.dat"
# iBUG 300-W's 68 points: 0-16 the jaw's outline (the subject's right cheek first, as the picture
# shows it: image-left), 27-35 the nose, 36-41 and 42-47 the eyes.
RIGHT_CHEEK = (1, 2, 3)  # image-left outline, at the eyes' and nose's height
LEFT_CHEEK = (13, 14, 15)  # image-right outline
NOSE = (27, 28, 29, 30, 31, 32, 33, 34, 35)
EYE_IMAGE_LEFT = tuple(range(36, 42))
EYE_IMAGE_RIGHT = tuple(range(42, 48))


@dataclass(frozen=True)
class Pose:
    """One face found in one image, with its landmarks and where it looks."""

    image: int  # which of the images asked about
    box: tuple[int, int, int, int]  # left, top, right, bottom, in that image's own pixels
    score: float  # the detector's confidence
    # Signed turn, about -1..1: > 0 the head turns to the subject's own left (the nose moves to the
    # picture's right in an unmirrored camera), < 0 to its right; 0 facing the camera.
    yaw: float
    points: np.ndarray = field(repr=False, compare=False)  # float32 [68, 2] (x, y)


@dataclass(frozen=True)
class _Predictor:
    predictor: Any = field(repr=False)  # dlib.shape_predictor (68 points)
    folder: Path
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


_lock = threading.Lock()
_predictor: _Predictor | None = None


def _after_fork() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def landmark_model() -> _Predictor:
    """The process's 68-point predictor (loaded on first use); ScreeningUnavailable when it cannot load."""
    global _predictor
    folder = model_folder()
    loaded = _predictor
    if loaded is not None and loaded.folder == folder:
        return loaded
    with _lock:
        if _predictor is not None and _predictor.folder == folder:
            return _predictor
        path = folder / LANDMARKS_FILE
        if not path.is_file():
            logger.error("moderation.landmark_model_unavailable", extra={"path": str(path)})
            raise ScreeningUnavailable(f"face landmark model missing: {path}")
        import dlib

        started = time.perf_counter()
        try:
            predictor = dlib.shape_predictor(str(path))
        except RuntimeError as exc:  # dlib's deserialization error for a damaged file
            logger.error("moderation.landmark_model_unavailable", extra={"path": str(path)})
            raise ScreeningUnavailable(f"face landmark model could not be read: {exc}") from exc
        _predictor = _Predictor(predictor=predictor, folder=folder)
        seconds = round(time.perf_counter() - started, 3)
        logger.info("moderation.landmark_model_loaded", extra={"path": str(path), "seconds": seconds})
        return _predictor


def yaw_of(points: np.ndarray) -> float:
    """The signed turn of a face from its 68 landmarks (see the module's docstring)."""
    eye_a = points[list(EYE_IMAGE_LEFT)].mean(axis=0)
    eye_b = points[list(EYE_IMAGE_RIGHT)].mean(axis=0)
    axis = eye_b - eye_a
    norm = float(np.hypot(*axis))
    if norm < 1e-6:
        return 0.0
    axis = axis / norm  # along the eyes: a tilted head measures the same
    right = float(points[list(RIGHT_CHEEK)].mean(axis=0) @ axis)
    left = float(points[list(LEFT_CHEEK)].mean(axis=0) @ axis)
    nose = float(points[list(NOSE)].mean(axis=0) @ axis)
    width = left - right
    if width <= 1e-6:
        return 0.0
    return round(2.0 * (nose - right) / width - 1.0, 4)


def faces_posed(
    images: Sequence[np.ndarray],
    *,
    min_face: float,
    threshold: float = 0.0,
    deadline: float | None = None,
) -> list[Pose]:
    """Every face in `images` (uint8 [H, W, 3]) at least `min_face` x the short side, with its 68
    landmarks and yaw. Detection reads the grey picture (as clip screening does)."""
    models = face_models()
    landmarks = landmark_model()
    poses = []
    with models.lock, landmarks.lock:
        try:
            for index, image in enumerate(images):
                if deadline is not None and time.monotonic() > deadline:
                    raise ScreeningUnavailable("face landmarks ran out of time")
                pixels = np.ascontiguousarray(image, dtype=np.uint8)
                for rect, score in _detect(models, pixels, min_face, threshold, True):
                    shape = landmarks.predictor(pixels, rect)
                    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
                    box = (rect.left(), rect.top(), rect.right(), rect.bottom())
                    poses.append(
                        Pose(image=index, box=box, score=round(score, 3), yaw=yaw_of(points), points=points)
                    )
        except RuntimeError as exc:
            if isinstance(exc, ScreeningUnavailable):
                raise
            raise ScreeningUnavailable(f"face landmarks failed: {exc}") from exc
    return poses


def poses_described(images: Sequence[np.ndarray], poses: Sequence[Pose]) -> list[np.ndarray]:
    """The 128-d descriptor of each pose's face, aligned the way the registry's are (5 points, the
    same chip): descriptors from here and from faces.faces_find compare directly."""
    import dlib

    if not poses:
        return []
    models = face_models()
    with models.lock:
        try:
            chips = []
            for pose in poses:
                pixels = np.ascontiguousarray(images[pose.image], dtype=np.uint8)
                shape = models.predictor(pixels, dlib.rectangle(*pose.box))
                chips.append(dlib.get_face_chip(pixels, shape, size=CHIP_PX, padding=DESCRIPTOR_PADDING))
            vectors = models.descriptor.compute_face_descriptor(chips)
        except RuntimeError as exc:
            raise ScreeningUnavailable(f"face description failed: {exc}") from exc
    return [np.asarray(vector, dtype=np.float32) for vector in vectors]


def face_crop(image: np.ndarray, pose: Pose, *, size: int = 256, margin: float = 0.6) -> np.ndarray:
    """A square crop around the face (its box widened by `margin` on each side), `size` px: a
    reference frame for engines that condition on images."""
    from PIL import Image

    left, top, right, bottom = pose.box
    side = max(right - left, bottom - top) * (1 + 2 * margin)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    half = side / 2
    box = (round(cx - half), round(cy - half), round(cx + half), round(cy + half))
    picture = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).crop(box)
    return np.asarray(picture.resize((size, size), Image.Resampling.LANCZOS))
