"""PDQ in numpy against Facebook's reference, and the frame prints a clip gets.

The golden hashes were written by the reference implementation (the `pdqhash` package, C++) from the
same pictures; this suite does not import it (it needs a compiler to install)."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generation.builtin.world import scene_render, scene_sample
from mediakit.encode import frames_for_phones
from provenance import pdq
from provenance.fingerprints import PAINTED, WINDOWS, bits_text, clip_prints, prints_prune, prints_store
from provenance.models import FramePrint, VideoPrint
from provenance.watermark import watermark_burn
from tests.factories import VideoFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _world_frame() -> np.ndarray:
    rng = np.random.default_rng(7)
    return scene_render(scene_sample(rng), rng, frames=8, size=160, fps=8).frames[5]


def _noise() -> np.ndarray:
    return (np.random.default_rng(0).random((300, 257, 3)) * 255).astype(np.uint8)


def _picture(name: str) -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / "faces" / name).convert("RGB"))


# (picture, the reference's hash, its quality)
GOLDEN = [
    (
        lambda: _picture("astronaut.png"),
        "2d6b1af3a956c529e79ca3d2526fa834d4196c81cedd04de0a26b855fc99b724",
        100,
    ),
    (
        lambda: _picture("Tom_Hanks_54745.png"),
        "b25b30daf0e6cc31948cb263d38b34d6c71399e11a78d2cf4e9b5b6313c94b1c",
        100,
    ),
    (_noise, "0c8d774388665273dd95cdcd522840eafa7a7cd7d7a200635237dacf3e826954", 100),
    (_world_frame, "b42de3c607e13c2dc3d687e13c07c256e5ad3bc2cc61f53c0bd6fc61033c02de", 48),
]
# The reference's eight dihedral hashes of the astronaut, in its order.
ASTRONAUT_DIHEDRAL = {
    "original": "2d6b1af3a956c529e79ca3d2526fa834d4196c81cedd04de0a26b855fc99b724",
    "rotate90": "3da7e51dad47bd78e16e670c4e2943fe4c7219cbf30992499ab254c2e6182d19",
    "rotate180": "783ab059fc236f83b2c90978073a029e814cc62b9ba8ae745f7352ffa9cc1d8e",
    "rotate270": "68f24fb3701217d2a41bcda6197cc9541927b361865c38e3cfa77a68b24d87b3",
    "flip": "0d6be50ca85632d6c79c5c29506f57c9d4199376c6ddfb210a2607aafc9948db",
    "mirror": "783a4fa6fc23907cb2c9f687073afd61814c39d49b88518b5f73ed00a9cce271",
    "transpose": "3da71ae2ad474287e16e98f34e29bc014c72e634d3096db69ab22b3de618d2e6",
    "antitranspose": "68f2b04cf812e82db43b32591b7c16ab19274c9ea67cc71ccfe70197b34d784c",
}


def _bits(hex_hash: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(hex_hash), np.uint8)).astype(bool)[::-1]


@pytest.mark.parametrize(("picture", "expected", "quality"), GOLDEN)
def test_pdq_matches_the_reference(picture, expected, quality) -> None:
    got = pdq.pdq_hash(picture())
    assert pdq.hamming(got.bits, _bits(expected)) <= 4
    assert abs(got.quality - quality) <= 1
    assert len(got.hex) == 64
    assert len(got.bits_text) == 256


def test_dihedral_variants_come_from_one_dct() -> None:
    coefficients, _ = pdq.pdq_dct(_picture("astronaut.png"))
    for variant, expected in ASTRONAUT_DIHEDRAL.items():
        got = pdq.bits_from_dct(pdq.dihedral(coefficients, variant))
        assert pdq.hamming(got, _bits(expected)) <= 4, variant


def test_a_mirrored_picture_hashes_as_the_mirror_variant() -> None:
    image = _noise()
    coefficients, _ = pdq.pdq_dct(image)
    mirrored = pdq.pdq_hash(np.ascontiguousarray(image[:, ::-1])).bits
    assert pdq.hamming(mirrored, pdq.bits_from_dct(pdq.dihedral(coefficients, "mirror"))) <= 8
    assert pdq.hamming(mirrored, pdq.pdq_hash(image).bits) > 64  # the variant is not the original


def _posted(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = scene_render(scene_sample(rng), rng, frames=32, size=64, fps=8).frames
    return watermark_burn(frames_for_phones(frames), 8.0, "maker")


def test_clip_prints_hash_every_sampled_frame_and_the_windows_once_a_second() -> None:
    prints = clip_prints(_posted(3), 8.0, None, None, handle="maker")
    times = sorted(set(prints.times_ms.tolist()))
    assert times[0] == 0
    assert set(times) <= set(range(0, 4000, 250))  # SAMPLE_FPS
    assert prints.hashes.shape == (prints.count, 256)
    at_zero = set(prints.windows[prints.times_ms == 0].tolist())
    assert at_zero == set(range(len(WINDOWS)))  # every window at 0 s, the painted-out frame too
    assert set(prints.windows[prints.times_ms == 500].tolist()) <= {0, PAINTED}
    assert PAINTED not in prints.windows[prints.times_ms == 250]  # painted out twice a second
    assert prints.audio == b""


def test_a_pan_is_hashed_four_times_a_second() -> None:
    prints = clip_prints(_posted(106), 8.0, None, None, handle="maker")  # 106 pans quickly
    assert prints.times_ms[prints.windows == 0].tolist() == list(range(0, 4000, 250))
    assert prints.times_ms[prints.windows == PAINTED].tolist() == list(range(0, 4000, 500))


def test_a_small_moving_object_keeps_its_frames() -> None:
    """A star falling past a still sky hardly moves the hash, but the frames must stay: a match to the
    first of a dropped run would put a copy at the wrong time."""
    frames = _posted(36_584)  # a star falls for 1.5 s, then rests
    prints = clip_prints(frames, 8.0, None, None)
    assert set(range(0, 1500, 250)) <= set(prints.times_ms.tolist())


def test_without_a_handle_nothing_is_painted_out() -> None:
    prints = clip_prints(_posted(4), 8.0, None, None)
    assert PAINTED not in prints.windows


def test_clip_prints_hear_the_sound() -> None:
    rng = np.random.default_rng(5)
    rendered = scene_render(scene_sample(rng), rng, frames=32, size=64, fps=8)
    prints = clip_prints(rendered.frames, 8.0, rendered.audio, 16_000)
    assert len(prints.audio) > 0
    assert clip_prints(rendered.frames, 8.0, np.zeros(64_000, np.float32), 16_000).audio == b""


@pytest.mark.django_db
def test_prints_store_writes_one_row_per_hash_and_replaces_them() -> None:
    video_id = uuid.uuid4()
    prints = clip_prints(_posted(6), 8.0, None, None, handle="maker")
    prints_store(video_id, prints, width=256, height=256, duration_ms=4000)
    prints_store(video_id, prints, width=256, height=256, duration_ms=4000)
    stored = VideoPrint.objects.get(video_id=video_id)
    assert (stored.handle, stored.duration_ms) == ("maker", 4000)
    rows = FramePrint.objects.filter(video_id=video_id)
    assert rows.count() == prints.count
    first = rows.get(at_ms=0, window=0).hash
    text = first.to_text() if hasattr(first, "to_text") else str(first)
    assert text == bits_text(prints.hashes[0]) == pdq.PdqHash(prints.hashes[0], 0).bits_text


@pytest.mark.django_db
def test_the_prints_of_deleted_videos_are_pruned_and_others_kept(settings):
    kept, deleted = VideoFactory(), VideoFactory()
    frames = np.random.default_rng(3).integers(0, 255, (16, 64, 64, 3), dtype=np.uint8)
    for video in (kept, deleted):
        prints_store(video.id, clip_prints(frames, 8.0, None, None), width=64, height=64, duration_ms=2000)
    deleted.delete()

    assert prints_prune() == 1
    assert list(VideoPrint.objects.values_list("video_id", flat=True)) == [kept.id]
    assert not FramePrint.objects.filter(video_id=deleted.id).exists()
    assert FramePrint.objects.filter(video_id=kept.id).exists()
    assert "provenance.fingerprints.prints_prune" in settings.WORKER_PERIODIC
