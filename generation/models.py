"""Generation jobs and the per-day usage that quotas are counted against."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

SHOTS_MAX = 8  # shots in one storyboard
PARTS_MIN, PARTS_MAX = 2, 10  # drafts joined in one stitch


class Job(models.Model):
    class Kind(models.TextChoices):
        GENERATION = "generation", "Generation"  # a clip from a prompt (a remix too: remix_of_id)
        EXTENSION = "extension", "Extension"  # a clip that goes on from another's last frames
        STITCH = "stitch", "Stitch"  # drafts joined into one (no model runs)
        STORYBOARD = "storyboard", "Storyboard"  # shots rendered one after another and joined

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        BLOCKED = "blocked", "Blocked"

    ACTIVE = (State.QUEUED, State.RUNNING)
    FINISHED = (State.SUCCEEDED, State.FAILED, State.CANCELLED, State.BLOCKED)

    class Aspect(models.TextChoices):
        PORTRAIT = "portrait", "9:16"
        LANDSCAPE = "landscape", "16:9"
        SQUARE = "square", "1:1"

    class Quality(models.TextChoices):
        DRAFT = "draft", "Draft"
        STANDARD = "standard", "Standard"
        HIGH = "high", "High"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generation_jobs"
    )
    idempotency_key = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.GENERATION)
    prompt = models.TextField(help_text="As typed (a storyboard's: its shots' prompts, one per line).")
    enhance = models.BooleanField(default=True, help_text="Whether the prompt is enhanced before rendering.")
    enhanced_prompt = models.TextField(
        blank=True, help_text="What the engine was given, once the `enhance` stage ran (blank: as typed)."
    )
    unmapped = ArrayField(
        models.CharField(max_length=100),
        default=list,
        blank=True,
        help_text="The prompt's words the enhancer could not map onto what the engine knows.",
    )
    enhancer = models.CharField(max_length=50, blank=True)
    duration_s = models.PositiveSmallIntegerField(help_text="Seconds of video: what the quota counts.")
    aspect = models.CharField(max_length=10, choices=Aspect.choices)
    quality = models.CharField(max_length=10, choices=Quality.choices)
    seed = models.BigIntegerField()
    start_image = models.FileField(upload_to="generation/start/", blank=True)
    remix_of_id = models.UUIDField(null=True, blank=True)
    extend_of_id = models.UUIDField(null=True, blank=True, help_text="The video an extension goes on from.")
    parts = ArrayField(
        models.UUIDField(), default=list, blank=True, help_text="A stitch's drafts, in the order joined."
    )
    shots = models.JSONField(
        default=list,
        blank=True,
        help_text='A storyboard\'s shots: [{"prompt", "duration_s", "cameos", "enhanced_prompt", '
        '"unmapped"}], in order.',
    )
    shot = models.PositiveSmallIntegerField(
        default=0, help_text="The storyboard shot (or stitch part) being made, from 1 (0: none yet)."
    )
    cameo_ids = ArrayField(
        models.UUIDField(),
        default=list,
        blank=True,
        help_text="The cameos cast (consent is checked at the request, before rendering and at the draft).",
    )
    cameo_handles = ArrayField(
        models.CharField(max_length=30),
        default=list,
        blank=True,
        help_text="The cast's handles as the request named them, in cameo_ids' order (what the API shows).",
    )
    tier = models.CharField(max_length=20, help_text="Quota and priority tier at the time of the request.")
    priority = models.BooleanField(default=False)

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    stop_code = models.CharField(
        max_length=50,
        blank=True,
        help_text="Set when an app stopped the job from outside (consent revoked, member banned): "
        "the running attempt ends blocked with this code at its next step.",
    )
    stage = models.CharField(
        max_length=30, blank=True, help_text="The pipeline stage the latest attempt is in (or ended in)."
    )
    timings = models.JSONField(
        default=list,
        blank=True,
        help_text='Seconds each stage of the latest attempt took, in order: [{"stage", "seconds"}, ...].',
    )
    step = models.PositiveIntegerField(default=0)
    steps = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(
        max_length=200, blank=True, help_text="The Celery worker of the latest attempt."
    )
    engine_name = models.CharField(max_length=200, blank=True)
    engine_version = models.CharField(max_length=64, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    num_frames = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    video_id = models.UUIDField(null=True, blank=True, help_text="The draft it made.")
    quota_day = models.DateField()
    quota_refunded = models.BooleanField(default=False)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life from its worker.")
    dispatched_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its task was last handed to the broker (a lost one is sent again).",
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="job_idempotency_key_once",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "state"]),
            models.Index(fields=["state", "heartbeat_at"]),
            models.Index(fields=["user", "-created_at"]),
            # A revoked consent finds the active jobs casting the cameo.
            GinIndex(
                fields=["cameo_ids"],
                name="job_cameo_ids_gin",
                condition=models.Q(state__in=("queued", "running")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.state} {self.id}"

    @property
    def percent(self) -> int:
        if self.state == self.State.SUCCEEDED:
            return 100
        return int(100 * self.step / self.steps) if self.steps else 0

    @property
    def eta_s(self) -> float | None:
        if self.state != self.State.RUNNING or not self.step or not self.steps or self.started_at is None:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return round(elapsed / self.step * (self.steps - self.step), 1)


class DailyUsage(models.Model):
    """Seconds of video a user asked for on a day (UTC). The row is locked to take or give them back."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    seconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="usage_once_per_day")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}: {self.seconds} s"
