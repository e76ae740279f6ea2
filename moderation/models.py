"""Moderation's tables: the public-figure registry (names, roles, faces, voices), reports and the
queue items they fold into, moderators' claims, notes, decisions, labels, appeals, and the
append-only audit log.

Objects that moderation acts on but does not own (videos and comments in `feed`, cameos in
`cameos`, members in `accounts`) are named by kind and id (`subject_kind`, `subject_id`), never by a
foreign key: moderation sits below those apps, and a record of a decision outlives its subject.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

FACE_DIMENSIONS = 128  # dlib's ResNet face descriptor
VOICE_DIMENSIONS = 256  # resemblyzer's utterance embedding
REPORT_TEXT_MAX = 1000
REASON_TEXT_MAX = 2000


class SubjectKind(models.TextChoices):
    VIDEO = "video"
    COMMENT = "comment"
    USER = "user"
    CAMEO = "cameo"
    JOB = "job"


class Category(models.TextChoices):
    """Content categories of the text policy, report reasons and queues share these names."""

    SEXUAL_MINORS = "sexual_minors"
    SEXUAL = "sexual"
    VIOLENCE = "violence"
    HATE = "hate"
    HARASSMENT = "harassment"
    SELF_HARM = "self_harm"
    EXTREMISM = "extremism"
    MISLEADING = "misleading"


class LabelKind(models.TextChoices):
    """Graded outcomes short of a takedown; the recommender reads them."""

    WARN = "warn"  # shown behind a warning
    NOT_IN_FEEDS = "not_in_feeds"  # reachable by link and profile, never recommended
    NOT_FOR_TEENS = "not_for_teens"


def figure_photo_path(face: FigureFace, filename: str) -> str:
    return f"moderation/figures/{face.figure_id}/faces/{uuid.uuid4().hex}-{filename}"


def figure_voice_path(voice: FigureVoice, filename: str) -> str:
    return f"moderation/figures/{voice.figure_id}/voices/{uuid.uuid4().hex}-{filename}"


class PublicFigure(models.Model):
    """A person whose likeness Kino blocks: their names, the roles and characters they are known
    for (matched like aliases), their faces and voices."""

    class Status(models.TextChoices):
        LIVING = "living"
        DECEASED = "deceased"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    aliases = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    roles = ArrayField(
        models.CharField(max_length=200),
        default=list,
        blank=True,
        help_text="Roles and characters the person is known for; matched like aliases.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LIVING)
    estate_block = models.BooleanField(
        default=False, help_text="Deceased: the estate's representative asked, a moderator registered it."
    )
    estate_contact = models.CharField(max_length=300, blank=True, default="")
    # A figure who registered their own cameo may allow its use: that cameo's faces do not block.
    allowed_cameo_id = models.UUIDField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def blocks(self) -> bool:
        """Living figures always; deceased ones once their estate's block is registered."""
        return self.active and (self.status == self.Status.LIVING or self.estate_block)


class FigureFace(models.Model):
    """One reference photo of a figure, with the descriptor of the one face in it (embedded on save)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    figure = models.ForeignKey(PublicFigure, on_delete=models.CASCADE, related_name="faces")
    photo = models.ImageField(upload_to=figure_photo_path)
    embedding = VectorField(dimensions=FACE_DIMENSIONS)
    box = ArrayField(models.IntegerField(), size=4, default=list, blank=True)  # left, top, right, bottom
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            HnswIndex(
                name="figure_face_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_l2_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.figure_id} face {self.id}"


class FigureVoice(models.Model):
    """One voice sample of a figure, with its utterance embedding."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    figure = models.ForeignKey(PublicFigure, on_delete=models.CASCADE, related_name="voices")
    sample = models.FileField(upload_to=figure_voice_path)
    embedding = VectorField(dimensions=VOICE_DIMENSIONS)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            HnswIndex(
                name="figure_voice_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.figure_id} voice {self.id}"


class QueueItem(models.Model):
    """One thing for a moderator to judge: the reports on one object folded together, an automatic
    verdict worth a human look, or an appeal of a decision."""

    class Kind(models.TextChoices):
        REPORT = "report"
        AUTOMATIC = "automatic"
        APPEAL = "appeal"

    class Queue(models.TextChoices):
        MINORS = "minors"
        LIKENESS = "likeness"
        VIOLENCE = "violence"
        SEXUAL = "sexual"
        HATE = "hate"
        SELF_HARM = "self_harm"
        SPAM = "spam"
        GENERAL = "general"

    class State(models.TextChoices):
        OPEN = "open"
        CLAIMED = "claimed"
        DECIDED = "decided"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REPORT)
    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices)
    subject_id = models.UUIDField()
    subject_owner_id = models.UUIDField(null=True, blank=True, help_text="The person a decision affects.")
    queue = models.CharField(max_length=12, choices=Queue.choices, default=Queue.GENERAL)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    severity = models.PositiveSmallIntegerField(default=1)
    reports_count = models.PositiveIntegerField(default=0)
    reach = models.PositiveBigIntegerField(default=0, help_text="The object's audience when last scored.")
    priority = models.FloatField(default=0.0)
    summary = models.CharField(max_length=300, blank=True, default="")
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    # An appeal's item names the decision appealed; its moderator may not review it.
    appeal = models.OneToOneField(
        "Appeal", null=True, blank=True, on_delete=models.CASCADE, related_name="item"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-priority", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_kind", "subject_id"],
                condition=Q(state__in=["open", "claimed"]) & ~Q(kind="appeal"),
                name="queue_item_open_once",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "queue", "-priority"], name="queue_item_pick"),
            models.Index(fields=["subject_kind", "subject_id"], name="queue_item_subject"),
        ]
        permissions = [("claim_queueitem", "Can claim and decide queue items")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject_kind} {self.subject_id}"


