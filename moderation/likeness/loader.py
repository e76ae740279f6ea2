"""dlib's face models, loaded once per process: the HOG frontal face detector, the 5-point shape
predictor (to align a face) and the ResNet face descriptor (128-d).

The model files are those the `face-recognition-models` wheel ships. Its `__init__` imports
`pkg_resources` (gone from recent setuptools), so the package is located by its import spec and
never imported. MODERATION_FACE_MODEL_DIR points elsewhere (a test makes the models unloadable
with it, and screening then fails closed).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"
DESCRIPTOR_FILE = "dlib_face_recognition_resnet_model_v1.dat"
MODELS_PACKAGE = "face_recognition_models"
FAILURE_RETRY_S = 30.0  # the status check does not retry a failed load more often than this


class ScreeningUnavailable(RuntimeError):
    """A likeness model could not load, or screening errored or ran out of time: nothing may be
    published on its word (fail closed)."""


@dataclass(frozen=True)
class FaceModels:
    detector: Any = field(repr=False)  # dlib.fhog_object_detector
    predictor: Any = field(repr=False)  # dlib.shape_predictor (5 points)
    descriptor: Any = field(repr=False)  # dlib.face_recognition_model_v1
    folder: Path
    # dlib's objects are not safe to share between threads (ASGI runs sync views in a pool).
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


_lock = threading.Lock()
_models: FaceModels | None = None
_failure: tuple[Path, float, str] | None = None  # (folder, when, why) of the last failed load


def _after_fork() -> None:
    """A worker's heartbeat thread may hold the lock when the pool forks a child: the child gets its own."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def model_folder() -> Path:
    """MODERATION_FACE_MODEL_DIR, or the `models/` folder of the installed face-recognition-models."""
    configured = settings.MODERATION_FACE_MODEL_DIR
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ScreeningUnavailable(f"the {MODELS_PACKAGE} package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _load(folder: Path) -> FaceModels:
    import dlib

    for name in (PREDICTOR_FILE, DESCRIPTOR_FILE):
        if not (folder / name).is_file():
            raise ScreeningUnavailable(f"face model file missing: {folder / name}")
    try:
        predictor = dlib.shape_predictor(str(folder / PREDICTOR_FILE))
        descriptor = dlib.face_recognition_model_v1(str(folder / DESCRIPTOR_FILE))
    except RuntimeError as exc:  # dlib's deserialization error for a damaged file
        raise ScreeningUnavailable(f"face model could not be read: {exc}") from exc
    return FaceModels(
        detector=dlib.get_frontal_face_detector(), predictor=predictor, descriptor=descriptor, folder=folder
    )


def face_models(*, recent_failure: bool = False) -> FaceModels:
    """The process's face models (loaded on first use); ScreeningUnavailable when they cannot load.
    Screening tries the load again each time; `recent_failure` (the status check, every few seconds)
    answers a failure of the last FAILURE_RETRY_S without trying."""
    global _models, _failure
    folder = model_folder()
    models = _models
    if models is not None and models.folder == folder:
        return models
    with _lock:
        if _models is not None and _models.folder == folder:
            return _models
        if (
            recent_failure
            and _failure is not None
            and _failure[0] == folder
            and time.monotonic() - _failure[1] < FAILURE_RETRY_S
        ):
            raise ScreeningUnavailable(_failure[2])
        started = time.perf_counter()
        try:
            _models = _load(folder)
        except ScreeningUnavailable as exc:
            _failure = (folder, time.monotonic(), str(exc))
            logger.error(
                "moderation.face_models_unavailable", extra={"folder": str(folder), "error": str(exc)}
            )
            raise
        _failure = None
        seconds = round(time.perf_counter() - started, 3)
        logger.info("moderation.face_models_loaded", extra={"folder": str(folder), "seconds": seconds})
        return _models


def face_models_status() -> dict[str, Any]:
    """For /healthz and the worker's heartbeat: whether this process can screen faces (loads once)."""
    try:
        face_models(recent_failure=True)
    except ScreeningUnavailable as exc:
        return {"ok": False, "error": "face_model_unavailable", "detail": str(exc)[:200]}
    return {"ok": True}
