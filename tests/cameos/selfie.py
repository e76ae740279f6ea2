"""Selfie videos for the registration tests, built from one still photo.

SYNTHESISED: nobody filmed these. A face from tests/fixtures/faces/t1.jpg is pasted on a plain
background, and a "head turn" is faked by a smooth warp that slides the inner face (eyes, nose,
mouth) sideways while its outline stays put, which is how a turn moves the 68 landmarks a
liveness check reads. It passes for a turn to the landmarks, not to a person. The same still
without the warp (held, or moved and zoomed across the screen) is what a replayed photo looks
like: the tests show liveness refuses it.

The digits are read by espeak-ng (installed by `make test`; tests that need it skip when it is
absent) and muxed in as AAC with PyAV; the video is H.264 in MP4 unless asked otherwise.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps
from scipy.ndimage import map_coordinates

from tests.moderation.likeness import SIX_BOXES, SIX_PEOPLE

VOICES = Path(__file__).resolve().parent.parent / "fixtures" / "voices"
RATE = 16_000
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# The digits' speaker: espeak-ng's voice and speed.
ESPEAK_VOICE = "en-us+f3"  # of five voices measured, the one pocketsphinx hears best (phrase.py)
ESPEAK_SPEED = 140


def tools_missing() -> str | None:
    """Why the phrase can't be spoken here (a skip reason), or None."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make test installs it: apt-get install espeak-ng sox)"
    return None


def framed(picture: Image.Image, box: tuple[int, int, int, int], *, margin: float = 1.0) -> Image.Image:
    """The face at `box` of `picture` with `margin` x its size around it on each side, so that the face
    fills the middle third; past the photo's edges its border pixels are repeated."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    pad = int(max(width, height) * (margin + 0.5))
    pixels = np.pad(np.asarray(picture.convert("RGB")), ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    crop = (
        int(left - margin * width) + pad,
        int(top - margin * height) + pad,
        int(right + margin * width) + pad,
        int(bottom + margin * height) + pad,
    )
    return Image.fromarray(pixels).crop(crop)


def person(index: int = 3) -> Image.Image:
    """One of t1.jpg's six people (the fourth looks at the camera), framed."""
    return framed(Image.open(SIX_PEOPLE), SIX_BOXES[index])


def disguised(picture: Image.Image) -> Image.Image:
    """The same face as another account would upload it: mirrored, cropped, recompressed."""
    width, height = picture.size
    mirrored = ImageOps.mirror(picture).crop(
        (
            int(width * 0.07),
            int(height * 0.07),
            int(width * 0.93),
            int(height * 0.93),
        )  # the face stays central
    )
    out = io.BytesIO()
    mirrored.save(out, format="JPEG", quality=35)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def spoken(digits: str, *, voice: str = ESPEAK_VOICE) -> np.ndarray:
    """espeak-ng reading `digits` ("4 7 2 9 1"), float32 mono at 16 kHz."""
    words = " ".join(NAMES[int(d)] for d in digits.split())
    with tempfile.TemporaryDirectory() as folder:
        raw, wav = Path(folder) / "raw.wav", Path(folder) / "out.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(ESPEAK_SPEED), "-w", str(raw), words],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["sox", str(raw), "-r", str(RATE), "-c", "1", str(wav)], check=True, capture_output=True
        )
        with av.open(str(wav)) as container:
            chunks = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    samples = np.concatenate(chunks)
    if samples.dtype == np.int16:
        return (samples.astype(np.float32) / 32768.0).astype(np.float32)
    return samples.astype(np.float32)


def speaker_turns(label: str) -> list[np.ndarray]:
    """Each turn of one real speaker of sample.wav ("speaker90" Diane, "speaker91" Sheila; see
    tests/fixtures/voices/README.md), longest first: float32 mono 16 kHz."""
    turns = []
    for line in (VOICES / "sample.rttm").read_text().splitlines():
        parts = line.split()
        if parts[7] == label:
            turns.append((float(parts[4]), float(parts[3])))
    with av.open(str(VOICES / "sample.wav")) as container:
        chunks = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    wav = np.concatenate(chunks)
    wav = wav.astype(np.float32) / (32768.0 if wav.dtype == np.int16 else 1.0)
    return [
        wav[int(start * RATE) : int((start + length) * RATE)].astype(np.float32)
        for length, start in sorted(turns, reverse=True)
    ]


def _turn_track(turns: tuple[str, ...], count: int, fps: float) -> np.ndarray:
    """The faked turn per frame, -1..1 (> 0: the subject's left): a frontal start of about a second,
    then each asked turn out and back, then frontal again."""
    track = np.zeros(count)
    start = int(fps * 1.0)
    span = max(1, int((count - start - fps * 0.8) / max(1, len(turns))))
    for number, turn in enumerate(turns):
        sign = 1.0 if turn == "left" else -1.0
        first = start + number * span
        phase = np.linspace(0, np.pi, span)
        track[first : first + span] = sign * np.sin(phase)[: len(track[first : first + span])]
    return track


