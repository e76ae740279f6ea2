"""Helpers of the likeness tests: the face fixtures (tests/fixtures/faces, see its README), their
transforms, a registry with two public figures, and clips made of frames with a face in them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from mediakit import Clip
from moderation.likeness.registry import figure_face_add
from moderation.models import PublicFigure

FACES = Path(__file__).resolve().parent.parent / "fixtures" / "faces"
TOM_HANKS = FACES / "Tom_Hanks_54745.png"
ASTRONAUT = FACES / "astronaut.png"
SIX_PEOPLE = FACES / "t1.jpg"
# The six private people of t1.jpg (left, top, right, bottom), from the fixtures' README.
SIX_BOXES = [
    (1118, 283, 1226, 390),
    (67, 283, 175, 390),
    (724, 367, 832, 474),
    (450, 295, 557, 402),
    (870, 67, 999, 196),
    (275, 176, 364, 265),
]
ASTRONAUT_FACE = (175, 76, 265, 166)
MISSION_PATCH = (126, 335, 215, 425)  # the detector's false face on the astronaut's suit


def image(path: Path) -> Image.Image:
    return Image.open(path).convert("RGB")


def encoded(picture: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    out = io.BytesIO()
    picture.save(out, format=fmt, **options)
    return out.getvalue()


def jpeg(picture: Image.Image, quality: int) -> Image.Image:
    return Image.open(io.BytesIO(encoded(picture, "JPEG", quality=quality))).convert("RGB")


def transformed(picture: Image.Image, how: str) -> Image.Image:
    """The transforms a re-upload of a public figure's photo goes through."""
    width, height = picture.size
    transforms = {
        "mirrored": lambda: ImageOps.mirror(picture),
        "cropped": lambda: picture.crop(
            (int(width * 0.1), int(height * 0.05), int(width * 0.9), int(height * 0.95))
        ),
        "scaled_down": lambda: picture.resize((width * 2 // 3, height * 2 // 3), Image.Resampling.BILINEAR),
        "scaled_up": lambda: picture.resize((width * 2, height * 2), Image.Resampling.BICUBIC),
        "jpeg_q30": lambda: jpeg(picture, 30),
        "all_at_once": lambda: jpeg(
            ImageOps.mirror(picture)
            .crop((int(width * 0.05), 0, width, int(height * 0.95)))
            .resize((int(width * 0.7), int(height * 0.7))),
            40,
        ),
    }
    return transforms[how]()


TRANSFORMS = ["mirrored", "cropped", "scaled_down", "scaled_up", "jpeg_q30", "all_at_once"]


def register_figures() -> dict[str, PublicFigure]:
    """Tom Hanks (his 112 px photo) and the astronaut (her portrait above the mission patch)."""
    hanks = PublicFigure.objects.create(name="Tom Hanks", roles=["Forrest Gump"])
    figure_face_add(figure=hanks, image=TOM_HANKS.read_bytes(), filename="hanks.png")
    collins = PublicFigure.objects.create(name="Eileen Collins", aliases=["the astronaut"])
    portrait = image(ASTRONAUT).crop((0, 0, 512, 300))  # the patch below is a second (false) face
    figure_face_add(figure=collins, image=encoded(portrait), filename="collins.png")
    return {"hanks": hanks, "collins": collins}


def face_clip(face: Image.Image | None, *, seconds: float = 2.0, fps: float = 8.0, size=(320, 240)) -> Clip:
    """A clip of `seconds` at `fps`: a grey stage with `face` pasted in the middle from the second
    half on (None: no face at all), and a quiet tone for sound."""
    width, height = size
    count = int(seconds * fps)
    frames = np.full((count, height, width, 3), 90, dtype=np.uint8)
    if face is not None:
        side = height * 2 // 3
        pasted = np.asarray(face.resize((side, side), Image.Resampling.BICUBIC))
        top, left = (height - side) // 2, (width - side) // 2
        frames[count // 2 :, top : top + side, left : left + side] = pasted
    tone = np.sin(2 * np.pi * 220 * np.arange(int(16000 * seconds)) / 16000).astype(np.float32)
    return Clip(frames=frames, fps=fps, audio=0.1 * tone[None], sample_rate=16000)
