"""The feed's tables: videos (drafts, posts and their tombstones), their hot counters, the cameos in
them, mentions, likes, comments, the client's view events, notifications and data exports.

Hot counters live in `VideoStats`, apart from `Video`: the recommender's vector index lives in its
own table too, and a like must not rewrite a row that an index over many columns points at.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

CAPTION_MAX = 500
COMMENT_MAX = 1000


def media_path(video: Video, filename: str) -> str:
    return f"videos/{video.owner_id}/{video.id}/{filename}"


def export_path(export: DataExport, filename: str) -> str:
    return f"exports/{export.user_id}/{export.id}/{filename}"


class Video(models.Model):
    class MadeAs(models.TextChoices):
        GENERATION = "generation", "From a prompt"
        REMIX = "remix", "A remix of remix_of"
        EXTENSION = "extension", "An extension of remix_of (it goes on from its end)"
        STITCH = "stitch", "Drafts stitched together"
        STORYBOARD = "storyboard", "A storyboard's shots"

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"  # its owner's only (and, with cameos, the cast's)
        POSTED = "posted", "Posted"  # everyone's, but those blocked either way
        REMOVED = "removed", "Removed"  # taken down by a moderator: a tombstone
        DELETED = "deleted", "Deleted"  # deleted by its owner: files gone, a tombstone

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    source_job_id = models.UUIDField(null=True, blank=True, help_text="The generation job that made it.")
    # The parent post of a remix. A plain id, not a foreign key: a parent deleted with its owner's
    # account still names the chain (the child shows it as a tombstone).
    remix_of_id = models.UUIDField(null=True, blank=True)
    # Materialised path: the ids of every ancestor, root first, parent last ([] for an original).
    # Ancestors are one lookup by primary key, descendants one GIN-indexed containment test.
    lineage = ArrayField(models.UUIDField(), default=list, blank=True)
    depth = models.PositiveIntegerField(default=0, help_text="len(lineage)")
    # db_default too: rows written by COPY (the benchmarks' seeding) get it from the database.
    made_as = models.CharField(
        max_length=12, choices=MadeAs.choices, default=MadeAs.GENERATION, db_default=MadeAs.GENERATION
    )
    remix_allowed = models.BooleanField(default=True)
    prompt = models.TextField()
    caption = models.CharField(max_length=CAPTION_MAX, blank=True, default="")
    video = models.FileField(upload_to=media_path, blank=True)
    poster = models.FileField(upload_to=media_path, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration_ms = models.PositiveIntegerField()
    fps = models.FloatField()
    has_audio = models.BooleanField()
    engine = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    posted_at = models.DateTimeField(null=True, blank=True, help_text="When it was (last) posted.")
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A job retried after its worker died still yields exactly one draft.
            models.UniqueConstraint(fields=["source_job_id"], name="video_one_draft_per_job"),
            models.CheckConstraint(
                condition=~Q(state="posted") | Q(posted_at__isnull=False), name="video_posted_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "state", "-created_at"]),
            # A profile's grid and its remixes tab.
            models.Index(
                fields=["owner", "-posted_at", "-id"], condition=Q(state="posted"), name="video_grid"
            ),
            # Direct remixes of one post, newest first (100,000 of them answer from this index).
            models.Index(
                fields=["remix_of_id", "-created_at", "-id"],
                condition=~Q(state="draft"),
                name="video_remixes",
            ),
            GinIndex(fields=["lineage"], name="video_lineage"),
        ]

    def __str__(self) -> str:
        return f"{self.state} {self.id}"


class VideoStats(models.Model):
    """The hot counters of one video, each changed with F() (never read-modify-write)."""

    video = models.OneToOneField(Video, primary_key=True, on_delete=models.CASCADE, related_name="stats")
    likes = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    remixes = models.PositiveIntegerField(default=0, help_text="Direct remixes that are posted.")
    descendants = models.PositiveIntegerField(default=0, help_text="Posted remixes at any depth.")
    views = models.PositiveBigIntegerField(default=0)
    watch_ms = models.PositiveBigIntegerField(default=0)
    shares = models.PositiveIntegerField(default=0)
    downloads = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "video stats"

    def __str__(self) -> str:
        return f"stats of {self.video_id}"


class VideoCameo(models.Model):
    """A cameo cast in a video (filled by the cameos issue): its owner sees the drafts and finds the
    posts on their profile."""

    id = models.BigAutoField(primary_key=True)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="cameos")
    cameo_id = models.UUIDField()
    cameo_owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["video", "cameo_id"], name="video_cameo_once")]
        indexes = [models.Index(fields=["cameo_owner", "video"])]

    def __str__(self) -> str:
        return f"cameo {self.cameo_id} in {self.video_id}"


class Comment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="comment_set")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    # One level of replies: a reply's parent is always a top-level comment.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.CharField(max_length=COMMENT_MAX)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Taken down by a moderator: hidden with its replies, out of the counter, until restored.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["video", "-created_at", "-id"], condition=Q(parent__isnull=True), name="comment_top"
            ),
            models.Index(fields=["parent", "-created_at", "-id"], name="comment_replies"),
            models.Index(fields=["author", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"comment {self.id} on {self.video_id}"


class Mention(models.Model):
    """`@username` in a caption or a comment, resolved when written: the link follows the member
    through renames, and `written_as` is what the text says."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentions")
    video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.CASCADE, related_name="mentions")
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="mentions"
    )
    written_as = models.CharField(max_length=150)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(video__isnull=False, comment__isnull=True)
                | Q(video__isnull=True, comment__isnull=False),
                name="mention_in_one_place",
            ),
            models.UniqueConstraint(fields=["video", "user"], name="mention_once_per_video"),
            models.UniqueConstraint(fields=["comment", "user"], name="mention_once_per_comment"),
        ]

    def __str__(self) -> str:
        return f"@{self.written_as}"


