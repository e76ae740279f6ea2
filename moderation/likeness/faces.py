"""Faces in images: where they are (dlib's HOG detector) and whose they might be (a 128-d descriptor
from dlib's ResNet, compared by Euclidean distance; dlib's own "same person" line is 0.6).

The HOG detector slides an 80x80 window, so a face must be about 80 px where it looks. Each image is
resized first so that the smallest face worth finding (a fraction of the image's short side) is
that big: a 720p frame is screened at about 480p (cost grows with pixels), a 112 px photo at 4x.
Descriptors are computed on the full-resolution image around the boxes found, all the images'
faces in one batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from moderation.likeness.loader import FaceModels, ScreeningUnavailable, face_models

HOG_WINDOW_PX = 80  # the detector's window: the smallest face it finds, in the pixels it looks at
MAX_UPSCALE = 4.0  # a tiny image is enlarged at most this much (a 112 px photo: 448 px)
DESCRIPTOR_PADDING = 0.25  # dlib's default crop around the aligned face


@dataclass(frozen=True)
class Face:
    image: int  # which of the images asked about
    box: tuple[int, int, int, int]  # left, top, right, bottom, in that image's own pixels
    score: float  # the detector's confidence (0 is its usual line; false faces sit near it)
    descriptor: np.ndarray = field(repr=False, compare=False)  # float32 [128]


def detection_scale(height: int, width: int, min_face: float) -> float:
    """The factor an image is resized by so that a face `min_face` x its short side fills the window."""
    smallest = max(1.0, min_face * min(height, width))
    return min(MAX_UPSCALE, HOG_WINDOW_PX / smallest)


def _resized(image: np.ndarray, scale: float) -> np.ndarray:
    if abs(scale - 1.0) < 0.02:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))


def _detect(models: FaceModels, image: np.ndarray, min_face: float, threshold: float) -> list[tuple]:
    """(dlib rectangle in full resolution, score) of each face found."""
    import dlib

    scale = detection_scale(image.shape[0], image.shape[1], min_face)
    small = _resized(image, scale)
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


def faces_find(
    images: Sequence[np.ndarray],
    *,
    min_face: float,
    threshold: float = 0.0,
    deadline: float | None = None,
) -> list[Face]:
    """Every face in `images` (uint8 [H, W, 3] each) at least `min_face` x the short side, with its
    descriptor. `deadline` (time.monotonic) bounds the work: past it, ScreeningUnavailable."""
    import dlib

    models = face_models()
    with models.lock:
        try:
            batch_images: list[np.ndarray] = []
            batch_shapes: list[dlib.full_object_detections] = []
            found: list[tuple[int, tuple[int, int, int, int], float]] = []
            for index, image in enumerate(images):
                if deadline is not None and time.monotonic() > deadline:
                    raise ScreeningUnavailable("face screening ran out of time")
                pixels = np.ascontiguousarray(image, dtype=np.uint8)
                detections = _detect(models, pixels, min_face, threshold)
                if not detections:
                    continue
                shapes = dlib.full_object_detections()
                for rect, score in detections:
                    shapes.append(models.predictor(pixels, rect))
                    found.append((index, (rect.left(), rect.top(), rect.right(), rect.bottom()), score))
                batch_images.append(pixels)
                batch_shapes.append(shapes)
            if not found:
                return []
            vectors = models.descriptor.compute_face_descriptor(
                batch_images, batch_shapes, 0, DESCRIPTOR_PADDING
            )
        except RuntimeError as exc:  # dlib's own errors (a ScreeningUnavailable passes through)
            if isinstance(exc, ScreeningUnavailable):
                raise
            raise ScreeningUnavailable(f"face screening failed: {exc}") from exc
    descriptors = [np.asarray(v, dtype=np.float32) for per_image in vectors for v in per_image]
    return [
        Face(image=index, box=box, score=round(score, 3), descriptor=descriptor)
        for (index, box, score), descriptor in zip(found, descriptors, strict=True)
    ]


def image_decode(data: bytes) -> np.ndarray:
    """An image's bytes (already through mediakit's upload guard) as uint8 RGB [H, W, 3]."""
    import io

    from PIL import ImageOps

    with Image.open(io.BytesIO(data)) as opened:
        return np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
