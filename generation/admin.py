"""Admin for generation jobs: by kind, state, user and engine (each with its typed and enhanced prompt,
a storyboard's shots, a stitch's parts); cancel and retry; per-engine counts and timings."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from generation import selectors, services
from generation.models import DailyUsage, Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "kind",
        "duration_s",
        "state",
        "stage",
        "percent_display",
        "attempts",
        "worker",
        "engine_name",
        "tier",
        "created_at",
        "run_seconds",
        "timings_display",
    )
    list_filter = (
        "kind",
        "state",
        "stage",
        "engine_name",
        "worker",
        "tier",
        "priority",
        "enhance",
        "aspect",
        "quality",
    )
    search_fields = ("id", "user__username", "prompt", "enhanced_prompt")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    readonly_fields = [*(field.name for field in Job._meta.fields), "timings_display"]
    actions = ["cancel", "retry"]
    change_list_template = "admin/generation/job/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Progress")
    def percent_display(self, job: Job) -> str:
        return f"{job.percent}% ({job.step}/{job.steps})" if job.steps else "-"

    @admin.display(description="Stages (s)")
    def timings_display(self, job: Job) -> str:
        return " · ".join(f"{t['stage']} {t['seconds']:.2f}" for t in job.timings) or "-"

    @admin.display(description="Run (s)")
    def run_seconds(self, job: Job) -> str:
        if job.started_at and job.finished_at:
            return f"{(job.finished_at - job.started_at).total_seconds():.1f}"
        return "-"

    @admin.action(
        description="Cancel selected (queued stop at once, running at the next step)", permissions=["change"]
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        jobs = list(queryset.filter(state__in=Job.ACTIVE))
        for job in jobs:
            services.generation_cancel(job=job)
        self.message_user(request, f"Cancel requested for {len(jobs)} jobs.", messages.SUCCESS)

    @admin.action(description="Retry selected failed or cancelled jobs", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        count = sum(services.generation_retry(job=job) for job in queryset)
        self.message_user(request, f"Queued {count} jobs again.", messages.SUCCESS)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            "engine_stats": selectors.engine_stats(),
            "queue_depths": selectors.queue_depths(),
            "stage_seconds": selectors.stage_seconds(),
        }
        return super().changelist_view(request, extra_context={**(extra_context or {}), **extra})


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin):
    list_display = ("user", "day", "seconds")
    list_filter = ("day",)
    search_fields = ("user__username",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)
