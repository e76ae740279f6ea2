"""The moderators' desk in the admin: the queue ordered by priority, one item's page with everything
needed to judge it side by side, and the claim / release / note / decide buttons, each a POST to a
view here that calls the services (moderation.queue, .decisions, .appeals) and shows their refusals
as admin messages. Reports, decisions, appeals and labels are read-only pages: they change only
through those services.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from config.errors import KinoError
from moderation import queue as queue_services
from moderation.admin.desk import DeskContext, desk_context
from moderation.appeals import appeal_decide
from moderation.decisions import REASON_CODES, decision_make
from moderation.models import (
    REASON_TEXT_MAX,
    Appeal,
    Decision,
    Label,
    LabelKind,
    QueueItem,
    Report,
)

CLAIM = "moderation.claim_queueitem"
NOTE = "moderation.add_note"


def reason_code_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} — {text}") for code, text in REASON_CODES.items()]


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=Decision.Action.choices)
    reason_code = forms.ChoiceField(choices=reason_code_choices, label="Reason code")
    reason_text = forms.CharField(
        max_length=REASON_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Reason",
        help_text="The statement of reasons the affected person reads, with the code.",
    )
    labels = forms.MultipleChoiceField(
        choices=LabelKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For the label action.",
    )
    figure_name = forms.CharField(
        max_length=200, required=False, help_text="For block likeness: the person whose likeness it is."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("action") == Decision.Action.BLOCK_LIKENESS and not cleaned.get("figure_name"):
            self.add_error("figure_name", "Name the person whose likeness to block.")
        if cleaned.get("action") == Decision.Action.LABEL and not cleaned.get("labels"):
            self.add_error("labels", "Pick at least one label.")
        return cleaned


class AppealDecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=[(Appeal.Outcome.UPHELD, "Uphold the decision"), (Appeal.Outcome.OVERTURNED, "Overturn it")]
    )
    reason_text = forms.CharField(
        max_length=REASON_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Reason",
        help_text="What the appellant reads.",
    )


class NoteForm(forms.Form):
    text = forms.CharField(max_length=REASON_TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2}))


def _refused(request: HttpRequest, exc: KinoError) -> None:
    messages.error(request, f"{exc.detail} ({exc.code})")


@admin.register(QueueItem)
class QueueItemAdmin(admin.ModelAdmin):
    list_display = (
        "subject_display",
        "kind",
        "queue",
        "state",
        "score",
        "reports_count",
        "claimed_by",
        "waiting",
    )
    list_display_links = ("subject_display",)
    list_filter = ("queue", "state", "kind", "subject_kind")
    list_select_related = ("claimed_by",)
    search_fields = ("summary", "=subject_id", "=id")
    actions = None
    change_form_template = "admin/moderation/queueitem/desk.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[QueueItem]:
        # Not super()'s: it would order by the score before items_ordered annotates it.
        return queue_services.items_ordered(QueueItem.objects.all())

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        return ("-score_key", "id")  # items_ordered's score: the stored priority raised by age

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # items come from reports, automatic verdicts and appeals

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a decided item is the record of its decision

    @admin.display(description="Subject")
    def subject_display(self, item: QueueItem) -> str:
        return item.summary or f"{item.subject_kind} {item.subject_id}"

    @admin.display(description="Priority")
    def score(self, item: QueueItem) -> str:
        return f"{queue_services.priority_now(item):.1f}"

    @admin.display(description="Waiting", ordering="created_at")
    def waiting(self, item: QueueItem) -> str:
        end = item.decided_at or timezone.now()
        hours = (end - item.created_at).total_seconds() / 3600
        return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} d"

    def get_urls(self) -> list[Any]:
        def view(name: str, handler: Any) -> Any:
            return path(
                f"<uuid:item_id>/{name}/",
                self.admin_site.admin_view(handler),
                name=f"moderation_queueitem_{name}",
            )

        return [
            view("claim", self.claim_view),
            view("release", self.release_view),
            view("note", self.note_view),
            view("decide", self.decide_view),
            *super().get_urls(),
        ]

    # --- the item's page -------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])  # every change goes through the buttons' views
        item = self._item(request, object_id)
        return self._desk(request, item)

    def _item(self, request: HttpRequest, object_id: str | UUID) -> QueueItem:
        try:
            UUID(str(object_id))
        except ValueError:
            raise Http404 from None
        item = get_object_or_404(
            QueueItem.objects.select_related(
                "claimed_by", "appeal__decision__moderator", "appeal__appellant"
            ),
            id=object_id,
        )
        if not self.has_view_permission(request, item):
            raise PermissionDenied
        return item

    def _desk(
        self,
        request: HttpRequest,
        item: QueueItem,
        *,
        decision_form: forms.Form | None = None,
        note_form: forms.Form | None = None,
        status: int = 200,
    ) -> HttpResponse:
        user = request.user
        is_appeal = item.kind == QueueItem.Kind.APPEAL
        if decision_form is None:
            decision_form = AppealDecisionForm() if is_appeal else DecisionForm()
        desk: DeskContext = desk_context(item)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(item),
            "item": item,
            "desk": desk,
            "is_appeal": is_appeal,
            "decision_form": decision_form,
            "note_form": note_form or NoteForm(),
            "may_claim": user.has_perm(CLAIM),
            "may_note": user.has_perm(NOTE),
            "holds_claim": item.state == QueueItem.State.CLAIMED and item.claimed_by_id == user.pk,
            "claim_fresh": queue_services.claim_fresh(item),
            "score": queue_services.priority_now(item),
            "has_view_permission": True,
        }
        return TemplateResponse(request, self.change_form_template, context, status=status)

    # --- the buttons ----------------------------------------------------------------

    def _post_guard(self, request: HttpRequest, item_id: UUID, permission: str) -> QueueItem:
        if request.method != "POST":
            raise PermissionDenied
        item = self._item(request, item_id)
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return item

    def _back(self, item_id: UUID) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:moderation_queueitem_change", args=[item_id]))

    def claim_view(self, request: HttpRequest, item_id: UUID) -> HttpResponse:
        self._post_guard(request, item_id, CLAIM)
        done = "Claimed: nobody else may work this item while you hold it."
        return self._button(request, item_id, queue_services.item_claim, done)

    def release_view(self, request: HttpRequest, item_id: UUID) -> HttpResponse:
        self._post_guard(request, item_id, CLAIM)
        return self._button(
            request, item_id, queue_services.item_release, "Released: the item is back in the queue."
        )

    def _button(self, request: HttpRequest, item_id: UUID, service: Any, done: str) -> HttpResponse:
        try:
            service(item_id=item_id, moderator=request.user)
        except KinoError as exc:
            _refused(request, exc)
        else:
            messages.success(request, done)
        return self._back(item_id)

    def note_view(self, request: HttpRequest, item_id: UUID) -> HttpResponse:
        item = self._post_guard(request, item_id, NOTE)
        form = NoteForm(request.POST)
        if not form.is_valid():
            return self._desk(request, item, note_form=form, status=400)
        try:
            queue_services.note_add(item_id=item_id, author=request.user, text=form.cleaned_data["text"])
        except KinoError as exc:
            _refused(request, exc)
        else:
            messages.success(request, "Note added.")
        return self._back(item_id)

    def decide_view(self, request: HttpRequest, item_id: UUID) -> HttpResponse:
        item = self._post_guard(request, item_id, CLAIM)
        is_appeal = item.kind == QueueItem.Kind.APPEAL
        form: forms.Form = AppealDecisionForm(request.POST) if is_appeal else DecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The decision was not made: correct the form below.")
            return self._desk(request, item, decision_form=form, status=400)
        data = form.cleaned_data
        try:
            if is_appeal:
                appeal = appeal_decide(
                    item_id=item_id,
                    moderator=request.user,
                    outcome=data["outcome"],
                    reason_text=data["reason_text"],
                )
                done = f"Appeal {appeal.outcome}."
            else:
                decision = decision_make(
                    item_id=item_id,
                    moderator=request.user,
                    action=data["action"],
                    reason_code=data["reason_code"],
                    reason_text=data["reason_text"],
                    labels=tuple(data["labels"]),
                    figure_name=data["figure_name"],
                )
                done = f"Decided: {decision.get_action_display()} ({decision.reason_code})."
        except KinoError as exc:
            _refused(request, exc)
            return self._desk(request, QueueItem.objects.get(id=item_id), decision_form=form, status=400)
        messages.success(request, done)
        return self._back(item_id)


# --- read-only records --------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows to look at: their services write them. The delete permission itself stays Django's
    (deleting a member in the admin checks it for their reports and appeals, which go with them);
    only this page's delete view and bulk delete are shut."""

    actions = None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        raise PermissionDenied


