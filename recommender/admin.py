"""The recommender in the admin. Each part adds its pages under its heading.

Steering, teens and wellbeing (R3): guardian links (staff may end one, as either member may: the
teen's switches go back off), feed profiles with the guardian's switches, instructions and their
clauses, see-less videos and check-ins, read-only. Vectors are never shown, only whether one is stored.

Vectors (R1): posts' vector rows (flags, whether embedded and blended; embed again), members' and
posts' interest clusters and ALS factors, and the ALS trainings (queue one now).

Ranking (R2): the trained rankers (weights, offline metrics, which one serves; queue a training now)
and the logged impressions they learn from (what was served to whom, from which source, by which
model).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest

from recommender import guardians
from recommender.models import (
    CheckIn,
    CollabModel,
    FeedProfile,
    Guardianship,
    Impression,
    RankerModel,
    SeeLess,
    SteerClause,
    Steering,
    UserFactors,
    UserVector,
    VideoFactors,
    VideoVector,
)
from recommender.tasks import collab_train_task, ranker_train_task
from recommender.vectors import videos_embed


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows to look at; the services own every write."""

    hidden: tuple[str, ...] = ()  # vectors: 384 numbers say nothing to a person

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields if f.name not in self.hidden]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.hidden)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- steering, teens, wellbeing (R3) -----------------------------------------------------------