def _warped(face: np.ndarray, amount: float, box: tuple[float, float, float, float]) -> np.ndarray:
    """The face with its inner features slid `amount` (-1..1) sideways inside an outline that stays."""
    if abs(amount) < 1e-3:
        return face
    cx, cy, fw, fh = box
    height, width = face.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u = np.clip((xs - cx) / (0.62 * fw), -1, 1)
    v = np.clip((ys - cy) / (0.75 * fh), -1, 1)
    bump = np.cos(u * np.pi / 2) ** 2 * np.cos(v * np.pi / 2) ** 2
    shift = amount * 0.3 * fw * bump  # > 0 moves the features to the picture's right
    source_x = xs - shift
    out = np.empty_like(face)
    for channel in range(3):
        out[..., channel] = map_coordinates(face[..., channel], [ys, source_x], order=1, mode="nearest")
    return out


def frames(
    picture: Image.Image,
    *,
    turns: tuple[str, ...] = ("left", "right"),
    motion: str = "turn",  # "turn": the faked turns; "still": the photo held; "translate": moved and zoomed
    seconds: float = 6.0,
    fps: float = 15.0,
    size: tuple[int, int] = (640, 480),
) -> list[np.ndarray]:
    """The video's frames, uint8 [H, W, 3]."""
    width, height = size
    side = int(height * 0.8)
    scale = side / picture.height
    face = np.asarray(picture.resize((int(picture.width * scale), side), Image.Resampling.BICUBIC))
    fh_, fw_ = face.shape[:2]
    # The face box sits in the middle third of the crop (person(margin=1.0)).
    face_box = (fw_ / 2, fh_ / 2, fw_ / 3, fh_ / 3)
    count = int(seconds * fps)
    track = _turn_track(turns, count, fps) if motion == "turn" else np.zeros(count)
    rng = np.random.default_rng(7)
    out = []
    for number in range(count):
        canvas = np.full((height, width, 3), (120, 128, 136), dtype=np.uint8)
        image = _warped(face, float(track[number]), face_box)
        dx, dy, zoom = rng.integers(-3, 4), rng.integers(-2, 3), 1.0  # a hand holding the phone
        if motion == "translate":
            t = number / max(1, count - 1)
            dx, dy, zoom = int((t - 0.5) * width * 0.45), int(np.sin(t * 6) * 20), 0.8 + 0.3 * t
        if zoom != 1.0:
            image = np.asarray(
                Image.fromarray(image).resize((int(fw_ * zoom), int(fh_ * zoom)), Image.Resampling.BILINEAR)
            )
        h, w = image.shape[:2]
        left, top = (width - w) // 2 + dx, (height - h) // 2 + dy
        _paste(canvas, image, left, top)
        out.append(canvas)
    return out


def _paste(canvas: np.ndarray, image: np.ndarray, left: int, top: int) -> None:
    height, width = canvas.shape[:2]
    h, w = image.shape[:2]
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(width, left + w), min(height, top + h)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = image[y0 - top : y1 - top, x0 - left : x1 - left]


def video(
    pictures: list[np.ndarray],
    *,
    fps: float = 15.0,
    audio: np.ndarray | None = None,
    container_format: str = "mp4",
) -> bytes:
    """Frames (and float32 mono 16 kHz sound, placed from 1.2 s) as an MP4 (H.264 + AAC) or a WebM
    (VP8 + Opus)."""
    out = io.BytesIO()
    video_codec, audio_codec = ("libx264", "aac") if container_format == "mp4" else ("libvpx", "libopus")
    with av.open(out, mode="w", format=container_format) as container:
        stream = container.add_stream(video_codec, rate=int(fps))
        stream.width, stream.height = pictures[0].shape[1], pictures[0].shape[0]
        stream.pix_fmt = "yuv420p"
        sound = None
        if audio is not None:
            rate = 48_000 if audio_codec == "libopus" else RATE
            sound = container.add_stream(audio_codec, rate=rate)
            sound.layout = "mono"
        for picture in pictures:
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None and audio is not None:
            _mux_audio(container, sound, audio, len(pictures) / fps)
    return out.getvalue()


def _mux_audio(
    container: av.container.OutputContainer, sound: av.AudioStream, audio: np.ndarray, seconds: float
) -> None:
    track = np.zeros(int(seconds * RATE), dtype=np.float32)
    start = int(1.2 * RATE)
    piece = audio[: max(0, len(track) - start)]
    track[start : start + len(piece)] = piece
    resampler = av.AudioResampler(format=sound.format.name, layout="mono", rate=sound.rate)
    frame = av.AudioFrame.from_ndarray(track[None], format="flt", layout="mono")
    frame.sample_rate = RATE
    frame.pts = 0
    for chunk in resampler.resample(frame) + resampler.resample(None):
        for packet in sound.encode(chunk):
            container.mux(packet)
    for packet in sound.encode():
        container.mux(packet)


def selfie(
    picture: Image.Image | None = None,
    *,
    digits: str | None = "4 7 2 9 1",
    turns: tuple[str, ...] = ("left", "right"),
    motion: str = "turn",
    seconds: float = 6.0,
    fps: float = 15.0,
    size: tuple[int, int] = (640, 480),
    container_format: str = "mp4",
) -> bytes:
    """A whole selfie upload: `picture` (t1.jpg's fourth person by default) turning as asked and
    (unless `digits` is None) espeak-ng reading the digits."""
    shots = frames(picture or person(), turns=turns, motion=motion, seconds=seconds, fps=fps, size=size)
    audio = spoken(digits) if digits else None
    return video(shots, fps=fps, audio=audio, container_format=container_format)


def wav_bytes(samples: np.ndarray) -> bytes:
    """float32 mono 16 kHz as a 16-bit WAV file (a voice sample recorded apart from the video)."""
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()
