"""Faces in images: where they are (dlib's HOG detector) and whose they might be (a 128-d descriptor
from dlib's ResNet, compared by Euclidean distance; dlib's own "same person" line is 0.6).

The HOG detector slides an 80x80 window, so a face must be about 80 px where it looks. Each image is
resized first so that the smallest face worth finding (a fraction of the image's short side) is
that big: a 720p frame is screened at about 480p (cost grows with pixels), a 112 px photo at 4x.
Descriptors are computed on the full-resolution image around the boxes found (the aligned 150 px
chip dlib's network reads), all the images' faces in one batch; a face that stays still from one
sampled frame to the next is described once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from moderation.likeness.loader import FaceModels, ScreeningUnavailable, face_models

HOG_WINDOW_PX = 80  # the detector's window: the smallest face it finds, in the pixels it looks at
MAX_UPSCALE = 4.0  # a tiny image is enlarged at most this much (a 112 px photo: 448 px)
DESCRIPTOR_PADDING = 0.25  # dlib's default crop around the aligned face
CHIP_PX = 150  # the aligned face the descriptor network reads
# Two chips closer than this (mean absolute difference of their normalised 32 px signatures) are the
# same face, nearly still: it is described once. Re-encoding, shifting or rescaling a face moves its
# chip by 0.01-0.04, a face drifting, growing and brightening over half a second by up to 0.1, with
# descriptors then at most 0.1 apart; two different people are 0.6 or more apart. A shared descriptor
# that lands near the match line is computed again for its own face (screen.py).
SAME_CHIP = 0.1


@dataclass(frozen=True)
class Face:
    image: int  # which of the images asked about
    box: tuple[int, int, int, int]  # left, top, right, bottom, in that image's own pixels
    score: float  # the detector's confidence (0 is its usual line; false faces sit near it)
    descriptor: np.ndarray = field(repr=False, compare=False)  # float32 [128]
    # The descriptor is that of a nearly identical chip in an earlier image (`described` is its
    # number: faces that share one have the same); `chip` is this face's own, to describe if it matters.
    described: int = 0
    shared: bool = False
    chip: np.ndarray | None = field(default=None, repr=False, compare=False)


def detection_scale(height: int, width: int, min_face: float) -> float:
    """The factor an image is resized by so that a face `min_face` x its short side fills the window."""
    smallest = max(1.0, min_face * min(height, width))
    return min(MAX_UPSCALE, HOG_WINDOW_PX / smallest)


def _for_detection(image: np.ndarray, scale: float, grey: bool) -> np.ndarray:
    if abs(scale - 1.0) < 0.02 and not grey:  # not worth a resample
        return image
    picture = Image.fromarray(image).convert("L") if grey else Image.fromarray(image)
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(picture.resize(size, Image.Resampling.BILINEAR) if picture.size != size else picture)


def _detect(
    models: FaceModels, image: np.ndarray, min_face: float, threshold: float, grey: bool
) -> list[tuple]:
    """(dlib rectangle in full resolution, score) of each face found."""
    import dlib

    scale = detection_scale(image.shape[0], image.shape[1], min_face)
    small = _for_detection(image, scale, grey)
    rects, scores, _ = models.detector.run(small, 0, threshold)
    height, width = image.shape[:2]
    found = []
    for rect, score in zip(rects, scores, strict=True):
        left = max(0, round(rect.left() / scale))
        top = max(0, round(rect.top() / scale))
        right = min(width - 1, round(rect.right() / scale))
        bottom = min(height - 1, round(rect.bottom() / scale))
        found.append((dlib.rectangle(left, top, right, bottom), float(score)))
    return found


class _Chips:
    """The aligned 150 px face chips to describe, each described once: a chip nearly identical to one
    already queued (the same face, still, in the next sampled frame) reuses its descriptor."""

    def __init__(self) -> None:
        self.chips: list[np.ndarray] = []
        self.signatures: list[np.ndarray] = []

    def add(self, chip: np.ndarray) -> int:
        signature = _signature(chip)
        for index, known in enumerate(self.signatures):
            if float(np.abs(signature - known).mean()) < SAME_CHIP:
                return index
        self.chips.append(chip)
        self.signatures.append(signature)
        return len(self.chips) - 1


def _signature(chip: np.ndarray) -> np.ndarray:
    """The chip at 32 px, grey, brightness and contrast normalised."""
    grey = np.asarray(
        Image.fromarray(chip).convert("L").resize((32, 32), Image.Resampling.BILINEAR), np.float32
    )
    return (grey - grey.mean()) / (grey.std() + 1e-6)


def faces_find(
    images: Sequence[np.ndarray],
    *,
    min_face: float,
    threshold: float = 0.0,
    grey: bool = False,
    deadline: float | None = None,
) -> list[Face]:
    """Every face in `images` (uint8 [H, W, 3] each) at least `min_face` x the short side, with its
    descriptor. `grey`: detect on the grey image (a third faster; a clip's many frames), the
    descriptor still reads colour. `deadline` (time.monotonic) bounds the work: past it,
    ScreeningUnavailable."""
    models = face_models()
    with models.lock:
        try:
            found, chips = _faces_located(models, images, (min_face, threshold, grey), deadline)
            descriptors = _described(models, chips.chips)
        except RuntimeError as exc:  # dlib's own errors (a ScreeningUnavailable passes through)
            if isinstance(exc, ScreeningUnavailable):
                raise
            raise ScreeningUnavailable(f"face screening failed: {exc}") from exc
    faces = []
    for index, box, score, number, chip in found:
        shared = chips.chips[number] is not chip
        faces.append(
            Face(
                image=index,
                box=box,
                score=round(score, 3),
                descriptor=descriptors[number],
                described=number,
                shared=shared,
                chip=chip if shared else None,
            )
        )
    return faces


def faces_described_alone(faces: Sequence[Face]) -> list[Face]:
    """The faces again, each with the descriptor of its own chip (for those that shared one)."""
    own = [face for face in faces if face.shared and face.chip is not None]
    chips = [face.chip for face in own if face.chip is not None]
    if not chips:
        return list(faces)
    models = face_models()
    with models.lock:
        try:
            descriptors = _described(models, chips)
        except RuntimeError as exc:
            raise ScreeningUnavailable(f"face screening failed: {exc}") from exc
    fresh = {id(face): descriptor for face, descriptor in zip(own, descriptors, strict=True)}
    first = max((face.described for face in faces), default=0) + 1
    return [
        replace(face, descriptor=fresh[id(face)], described=first + i, shared=False, chip=None)
        if id(face) in fresh
        else face
        for i, face in enumerate(faces)
    ]


def _described(models: FaceModels, chips: list[np.ndarray]) -> list[np.ndarray]:
    vectors = models.descriptor.compute_face_descriptor(chips) if chips else []
    return [np.asarray(vector, dtype=np.float32) for vector in vectors]


def _faces_located(
    models: FaceModels,
    images: Sequence[np.ndarray],
    detection: tuple[float, float, bool],  # min_face, threshold, grey
    deadline: float | None,
) -> tuple[list[tuple[int, tuple[int, int, int, int], float, int, np.ndarray]], _Chips]:
    """(image, box, score, number of the chip described for it, its own chip) of each face, and the
    chips to describe."""
    import dlib

    found = []
    chips = _Chips()
    for index, image in enumerate(images):
        if deadline is not None and time.monotonic() > deadline:
            raise ScreeningUnavailable("face screening ran out of time")
        pixels = np.ascontiguousarray(image, dtype=np.uint8)
        for rect, score in _detect(models, pixels, *detection):
            shape = models.predictor(pixels, rect)
            chip = dlib.get_face_chip(pixels, shape, size=CHIP_PX, padding=DESCRIPTOR_PADDING)
            box = (rect.left(), rect.top(), rect.right(), rect.bottom())
            found.append((index, box, score, chips.add(chip), chip))
    return found, chips


def image_decode(data: bytes) -> np.ndarray:
    """An image's bytes (already through mediakit's upload guard) as uint8 RGB [H, W, 3]."""
    import io

    from PIL import ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        return np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
