"""Generation jobs and the per-day usage that quotas are counted against."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone

DURATIONS = (4, 8, 12)  # the clip lengths one may ask for, in seconds (each tier caps them)


class Job(models.Model):
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
    prompt = models.TextField()
    duration_s = models.PositiveSmallIntegerField()
    aspect = models.CharField(max_length=10, choices=Aspect.choices)
    quality = models.CharField(max_length=10, choices=Quality.choices)
    seed = models.BigIntegerField()
    start_image = models.FileField(upload_to="generation/start/", blank=True)
    remix_of_id = models.UUIDField(null=True, blank=True)
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
    """Generations a user started on a day (UTC). The row is locked to take or give back a unit."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="usage_once_per_day")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}: {self.used}"
