"""Members' reports. One report per reporter and object (reporting it again answers the first one,
unchanged); the reports on one object fold into its one open queue item, which counts them, takes
the queue of the worst reason reported and is scored again (moderation/queue.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.errors import KinoError
from moderation import errors
from moderation.audit import audit_record
from moderation.models import REPORT_TEXT_MAX, QueueItem, Report
from moderation.queue import item_state, priority_base, route, severity_of, username_of
from moderation.subjects import SubjectView, subject_describe

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportReceipt:
    report: Report
    created: bool  # False: this reporter had reported the object already (nothing changed)


def _subject_for_reporter(*, reporter_id: UUID, subject_kind: str, subject_id: UUID) -> SubjectView:
    view = subject_describe(subject_kind, subject_id, reporter_id)
    if view is None:
        raise KinoError(errors.SUBJECT_NOT_FOUND)
    if view.owner_id == reporter_id:
        raise KinoError(errors.REPORT_OWN)
    return view


def _open_item(view: SubjectView) -> QueueItem:
    """The object's open report item, locked; created when there is none (the partial unique
    constraint settles two first reports at once: the loser reads the winner's)."""
    open_items = QueueItem.objects.select_for_update(of=("self",)).filter(
        kind=QueueItem.Kind.REPORT,
        subject_kind=view.kind,
        subject_id=view.id,
        state__in=[QueueItem.State.OPEN, QueueItem.State.CLAIMED],
    )
    item = open_items.first()
    if item is not None:
        return item
    try:
        with transaction.atomic():
            return QueueItem.objects.create(
                kind=QueueItem.Kind.REPORT,
                subject_kind=view.kind,
                subject_id=view.id,
                subject_owner_id=view.owner_id,
                severity=0,
                summary=view.title[:300],
            )
    except IntegrityError:
        return open_items.get()


def _fold(item: QueueItem, report: Report, view: SubjectView) -> None:
    """Count the report into its item: the worst reason decides severity and queue; score again."""
    severity = severity_of(report.reason)
    if severity > item.severity:
        item.severity, item.queue = severity, route(report.reason)
    item.reports_count += 1
    item.reach = max(view.reach, 0)
    item.subject_owner_id = view.owner_id
    item.priority = priority_base(severity=item.severity, reporters=item.reports_count, reach=item.reach)
    item.updated_at = timezone.now()
    item.save(
        update_fields=[
            "severity",
            "queue",
            "reports_count",
            "reach",
            "subject_owner_id",
            "priority",
            "updated_at",
        ]
    )


@transaction.atomic
def report_create(
    *, reporter_id: UUID, subject_kind: str, subject_id: UUID, reason: str, text: str = ""
) -> ReportReceipt:
    """Report an object the reporter may see (404 `subject_not_found` otherwise, 400 `report_own`
    for themselves or their own things)."""
    view = _subject_for_reporter(reporter_id=reporter_id, subject_kind=subject_kind, subject_id=subject_id)
    mine = Report.objects.filter(reporter_id=reporter_id, subject_kind=subject_kind, subject_id=subject_id)
    existing = mine.first()
    if existing is not None:
        return ReportReceipt(report=existing, created=False)
    item = _open_item(view)
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter_id=reporter_id,
                item=item,
                subject_kind=subject_kind,
                subject_id=subject_id,
                reason=reason,
                text=text.strip()[:REPORT_TEXT_MAX],
            )
    except IntegrityError:  # the same reporter, twice at once
        return ReportReceipt(report=mine.get(), created=False)
    before = item_state(item)
    _fold(item, report, view)
    audit_record(
        action="report.file",
        actor_id=reporter_id,
        actor=username_of(reporter_id),
        subject_kind=subject_kind,
        subject_id=subject_id,
        reason_code=reason,
        reason=report.text,
        before=before,
        after=item_state(item),
        detail={"item_id": str(item.id), "report_id": str(report.id)},
    )
    logger.info("moderation.reported", extra={"item_id": str(item.id), "reason": reason})
    return ReportReceipt(report=report, created=True)


def report_file(
    *, reporter_id: UUID, subject_kind: str, subject_id: UUID, reason: str, text: str = ""
) -> UUID:
    """`report_create` for other apps (the demo data): the report's id."""
    receipt = report_create(
        reporter_id=reporter_id, subject_kind=subject_kind, subject_id=subject_id, reason=reason, text=text
    )
    return receipt.report.id