def _item_link(item_id: UUID | None) -> str:
    if item_id is None:
        return "—"
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:moderation_queueitem_change", args=[item_id]), "open item"
    )


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "reason",
        "subject_kind",
        "subject_id",
        "reporter",
        "text_short",
        "item_link",
    )
    list_filter = ("reason", "subject_kind")
    search_fields = ("=subject_id", "reporter__username", "text")
    list_select_related = ("reporter",)
    raw_id_fields = ("reporter", "item")

    @admin.display(description="Text")
    def text_short(self, report: Report) -> str:
        return report.text[:80]

    @admin.display(description="Queue item")
    def item_link(self, report: Report) -> str:
        return _item_link(report.item_id)


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "action",
        "reason_code",
        "subject_kind",
        "subject_id",
        "moderator",
        "item_link",
    )
    list_filter = ("action", "reason_code", "subject_kind")
    search_fields = ("=subject_id", "=affected_user_id", "moderator__username", "reason_text")
    list_select_related = ("moderator",)

    @admin.display(description="Queue item")
    def item_link(self, decision: Decision) -> str:
        return _item_link(decision.item_id)


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "outcome", "decision", "appellant", "reviewer", "decided_at", "item_link")
    list_filter = ("outcome",)
    search_fields = ("appellant__username", "text", "outcome_text")
    list_select_related = ("decision", "appellant", "reviewer", "item")

    @admin.display(description="Queue item")
    def item_link(self, appeal: Appeal) -> str:
        item = getattr(appeal, "item", None)
        return _item_link(item.id if item else None)


@admin.register(Label)
class LabelAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "label", "subject_kind", "subject_id", "decision")
    list_filter = ("label", "subject_kind")
    search_fields = ("=subject_id",)
    list_select_related = ("decision",)