class Like(models.Model):
    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["video", "user"], name="like_once")]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["video", "-created_at", "-id"], name="like_page"),  # a post's likers
        ]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.video_id}"


class ViewEvent(models.Model):
    """What the client saw and did, in batches (`POST /api/v1/events`); the recommender trains on it.

    Deduplicated by (user, client_event_id). Pruned by time: rows older than
    FEED_EVENTS_RETENTION_DAYS are deleted in batches by a periodic task (see docs/architecture.md).
    """

    class Kind(models.TextChoices):
        IMPRESSION = "impression"
        VIEW_START = "view_start"
        WATCH_PROGRESS = "watch_progress"
        LIKE = "like"
        SKIP = "skip"
        SHARE = "share"
        SEE_LESS = "see_less"

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()  # no foreign key: ingestion stays one INSERT; deletion prunes by user
    video_id = models.UUIDField()
    client_event_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    watch_ms = models.PositiveIntegerField(default=0)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "client_event_id"], name="view_event_once"),
        ]
        indexes = [
            models.Index(fields=["received_at"]),
            models.Index(fields=["user_id", "-occurred_at"]),
            models.Index(fields=["video_id", "kind"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.video_id}"


class NotificationGroup(models.Model):
    """What the notifications page lists: one row per group (Mastodon 4.3's grouped notifications).

    Likes, remixes and follows of one target within FEED_NOTIFICATION_GROUP_WINDOW_S share a
    `group_key` and fold into one row with a count and the latest actors; every other type gets a
    key of its own. Each actor's part is a `Notification` (the full list of actors).
    """

    class Type(models.TextChoices):
        LIKED = "liked"
        COMMENTED = "commented"
        REPLIED = "replied"
        MENTIONED = "mentioned"
        FOLLOWED = "followed"
        REMIXED = "remixed"
        CAMEO_USED = "cameo_used"
        CAMEO_REQUESTED = "cameo_requested"
        CAMEO_APPROVED = "cameo_approved"
        CAMEO_DENIED = "cameo_denied"
        CAMEO_REVOKED = "cameo_revoked"
        CAMEO_LEVEL_CHANGED = "cameo_level_changed"
        CAMEO_DELETED = "cameo_deleted"
        CAMEO_SUSPENDED = "cameo_suspended"
        CAMEO_LIKENESS_REMOVED = "cameo_likeness_removed"  # to the video's creator
        GENERATION_FINISHED = "generation_finished"
        MODERATION = "moderation"
        GUARDIAN_INVITED = "guardian_invited"  # a guardian link to confirm (recommender's teens)
        GUARDIAN_LINK_CHANGED = "guardian_link_changed"  # the other side confirmed or ended it

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_groups"
    )
    type = models.CharField(max_length=24, choices=Type.choices)
    group_key = models.CharField(max_length=120)
    target_kind = models.CharField(max_length=16, blank=True, default="")  # "video", "comment", "user", "job"
    target_id = models.UUIDField(null=True, blank=True)
    count = models.PositiveIntegerField(default=1)
    latest_actor_ids = ArrayField(models.UUIDField(), default=list, blank=True)  # newest first, a few
    data = models.JSONField(default=dict, blank=True)  # e.g. the comment's excerpt, the job's state
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "group_key"], name="notification_group_once"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-updated_at", "-id"], name="notification_page"),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return f"{self.type} x{self.count} for {self.recipient_id}"


class Notification(models.Model):
    """One actor's part in a group (the list behind `/notifications/{group}/actors`)."""

    id = models.BigAutoField(primary_key=True)
    group = models.ForeignKey(NotificationGroup, on_delete=models.CASCADE, related_name="notifications")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # An actor counts once per group: liking, unliking and liking again is not news twice.
            models.UniqueConstraint(fields=["group", "actor"], name="notification_actor_once"),
        ]
        indexes = [models.Index(fields=["group", "-created_at", "-id"])]

    def __str__(self) -> str:
        return f"{self.actor_id} in {self.group_id}"


class NotificationPreference(models.Model):
    class Mode(models.TextChoices):
        OFF = "off", "Off"  # not stored, not sent
        IN_APP = "in_app", "In the app only"  # stored and listed, no live event
        PUSH = "push", "Push"  # stored, listed and pushed to the member's live sockets

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    type = models.CharField(max_length=24, choices=NotificationGroup.Type.choices)
    mode = models.CharField(max_length=8, choices=Mode.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "type"], name="notification_preference_once")]

    def __str__(self) -> str:
        return f"{self.type}: {self.mode}"


class DataExport(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exports")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    percent = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to=export_path, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One export at a time per person.
            models.UniqueConstraint(
                fields=["user"], condition=Q(state__in=["queued", "running"]), name="export_one_at_a_time"
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.id} ({self.state})"
