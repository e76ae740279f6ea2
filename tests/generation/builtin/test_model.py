"""The network: patches, rotary positions, cutting slots, growing depth, the noise."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from generation.builtin.model import (
    KinoDiT,
    ModelConfig,
    grow_depth,
    rope_angles,
    rope_apply,
    split_slots,
    video_noise,
)
from tests.generation.builtin.helpers import pairs_averaged


def test_patches_round_trip_and_the_network_predicts_both_streams():
    config = ModelConfig(frames=8, size=16, patch=8, dim=32, depth=1, heads=2, rope=True)
    model = KinoDiT(config)
    video = torch.randn(2, 3, 8, 16, 16)
    audio = torch.randn(2, config.audio_steps, config.audio_bands)
    assert torch.equal(model.video_unpatchify(model.video_patchify(video)), video)
    assert torch.equal(model.audio_unpatchify(model.audio_patchify(audio)), audio)
    text = torch.randn(2, config.text_tokens, 384)
    out_v, out_a = model(
        video,
        audio,
        torch.rand(2),
        text,
        torch.ones(2, config.text_tokens, dtype=torch.bool),
        torch.randn(2, 384),
    )
    assert out_v.shape == video.shape
    assert out_a.shape == audio.shape


def test_rotary_positions_make_attention_see_offsets_not_places():
    config = ModelConfig(frames=8, size=32, patch=8, dim=48, heads=2, rope=True)
    grid = config.size // config.patch
    angles = rope_angles(config)[:, None]
    tokens = angles.shape[0]
    assert tokens == config.text_tokens + config.video_tokens + config.slots
    q, k = (torch.randn(24).expand(1, tokens, 1, 24) for _ in range(2))  # the same vectors everywhere
    q, k = (rope_apply(x, angles.cos(), angles.sin())[0, :, 0] for x in (q, k))

    def at(slot: int, row: int, col: int) -> int:
        return config.text_tokens + (slot * grid + row) * grid + col

    def score(a: int, b: int) -> float:
        return float(q[a] @ k[b])

    one_slot_later = score(at(0, 1, 1), at(1, 1, 1))
    assert score(at(2, 3, 0), at(3, 3, 0)) == pytest.approx(one_slot_later, abs=1e-4)
    assert score(at(0, 1, 1), at(1, 2, 2)) != pytest.approx(one_slot_later, abs=1e-2)
    assert torch.equal(angles[: config.text_tokens], torch.zeros_like(angles[: config.text_tokens]))


def test_rotary_time_counts_frames_whatever_the_slot_length():
    long = ModelConfig(frames=8, size=16, patch=8, dim=48, heads=2, rope=True)
    short = replace(long, patch_t=1)
    cells = (long.size // long.patch) ** 2
    long_angles, short_angles = rope_angles(long), rope_angles(short)
    for slot in range(long.slots):  # long slot k starts at frame 2k, as does short slot 2k
        at_long = long.text_tokens + slot * cells
        at_short = short.text_tokens + 2 * slot * cells
        assert torch.equal(long_angles[at_long : at_long + cells], short_angles[at_short : at_short + cells])


def test_cut_slots_do_what_the_long_slots_did_on_a_clip_still_within_each_slot():
    torch.manual_seed(0)
    long = ModelConfig(frames=8, size=16, patch=8, dim=32, depth=2, heads=2)
    short = replace(long, patch_t=1)
    model = KinoDiT(long)
    for parameter in model.parameters():  # no zero-initialised layers: every weight matters
        torch.nn.init.normal_(parameter, std=0.1)
    cut = KinoDiT(short)
    cut.load_state_dict(split_slots(model.state_dict(), long, short))
    # Each 2-frame slot holds one still picture and one sound: then a short token embeds as its
    # long one did and, words left out, attends to the same mix, so it predicts the mean of the
    # long slot's two frames.
    video = torch.randn(2, 3, 4, 16, 16).repeat_interleave(2, dim=2)
    audio = torch.randn(2, 4, 1, long.bins_per_frame, long.audio_bands).expand(-1, -1, 2, -1, -1)
    audio = audio.reshape(2, long.audio_steps, long.audio_bands)
    t, text, pooled = torch.rand(2), torch.randn(2, long.text_tokens, 384), torch.randn(2, 384)
    no_words = torch.zeros(2, long.text_tokens, dtype=torch.bool)
    with torch.no_grad():
        long_v, long_a = model(video, audio, t, text, no_words, pooled)
        short_v, short_a = cut(video, audio, t, text, no_words, pooled)

    assert torch.allclose(short_v, pairs_averaged(long_v, 2, 1), atol=1e-5)
    assert torch.allclose(short_a, pairs_averaged(long_a, 1, long.bins_per_frame), atol=1e-5)
    with pytest.raises(ValueError, match="not the same network"):
        split_slots(model.state_dict(), long, replace(short, dim=64))


def test_a_grown_network_computes_what_the_shallow_one_did():
    torch.manual_seed(0)
    shallow = ModelConfig(frames=8, size=16, patch=8, dim=32, depth=2, heads=2, rope=True)
    deep = replace(shallow, depth=5)
    model = KinoDiT(shallow)
    for parameter in model.parameters():  # no zero-initialised layers: every weight matters
        torch.nn.init.normal_(parameter, std=0.1)
    grown = KinoDiT(deep)
    for parameter in grown.parameters():  # nor in the new network the extra blocks come from
        torch.nn.init.normal_(parameter, std=0.1)
    fresh = {name: value.clone() for name, value in grown.state_dict().items()}
    grown.load_state_dict(grow_depth(model.state_dict(), shallow, deep, fresh))
    video, audio = torch.randn(2, 3, 8, 16, 16), torch.randn(2, shallow.audio_steps, shallow.audio_bands)
    t, text, pooled = torch.rand(2), torch.randn(2, shallow.text_tokens, 384), torch.randn(2, 384)
    words = torch.ones(2, shallow.text_tokens, dtype=torch.bool)
    with torch.no_grad():
        for before, after in zip(
            model(video, audio, t, text, words, pooled),
            grown(video, audio, t, text, words, pooled),
            strict=True,
        ):
            assert torch.allclose(before, after, atol=1e-5)
    # The old blocks sit at 0 and 2 (of 5); the others are new and begin with a zero gate.
    assert torch.equal(grown.blocks[2].qkv.weight, model.blocks[1].qkv.weight)
    assert torch.equal(grown.blocks[3].mlp[0].weight, fresh["blocks.3.mlp.0.weight"])
    assert not grown.blocks[4].ada.weight.any()
    with pytest.raises(ValueError, match="not the same network"):
        grow_depth(model.state_dict(), shallow, replace(deep, dim=64), fresh)
    with pytest.raises(ValueError, match="fewer"):
        grow_depth(grown.state_dict(), deep, shallow, model.state_dict())


def test_video_noise_shares_the_asked_part_across_frames():
    generator = torch.Generator().manual_seed(0)
    noise = video_noise((64, 3, 4, 16, 16), 0.5, generator)
    assert float(noise.var()) == pytest.approx(1.0, abs=0.03)
    frames = noise.permute(2, 0, 1, 3, 4).reshape(4, -1)
    assert float(torch.corrcoef(frames)[0, 3]) == pytest.approx(0.5, abs=0.03)
    # Without correlation it is plain torch.randn, draw for draw.
    plain = video_noise((3, 4, 16, 16), 0.0, torch.Generator().manual_seed(1))
    assert torch.equal(plain, torch.randn((3, 4, 16, 16), generator=torch.Generator().manual_seed(1)))


def test_a_model_config_refuses_a_key_it_does_not_know():
    config = ModelConfig(dim=64, depth=2)
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match=r"unknown model key.*'dept'") as refused:
        ModelConfig.from_dict({"dim": 64, "dept": 2})
    assert "depth" in str(refused.value)  # the message lists what it would have taken
