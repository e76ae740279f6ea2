from __future__ import annotations

import io

import av
import numpy as np
import pytest

from mediakit import Clip
from mediakit.encode import clip_encode


def tone(seconds: float, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.4 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)])).astype(np.float32)


@pytest.mark.parametrize("with_audio", [True, False], ids=["with-audio", "silent"])
def test_mp4_is_h264_yuv420p_aac_fast_start(with_audio):
    frames = np.random.default_rng(0).integers(0, 255, (17, 64, 32, 3), dtype=np.uint8)
    clip = Clip(
        frames=frames,
        fps=8,
        audio=tone(2.1) if with_audio else None,
        sample_rate=16000 if with_audio else None,
    )
    encoded = clip_encode(clip, min_short_side=256)
    assert encoded.mp4.index(b"moov") < encoded.mp4.index(b"mdat")  # playable while downloading
    container = av.open(io.BytesIO(encoded.mp4))
    video = container.streams.video[0]
    assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
    assert (video.codec_context.width, video.codec_context.height) == (256, 512)  # scaled up 8x, nearest
    assert sum(1 for _ in container.decode(video=0)) == 17
    assert [s.codec_context.name for s in container.streams.audio] == (["aac"] if with_audio else [])
    assert encoded.has_audio is with_audio
    assert encoded.duration_ms == 2125
    assert encoded.poster_jpeg[:2] == b"\xff\xd8"
