"""Videos: drafts (made by a generation job) and, once the feed issue lands, posts."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def media_path(video: Video, filename: str) -> str:
    return f"videos/{video.owner_id}/{video.id}/{filename}"


class Video(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        REMOVED = "removed", "Removed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    source_job_id = models.UUIDField(null=True, blank=True, help_text="The generation job that made it.")
    remix_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="remixes"
    )
    prompt = models.TextField()
    video = models.FileField(upload_to=media_path)
    poster = models.FileField(upload_to=media_path)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration_ms = models.PositiveIntegerField()
    fps = models.FloatField()
    has_audio = models.BooleanField()
    engine = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A job retried after its worker died still yields exactly one draft.
            models.UniqueConstraint(fields=["source_job_id"], name="video_one_draft_per_job"),
        ]
        indexes = [models.Index(fields=["owner", "state", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.state} {self.id}"
