"""What one queue item's page shows, read in a fixed number of queries: the subject as the owner app
describes it (moderation.subjects), the reports, the notes, the automatic verdicts on the subject
with the frames and registry entries they matched, the decisions and labels it carries, and the
audit trail of what people did with it.

Sampled frames are the ones the screening recorded in its verdicts' detail (each match's time in
the clip); the page shows each as a still of the video at that time, and a strip of stills spread
over the whole clip (the page's script seeks each to its fraction of the duration). Nothing is
decoded on the server: moderation sees a video only through the signed link its owner app gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse

from moderation.models import AuditEntry, Decision, Label, Note, PublicFigure, QueueItem, Report
from moderation.queue import item_subject
from moderation.subjects import SubjectView

STRIP_STILLS = 6  # stills spread over the clip, beside the verdicts' own frames
HISTORY_MAX = 100


@dataclass(frozen=True)
class Match:
    figure_id: str
    kind: str  # "face" | "voice" | "text"
    time: float | None  # seconds into the clip
    frame: int | None
    distance: float | None
    box: tuple[int, ...] | None


@dataclass(frozen=True)
class Verdict:
    entry: AuditEntry
    blocked: bool
    matches: tuple[Match, ...]


@dataclass(frozen=True)
class Figure:
    figure: PublicFigure
    url: str  # its registry page, "" when the registry is not in the admin


@dataclass(frozen=True)
class DeskContext:
    subject: SubjectView | None
    reasons: tuple[tuple[str, int], ...]  # reason label, reporters
    reports: tuple[Report, ...]
    notes: tuple[Note, ...]
    verdicts: tuple[Verdict, ...]
    figures: tuple[Figure, ...]
    frame_times: tuple[float, ...]
    strip: tuple[float, ...] = field(default=tuple(i / STRIP_STILLS for i in range(STRIP_STILLS)))
    decisions: tuple[Decision, ...] = ()
    labels: tuple[str, ...] = ()
    history: tuple[AuditEntry, ...] = ()


def _matches_in(detail: Any) -> Iterator[dict[str, Any]]:
    """Every dict with a `figure_id` anywhere in a verdict's detail (screens nest them differently)."""
    if isinstance(detail, dict):
        if "figure_id" in detail:
            yield detail
        for value in detail.values():
            yield from _matches_in(value)
    elif isinstance(detail, list):
        for value in detail:
            yield from _matches_in(value)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _match(raw: dict[str, Any]) -> Match:
    frame = _number(raw.get("frame", raw.get("frame_index")))
    box = raw.get("box")
    return Match(
        figure_id=str(raw["figure_id"]),
        kind=str(raw.get("kind", "face")),
        time=_number(raw.get("time", raw.get("t", raw.get("time_s")))),
        frame=int(frame) if frame is not None else None,
        distance=_number(raw.get("distance", raw.get("similarity"))),
        box=tuple(int(v) for v in box) if isinstance(box, list | tuple) else None,
    )


def _verdict_blocked(entry: AuditEntry) -> bool:
    after = entry.after if isinstance(entry.after, dict) else {}
    return bool(after.get("blocked", entry.reason_code != ""))


def subject_entries(item: QueueItem) -> Q:
    """The audit entries about the item's subject (the `audit_subject` index serves it)."""
    return Q(subject_kind=item.subject_kind, subject_id=str(item.subject_id))


def _figures(ids: set[str]) -> tuple[Figure, ...]:
    valid = []
    for raw in ids:
        try:
            valid.append(UUID(raw))
        except ValueError:
            continue
    figures = []
    for figure in PublicFigure.objects.filter(id__in=valid):
        try:
            url = reverse("admin:moderation_publicfigure_change", args=[figure.id])
        except NoReverseMatch:
            url = ""
        figures.append(Figure(figure=figure, url=url))
    return tuple(figures)


def desk_context(item: QueueItem) -> DeskContext:
    entries = tuple(AuditEntry.objects.filter(subject_entries(item)).order_by("-at", "-id")[:HISTORY_MAX])
    verdicts = tuple(
        Verdict(entry=e, blocked=_verdict_blocked(e), matches=tuple(_match(m) for m in _matches_in(e.detail)))
        for e in entries
        if e.actor_id is None
    )
    matches = [m for v in verdicts for m in v.matches]
    reasons = dict(Report.Reason.choices)
    counted = item.reports.values("reason").annotate(n=Count("id")).order_by("-n", "reason")
    labels = Label.objects.filter(subject_kind=item.subject_kind, subject_id=item.subject_id)
    return DeskContext(
        subject=item_subject(item),
        reasons=tuple((str(reasons.get(row["reason"], row["reason"])), row["n"]) for row in counted),
        reports=tuple(item.reports.select_related("reporter").order_by("created_at")),
        notes=tuple(item.notes.select_related("author").order_by("created_at")),
        verdicts=verdicts,
        figures=_figures({m.figure_id for m in matches}),
        frame_times=tuple(sorted({m.time for m in matches if m.time is not None})),
        decisions=tuple(
            Decision.objects.filter(subject_kind=item.subject_kind, subject_id=item.subject_id)
            .select_related("moderator")
            .order_by("-created_at")
        ),
        labels=tuple(labels.order_by("label").values_list("label", flat=True)),
        history=tuple(e for e in entries if e.actor_id is not None),
    )
