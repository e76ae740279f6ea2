"""Tiny, randomly initialised LTX-2 and Wan pipelines of the real diffusers classes, built offline.

Tests save one to a folder and load it through the production loader; `make run` uses one
until a real model (or the built-in one) is configured. Their output is noise, and the
folder carries a marker that makes the engine say so in its name.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch

from generation.engines.diffusers_engine import TINY_MARKER

VOCABULARY = (
    "<pad> <unk> <bos> <eos> a an the of on in at with and to red green blue yellow white black orange "
    "purple ball cube cat dog robot person car bird fish tree house sky floor wall beach city forest "
    "bouncing rolling running dancing flying falling spinning jumping walking swimming sunset night day"
).split()
SPECIAL = {"pad_token": "<pad>", "unk_token": "<unk>", "bos_token": "<bos>", "eos_token": "<eos>"}


def _tokenizer() -> Any:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    model = models.WordLevel({word: i for i, word in enumerate(VOCABULARY)}, unk_token=SPECIAL["unk_token"])
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL)


# The tiny Gemma 3 text encoder of the LTX-2 pipeline; the connectors read its layers' states.
LTX2_TEXT = {
    "vocab_size": len(VOCABULARY),
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 16,
    "max_position_embeddings": 128,
    "sliding_window": 64,
}
LTX2_AUDIO_CHANNELS, LTX2_MEL_BINS = 2, 8  # the vocoder reads the audio VAE's output: channels x mel bins


def _ltx2_text_encoder() -> Any:
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    vision_config = {
        "hidden_size": 16,
        "intermediate_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "image_size": 28,
        "patch_size": 14,
    }
    return Gemma3ForConditionalGeneration(
        Gemma3Config(text_config=LTX2_TEXT, vision_config=vision_config, mm_tokens_per_image=4)
    )


def _ltx2_transformer() -> Any:
    from diffusers import LTX2VideoTransformer3DModel

    return LTX2VideoTransformer3DModel(
        in_channels=4,
        out_channels=4,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        audio_in_channels=4,
        audio_out_channels=4,
        audio_num_attention_heads=2,
        audio_attention_head_dim=4,
        audio_cross_attention_dim=8,
        num_layers=2,
        qk_norm="rms_norm_across_heads",
        caption_channels=LTX2_TEXT["hidden_size"],
        rope_double_precision=False,
        rope_type="split",
    )


def _ltx2_connectors() -> Any:
    from diffusers.pipelines.ltx2 import LTX2TextConnectors

    return LTX2TextConnectors(
        caption_channels=LTX2_TEXT["hidden_size"],
        text_proj_in_factor=LTX2_TEXT["num_hidden_layers"] + 1,
        video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8,
        video_connector_num_layers=1,
        video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8,
        audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32,
        rope_theta=10000.0,
        rope_double_precision=False,
        causal_temporal_positioning=False,
        rope_type="split",
    )


def _ltx2_vae() -> Any:
    from diffusers import AutoencoderKLLTX2Video

    return AutoencoderKLLTX2Video(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8,),
        decoder_block_out_channels=(8,),
        layers_per_block=(1,),
        decoder_layers_per_block=(1, 1),
        spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,),
        decoder_inject_noise=(False, False),
        downsample_type=("spatial",),
        upsample_residual=(False,),
        upsample_factor=(1,),
        timestep_conditioning=False,
        patch_size=4,  # 8x smaller frames in all (4 x its one 2x block): few video tokens, fast tests
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )


def _ltx2_audio_vae() -> Any:
    from diffusers import AutoencoderKLLTX2Audio

    return AutoencoderKLLTX2Audio(
        base_channels=4,
        output_channels=LTX2_AUDIO_CHANNELS,
        ch_mult=(1,),
        num_res_blocks=1,
        attn_resolutions=None,
        in_channels=2,
        resolution=32,
        latent_channels=2,
        norm_type="pixel",
        causality_axis="height",
        dropout=0.0,
        mid_block_add_attention=False,
        sample_rate=16000,
        mel_hop_length=160,
        is_causal=True,
        mel_bins=LTX2_MEL_BINS,
    )


def _ltx2_vocoder() -> Any:
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder

    return LTX2Vocoder(
        in_channels=LTX2_AUDIO_CHANNELS * LTX2_MEL_BINS,
        hidden_channels=32,
        out_channels=2,
        # 8 x 4 x 5 = the audio VAE's mel hop (160): the sound really is at 16 kHz, as long as the frames.
        upsample_kernel_sizes=[16, 8, 11],
        upsample_factors=[8, 4, 5],
        resnet_kernel_sizes=[3],
        resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1,
        output_sampling_rate=16000,
    )


def _ltx2_components() -> dict[str, Any]:
    from diffusers import FlowMatchEulerDiscreteScheduler

    # Seeded before the text encoder and again before the rest, in the order the weights were first made.
    torch.manual_seed(0)
    text_encoder = _ltx2_text_encoder()
    torch.manual_seed(0)
    transformer, connectors = _ltx2_transformer(), _ltx2_connectors()
    vae, audio_vae, vocoder = _ltx2_vae(), _ltx2_audio_vae(), _ltx2_vocoder()
    return {
        "transformer": transformer,
        "vae": vae,
        "audio_vae": audio_vae,
        "scheduler": FlowMatchEulerDiscreteScheduler(),
        "text_encoder": text_encoder,
        "tokenizer": _tokenizer(),
        "connectors": connectors,
        "vocoder": vocoder,
    }


def _wan_text_encoder() -> Any:
    from transformers import UMT5Config, UMT5EncoderModel

    return UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(VOCABULARY),
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
            dropout_rate=0.0,
        )
    )


def _wan_transformer(vace: bool) -> Any:
    from diffusers import WanTransformer3DModel, WanVACETransformer3DModel

    # VACE adds context blocks that read reference images (vace_in_channels = 2 x z_dim + 8 x 8 mask).
    transformer_class, extra = (
        (WanVACETransformer3DModel, {"vace_layers": [0, 1], "vace_in_channels": 96})
        if vace
        else (WanTransformer3DModel, {})
    )
    return transformer_class(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        **extra,
    )


def _wan_components(vace: bool = False) -> dict[str, Any]:
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler

    torch.manual_seed(0)
    text_encoder = _wan_text_encoder()
    torch.manual_seed(0)
    transformer = _wan_transformer(vace)
    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    return {
        "transformer": transformer,
        "vae": vae,
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=3.0),
        "text_encoder": text_encoder,
        "tokenizer": _tokenizer(),
    }


def tiny_pipeline_save(kind: str, folder: Path) -> Path:
    """Build a tiny random `kind` ("ltx2", "wan" or "wan-vace") pipeline and save it to `folder`."""
    import diffusers

    builders = {
        "ltx2": ("LTX2Pipeline", _ltx2_components),
        "wan": ("WanPipeline", _wan_components),
        "wan-vace": ("WanVACEPipeline", lambda: _wan_components(vace=True)),
    }
    class_name, build = builders[kind]
    pipeline_class = getattr(diffusers, class_name)
    components = build()
    for name in inspect.signature(pipeline_class.__init__).parameters:
        if name not in components and name not in ("self", "args", "kwargs"):
            components[name] = None  # optional components (prompt enhancer, processor, ...)
    folder.mkdir(parents=True, exist_ok=True)
    pipeline_class(**components).save_pretrained(folder)
    (folder / TINY_MARKER).write_text(f"tiny random {class_name}: its output is noise\n")
    return folder
