"""Boot-time checks of the generation settings: a misconfigured engine stops the boot with a clear
message (`manage.py check`, `migrate`, and uvicorn and the Celery workers before they serve), not the
first job an hour later."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from generation.engines.families import FAMILIES, TINY_CLASSES

ENGINES = ("builtin", "diffusers", *(f"tiny-{kind}" for kind in TINY_CLASSES))
TIERS = ("standard", "teen", "priority")
QUALITIES = ("draft", "standard", "high")
DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
DTYPES = ("auto", "float32", "bfloat16", "float16")
DURATION_MAX = 600  # seconds: Job.duration_s and a day's quota stay in sane numbers


def _error(number: int, message: str, hint: str | None = None) -> Error:
    return Error(message, hint=hint, id=f"kino.generation.E{number:03d}")


@register("kino")
def engine_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    engine, path = settings.GENERATION_ENGINE, settings.GENERATION_MODEL_PATH
    if engine not in ENGINES:
        close = difflib.get_close_matches(engine, ENGINES, n=1)
        hint = f"Did you mean {close[0]!r}?" if close else None
        return [
            _error(
                1, f"GENERATION_ENGINE {engine!r} is not an engine; use one of {', '.join(ENGINES)}.", hint
            )
        ]
    if engine == "diffusers":
        return _diffusers_folder_problems(path)
    if engine == "builtin" and path:
        return _builtin_folder_problems(Path(path))
    return []


def _diffusers_folder_problems(path: str) -> list[CheckMessage]:
    if not path:
        return [
            _error(2, "GENERATION_ENGINE=diffusers needs GENERATION_MODEL_PATH (a local pipeline folder).")
        ]
    index = Path(path) / "model_index.json"
    if not index.is_file():
        return [
            _error(
                3, f"GENERATION_MODEL_PATH {path!r} is not a diffusers pipeline folder (no model_index.json)."
            )
        ]
    try:
        class_name = json.loads(index.read_text()).get("_class_name")
    except (OSError, ValueError) as exc:
        return [_error(3, f"{index} cannot be read: {exc}")]
    if class_name not in FAMILIES:
        supported = ", ".join(FAMILIES)
        return [
            _error(
                4,
                f"GENERATION_MODEL_PATH holds a {class_name}, which Kino cannot run; supported: {supported}.",
            )
        ]
    return []


def _builtin_folder_problems(path: Path) -> list[CheckMessage]:
    missing = [name for name in ("config.json", "model.safetensors") if not (path / name).is_file()]
    if missing:
        return [
            _error(
                5,
                f"GENERATION_MODEL_PATH {str(path)!r} is not a built-in model folder "
                f"(no {', '.join(missing)}).",
            )
        ]
    return []


@register("kino")
def limits_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        *_duration_problems(settings.GENERATION_DURATIONS),
        *_tier_problems(settings.GENERATION_TIERS, settings.GENERATION_DURATIONS),
        *_short_side_problems(settings.GENERATION_SHORT_SIDE),
        *_number_problems(),
        *_device_problems(settings.GENERATION_DEVICE, settings.GENERATION_DTYPE),
    ]


def _number_problems() -> list[CheckMessage]:
    at_least_one = (
        "STEPS",
        "MAX_ATTEMPTS",
        "STAGE_TRIES",
        "PROMPT_MAX_CHARS",
        "START_IMAGE_SIDE",
        "STITCH_FADE_MS",
    )
    above_zero = ("FPS", "HEARTBEAT_S", "REAP_S", "STALE_S", "REDISPATCH_S", "EXTEND_CONTEXT_S")
    problems: list[CheckMessage] = [
        _error(8, f"GENERATION_{name} must be 1 or more, not {getattr(settings, 'GENERATION_' + name)!r}.")
        for name in at_least_one
        if getattr(settings, f"GENERATION_{name}") < 1
    ]
    problems += [
        _error(8, f"GENERATION_{name} must be above 0, not {getattr(settings, 'GENERATION_' + name)!r}.")
        for name in above_zero
        if getattr(settings, f"GENERATION_{name}") <= 0
    ]
    if settings.GENERATION_STAGE_BACKOFF_S < 0:
        problems.append(_error(8, "GENERATION_STAGE_BACKOFF_S must be 0 or more."))
    if settings.GENERATION_STALE_S <= settings.GENERATION_HEARTBEAT_S:
        problems.append(
            _error(9, "GENERATION_STALE_S must exceed GENERATION_HEARTBEAT_S, or live jobs look lost.")
        )
    if settings.GENERATION_START_IMAGE_MAX_BYTES >= settings.API_MAX_UPLOAD_BYTES:
        problems.append(
            _error(
                10, "GENERATION_START_IMAGE_MAX_BYTES must be below API_MAX_UPLOAD_BYTES (the whole body)."
            )
        )
    return problems


def _device_problems(device: str, dtype: str) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if not DEVICE.fullmatch(device):
        problems.append(_error(11, f"GENERATION_DEVICE {device!r} is not auto, cpu, cuda, cuda:N or mps."))
    if dtype not in DTYPES:
        problems.append(_error(11, f"GENERATION_DTYPE {dtype!r} is not one of {', '.join(DTYPES)}."))
    return problems


def _duration_problems(durations: Any) -> list[CheckMessage]:
    if (
        not durations
        or not all(isinstance(d, int) and 1 <= d <= DURATION_MAX for d in durations)
        or list(durations) != sorted(set(durations))
    ):
        return [
            _error(
                12,
                f"GENERATION_DURATIONS must be whole seconds from 1 to {DURATION_MAX}, ascending, each "
                f"once, not {durations!r}.",
            )
        ]
    return []


def _tier_problems(tiers: Any, durations: Any) -> list[CheckMessage]:
    if not isinstance(tiers, dict) or set(tiers) != set(TIERS):
        return [_error(6, f"GENERATION_TIERS must name exactly the tiers {', '.join(TIERS)}.")]
    problems: list[CheckMessage] = []
    for tier, limits in tiers.items():
        name = f"GENERATION_TIERS[{tier!r}]"
        for key in ("daily_seconds", "active"):
            value = limits.get(key)
            if not isinstance(value, int) or value < 1:
                problems.append(
                    _error(6, f"{name}[{key!r}] must be a whole number of 1 or more, not {value!r}.")
                )
        longest = limits.get("max_duration")
        if longest not in durations:
            problems.append(
                _error(6, f"{name}['max_duration'] must be one of GENERATION_DURATIONS, not {longest!r}.")
            )
    return problems


def _short_side_problems(sides: Any) -> list[CheckMessage]:
    if not isinstance(sides, dict) or set(sides) != set(QUALITIES):
        return [_error(7, f"GENERATION_SHORT_SIDE must give a size for each of {', '.join(QUALITIES)}.")]
    return [
        _error(7, f"GENERATION_SHORT_SIDE[{quality!r}] must be 16 to 4096 pixels, not {side!r}.")
        for quality, side in sides.items()
        if not isinstance(side, int) or not 16 <= side <= 4096
    ]
