"""A rendered clip to what phones play: MP4 (H.264 yuv420p, AAC, moov first) and a JPEG poster."""

from __future__ import annotations

import io
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from mediakit.clip import Clip, EncodedClip

AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


PHONE_SHORT_SIDE = 256  # the smallest short side Kino delivers


def frames_for_phones(frames: np.ndarray, min_short_side: int = PHONE_SHORT_SIDE) -> np.ndarray:
    """Small native frames scaled up (nearest: the pixels stay honest) and made even for yuv420p; frames
    already that large come back as they are (cropped to even sizes). The watermark is drawn on these."""
    _, height, width, _ = frames.shape
    scale = max(1, -(-min_short_side // min(height, width)))  # ceil
    if scale > 1:
        frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    return frames[:, : frames.shape[1] // 2 * 2, : frames.shape[2] // 2 * 2]


def clip_encode(clip: Clip, *, min_short_side: int = PHONE_SHORT_SIDE, crf: int = 20) -> EncodedClip:
    frames = frames_for_phones(clip.frames, min_short_side)
    count, height, width, _ = frames.shape
    fps = Fraction(clip.fps).limit_denominator(1001)
    has_audio = clip.audio is not None and clip.audio.size > 0 and clip.sample_rate in AAC_RATES
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        # A real file: the fast-start pass reopens the output to move the index to the front.
        with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
            video = container.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.options = {"crf": str(crf), "preset": "veryfast"}
            audio_stream = None
            if has_audio:
                assert clip.audio is not None
                assert clip.sample_rate is not None
                channels = min(2, clip.audio.shape[0])
                audio_stream = container.add_stream("aac", rate=clip.sample_rate)
                audio_stream.layout = "stereo" if channels == 2 else "mono"
            for index, pixels in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
                frame.pts = index
                for packet in video.encode(frame):
                    container.mux(packet)
            for packet in video.encode():
                container.mux(packet)
            if audio_stream is not None:
                assert clip.audio is not None
                samples = np.clip(clip.audio[: 2 if audio_stream.layout.name == "stereo" else 1], -1, 1)
                samples = np.ascontiguousarray(samples.astype(np.float32))
                sound = av.AudioFrame.from_ndarray(samples, format="fltp", layout=audio_stream.layout.name)
                sound.sample_rate = int(clip.sample_rate or 0)
                sound.pts = 0
                for packet in audio_stream.encode(sound):
                    container.mux(packet)
                for packet in audio_stream.encode():
                    container.mux(packet)
        mp4 = path.read_bytes()
    poster = io.BytesIO()
    Image.fromarray(frames[count // 2]).save(poster, format="JPEG", quality=85)
    return EncodedClip(
        mp4=mp4,
        poster_jpeg=poster.getvalue(),
        width=width,
        height=height,
        duration_ms=round(count * 1000 / clip.fps),
        fps=float(clip.fps),
        has_audio=has_audio,
    )
