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

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse

from moderation.models import AuditEntry, Decision, Label, Note, PublicFigure, QueueItem, Report
from moderation.queue import item_subject
from moderation.subjects import SubjectView

UNAVAILABLE = "moderation_unavailable"  # a screen that could not judge: no verdict either way
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


def _raw_matches(detail: Any) -> list[dict[str, Any]]:
    """The evidence in a verdict's detail: the likeness screens list theirs under `matches` (a face's
    frame, time, box, distance and registry entry; a voice's window); the text policy names the one
    figure a text named as `figure_id`."""
    if not isinstance(detail, dict):
        return []
    found = [m for m in detail.get("matches") or [] if isinstance(m, dict)]
    if detail.get("figure_id"):
        found.append({"kind": "name", "figure_id": detail["figure_id"], "distance": detail.get("score")})
    return found


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _match(raw: dict[str, Any]) -> Match:
    frame, box = _number(raw.get("frame")), raw.get("box")
    return Match(
        figure_id=str(raw.get("figure_id") or ""),  # none: a real person's face that is no figure
        kind=str(raw.get("kind", "face")),
        time=_number(raw.get("time_s")),
        frame=int(frame) if frame is not None else None,
        distance=_number(raw.get("distance")),
        box=tuple(int(v) for v in box) if isinstance(box, list | tuple) else None,
    )


def _verdict_blocked(entry: AuditEntry) -> bool:
    """The screens record `blocked` in the detail; the text policy records only its refusals."""
    detail = entry.detail if isinstance(entry.detail, dict) else {}
    if "blocked" in detail:
        return bool(detail["blocked"])
    return entry.reason_code not in ("", UNAVAILABLE)


def subject_entries(item: QueueItem, subject: SubjectView) -> Q:
    """The audit entries about the item's subject (the `audit_subject` index serves each part), and
    about the subjects its app names as related (`SubjectView.related`, where it has it: a video's
    job, whose clip the screening judged before the video existed)."""
    query = Q(subject_kind=item.subject_kind, subject_id=str(item.subject_id))
    for kind, related_id in subject.related:
        query |= Q(subject_kind=kind, subject_id=str(related_id))
    return query


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
    subject = item_subject(item)
    entries = tuple(
        AuditEntry.objects.filter(subject_entries(item, subject)).order_by("-at", "-id")[:HISTORY_MAX]
    )
    verdicts = tuple(
        Verdict(
            entry=e, blocked=_verdict_blocked(e), matches=tuple(_match(m) for m in _raw_matches(e.detail))
        )
        for e in entries
        if e.actor_id is None
    )
    matches = [m for v in verdicts for m in v.matches]
    reasons = dict(Report.Reason.choices)
    counted = item.reports.values("reason").annotate(n=Count("id")).order_by("-n", "reason")
    labels = Label.objects.filter(subject_kind=item.subject_kind, subject_id=item.subject_id)
    return DeskContext(
        subject=subject,
        reasons=tuple((str(reasons.get(row["reason"], row["reason"])), row["n"]) for row in counted),
        reports=tuple(item.reports.select_related("reporter").order_by("created_at")),
        notes=tuple(item.notes.select_related("author").order_by("created_at")),
        verdicts=verdicts,
        figures=_figures({m.figure_id for m in matches if m.figure_id}),
        frame_times=tuple(sorted({m.time for m in matches if m.time is not None})),
        decisions=tuple(
            Decision.objects.filter(subject_kind=item.subject_kind, subject_id=item.subject_id)
            .select_related("moderator")
            .order_by("-created_at")
        ),
        labels=tuple(labels.order_by("label").values_list("label", flat=True)),
        history=tuple(e for e in entries if e.actor_id is not None),
    )
