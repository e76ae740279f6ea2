"""Provenance's tables: the fingerprints of every video Kino made.

`VideoPrint` is one row per fingerprinted video (drafts too: a copy of a draft reads "made in
Kino" without saying whose); `FramePrint` holds its PDQ hashes, one per sampled frame and window,
as pgvector `bit(256)` under an HNSW index on Hamming distance. Videos are named by plain ids (feed's
`Video.id`): provenance sits above feed and never holds its rows.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from pgvector.django import BitField, HnswIndex

HASH_BITS = 256


class VideoPrint(models.Model):
    video_id = models.UUIDField(primary_key=True, help_text="feed's Video.id")
    duration_ms = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # The @handle its watermark shows (the lookup masks the mark's boxes when comparing pixels).
    handle = models.CharField(max_length=64, blank=True, default="")
    # provenance.audio's packed landmark hashes; empty for a silent clip.
    audio = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"prints of {self.video_id}"


class FramePrint(models.Model):
    """One PDQ hash: one sampled frame (`at_ms` into the clip) seen through one window."""

    id = models.BigAutoField(primary_key=True)
    video = models.ForeignKey(VideoPrint, on_delete=models.CASCADE, related_name="frames")
    at_ms = models.PositiveIntegerField()
    window = models.PositiveSmallIntegerField(help_text="provenance.fingerprints.WINDOWS index")
    hash = BitField(length=HASH_BITS)

    class Meta:
        indexes = [
            HnswIndex(
                name="frameprint_hash_hnsw",
                fields=["hash"],
                m=16,
                ef_construction=64,
                opclasses=["bit_hamming_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.video_id} @{self.at_ms} ms w{self.window}"