@admin.register(Guardianship)
class GuardianshipAdmin(ReadOnlyAdmin):
    list_display = ("id", "guardian", "teen", "state", "invited_by", "created_at", "confirmed_at", "ended_at")
    list_filter = ("state", "invited_by")
    search_fields = ("guardian__username", "teen__username")
    list_select_related = ("guardian", "teen")
    ordering = ("-created_at",)
    actions = ("end_links",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Ending is a change: the action needs it, the form stays read-only (get_readonly_fields).
        return bool(request.user.has_perm("recommender.change_guardianship"))

    @admin.action(description="End the selected links (the teens' switches go back off)")
    def end_links(self, request: HttpRequest, queryset: QuerySet[Guardianship]) -> None:
        ended = sum(guardians.guardianship_close(link=link) for link in queryset)
        self.message_user(request, f"{ended} link(s) ended.", messages.SUCCESS)


@admin.register(FeedProfile)
class FeedProfileAdmin(ReadOnlyAdmin):
    list_display = ("user_id", "personalisation_off", "continuous_scroll_off", "topics", "updated_at")
    list_filter = ("personalisation_off", "continuous_scroll_off")
    search_fields = ("user_id",)


@admin.register(Steering)
class SteeringAdmin(ReadOnlyAdmin):
    list_display = ("user_id", "text", "updated_at")
    search_fields = ("user_id", "text")


@admin.register(SteerClause)
class SteerClauseAdmin(ReadOnlyAdmin):
    hidden = ("vector",)
    list_display = ("user_id", "source", "direction", "text", "expires_at", "created_at")
    list_filter = ("source", "direction")
    search_fields = ("user_id", "text")


@admin.register(SeeLess)
class SeeLessAdmin(ReadOnlyAdmin):
    hidden = ("vector",)
    list_display = ("user_id", "video_id", "creator_id", "created_at")
    search_fields = ("user_id", "video_id", "creator_id")


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    list_display = ("id", "user_id", "shown_at", "answer", "answered_at")
    list_filter = ("answer",)
    search_fields = ("user_id",)


# --- vectors (R1) ------------------------------------------------------------------------------------


@admin.register(VideoVector)
class VideoVectorAdmin(ReadOnlyAdmin):
    """Posts as ANN sees them: whether their vectors are stored, and the flags it filters on."""

    hidden = ("content", "vector")
    list_display = (
        "video_id",
        "creator_id",
        "posted_at",
        "in_feeds",
        "teen_ok",
        "teen_text_ok",
        "embedded",
        "blended",
        "updated_at",
    )
    list_filter = ("in_feeds", "teen_ok", "teen_text_ok")
    search_fields = ("video_id", "creator_id")
    actions = ("embed_again",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[VideoVector]:
        # The vectors stay in the database: the list only asks whether they are there.
        return (
            super()
            .get_queryset(request)
            .defer("content", "vector")
            .annotate(
                has_content=Q(content__isnull=False),
                has_collab=Exists(VideoFactors.objects.filter(video_id=OuterRef("video_id"))),
            )
        )

    @admin.display(boolean=True, description="content vector")
    def embedded(self, row: Any) -> bool:
        return bool(row.has_content)

    @admin.display(boolean=True, description="blended with behaviour")
    def blended(self, row: Any) -> bool:
        return bool(row.has_collab)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("recommender.change_videovector"))

    @admin.action(description="Embed the selected posts again now (their text as it is)")
    def embed_again(self, request: HttpRequest, queryset: QuerySet[VideoVector]) -> None:
        ids = list(queryset.values_list("video_id", flat=True))
        done = sum(videos_embed(ids[i : i + 64]) for i in range(0, len(ids), 64))
        self.message_user(request, f"{done} post(s) embedded.", messages.SUCCESS)


@admin.register(UserVector)
class UserVectorAdmin(ReadOnlyAdmin):
    """Members' interest clusters: how many events each holds and its share of their attention."""

    hidden = ("vector",)
    list_display = ("user_id", "slot", "weight", "events", "updated_at")
    search_fields = ("user_id",)
    ordering = ("user_id", "slot")


@admin.register(UserFactors)
class UserFactorsAdmin(ReadOnlyAdmin):
    hidden = ("collab",)
    list_display = ("user_id", "model_version", "updated_at")
    search_fields = ("user_id", "model_version")


@admin.register(VideoFactors)
class VideoFactorsAdmin(ReadOnlyAdmin):
    hidden = ("collab",)
    list_display = ("video_id", "model_version", "updated_at")
    search_fields = ("video_id", "model_version")


class TrainingsAdmin(ReadOnlyAdmin):
    """A model's trainings; staff who may change them may queue a new one (`task`, run by a worker)."""

    task: Any = None
    actions = ("train_now",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        meta = self.model._meta
        return bool(request.user.has_perm(f"{meta.app_label}.change_{meta.model_name}"))

    @admin.action(description="Queue a new training now (select any row)")
    def train_now(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self.task.delay()
        self.message_user(request, "A training is queued; it appears here when it ends.", messages.SUCCESS)


@admin.register(CollabModel)
class CollabModelAdmin(TrainingsAdmin):
    """ALS trainings: what each learned from and how long it took."""

    task = collab_train_task
    list_display = ("version", "trained_at", "users", "videos", "interactions", "seconds")


# --- ranking (R2) ------------------------------------------------------------------------------------


@admin.register(RankerModel)
class RankerModelAdmin(TrainingsAdmin):
    """Trained rankers: their offline metrics and weights, and which one serves (a new training serves
    only when it learned from enough impressions)."""

    task = ranker_train_task
    list_display = ("version", "trained_at", "active", "impressions", "auc")
    list_filter = ("active",)
    search_fields = ("version",)

    @admin.display(description="impressions")
    def impressions(self, row: RankerModel) -> Any:
        return row.metrics.get("impressions", "")

    @admin.display(description="AUC per outcome (held-out newest 20 %)")
    def auc(self, row: RankerModel) -> str:
        # None: the held-out part had one class only
        aucs = row.metrics.get("auc", {}).items()
        return ", ".join(f"{outcome} {'n/a' if value is None else f'{value:.3f}'}" for outcome, value in aucs)


@admin.register(Impression)
class ImpressionAdmin(ReadOnlyAdmin):
    """What the feed served, to whom, from which source and by which ranker (its training data)."""

    list_display = ("served_at", "user_id", "video_id", "position", "source", "score", "model_version")
    list_filter = ("source",)
    search_fields = ("user_id", "video_id", "model_version")
    date_hierarchy = "served_at"
    show_full_result_count = False  # the log is large: no count(*) on every page