class Report(models.Model):
    """A member's report of an object; one per reporter and object (a second folds into the first)."""

    class Reason(models.TextChoices):
        SEXUAL_MINORS = "sexual_minors", "Sexual content involving minors"
        SEXUAL = "sexual", "Sexual content"
        VIOLENCE = "violence", "Graphic violence"
        HATE = "hate", "Hate"
        HARASSMENT = "harassment", "Harassment or bullying"
        SELF_HARM = "self_harm", "Self-harm"
        EXTREMISM = "extremism", "Violent extremism"
        MISLEADING = "misleading", "Misleading real-world news"
        IMPERSONATION = "impersonation", "Uses a real person's likeness"
        CAMEO_MISUSE = "cameo_misuse", "Misuses my cameo"
        SPAM = "spam", "Spam"
        OTHER = "other", "Something else"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="reports")
    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices)
    subject_id = models.UUIDField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    text = models.CharField(max_length=REPORT_TEXT_MAX, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    outcome_told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["reporter", "subject_kind", "subject_id"], name="report_once"),
        ]

    def __str__(self) -> str:
        return f"{self.reason}: {self.subject_kind} {self.subject_id}"


class Note(models.Model):
    """A moderator's internal note on a queue item; never shown to members."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(max_length=REASON_TEXT_MAX)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.text[:60]


class Decision(models.Model):
    """A moderator's decision on a queue item, with the statement of reasons the affected person reads."""

    class Action(models.TextChoices):
        TAKE_DOWN = "take_down"
        RESTORE = "restore"
        DISMISS = "dismiss"
        LABEL = "label"
        BAN_USER = "ban_user"
        BLOCK_LIKENESS = "block_likeness"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    item = models.ForeignKey(QueueItem, on_delete=models.CASCADE, related_name="decisions")
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    labels = ArrayField(models.CharField(max_length=16, choices=LabelKind.choices), default=list, blank=True)
    reason_code = models.CharField(max_length=40)
    reason_text = models.TextField(max_length=REASON_TEXT_MAX)
    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices)
    subject_id = models.UUIDField()
    affected_user_id = models.UUIDField(null=True, blank=True)
    appealable_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["affected_user_id", "-created_at"], name="decision_affected")]

    def __str__(self) -> str:
        return f"{self.action} {self.subject_kind} {self.subject_id}"


class Appeal(models.Model):
    """The affected person's one appeal of a decision, reviewed by another moderator."""

    class Outcome(models.TextChoices):
        PENDING = "pending"
        UPHELD = "upheld"
        OVERTURNED = "overturned"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    decision = models.OneToOneField(Decision, on_delete=models.CASCADE, related_name="appeal")
    appellant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appeals")
    text = models.TextField(max_length=REASON_TEXT_MAX)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome_text = models.TextField(max_length=REASON_TEXT_MAX, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome_told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"appeal of {self.decision_id}: {self.outcome}"


class Label(models.Model):
    """A graded outcome on an object (warn, not in feeds, not for teens); the recommender reads them."""

    id = models.BigAutoField(primary_key=True)
    subject_kind = models.CharField(max_length=10, choices=SubjectKind.choices)
    subject_id = models.UUIDField()
    label = models.CharField(max_length=16, choices=LabelKind.choices)
    decision = models.ForeignKey(Decision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject_kind", "subject_id", "label"], name="label_once"),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.subject_kind} {self.subject_id}"


class AuditEntry(models.Model):
    """Every automatic verdict and every human action: who, what, when, why, before and after.

    Append-only: the database refuses UPDATE and DELETE on this table (a trigger, migration 0001),
    and the admin shows it read-only. `actor_id` is a plain id (no foreign key), so an entry
    outlives the account of whoever acted; `actor` is their username then; empty for the system.
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    actor_id = models.UUIDField(null=True, blank=True)
    actor = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=40, db_index=True)
    subject_kind = models.CharField(max_length=10, blank=True, default="")
    subject_id = models.CharField(max_length=64, blank=True, default="")
    reason_code = models.CharField(max_length=40, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # a verdict's evidence: frames, distances, entries

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subject_kind", "subject_id", "-at"], name="audit_subject")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor or 'system'} {self.action}"


class EstateRequest(models.Model):
    """An estate's representative asks Kino to block a deceased person's likeness; a moderator checks
    the claim and registers the block in the registry (moderation/estates.py)."""

    class State(models.TextChoices):
        OPEN = "open"
        REGISTERED = "registered"
        DECLINED = "declined"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person_name = models.CharField(max_length=200, help_text="The deceased person, as the estate names them.")
    aliases = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    roles = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    representative = models.CharField(max_length=200, help_text="Who asks, and for whom they act.")
    contact_email = models.EmailField()
    text = models.TextField(max_length=REASON_TEXT_MAX, blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    figure = models.ForeignKey(
        PublicFigure, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["state", "-created_at"]

    def __str__(self) -> str:
        return f"estate of {self.person_name} ({self.state})"
