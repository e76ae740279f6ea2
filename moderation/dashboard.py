"""The staff dashboard's figures: plain aggregates in the database, over a window of days.

Counts by category (reports by reason, queue items by queue and state, decisions by action), the
median time from an item's creation to its decision, the appeal overturn rate, and the block rates
of the automatic verdicts in the audit log (system entries, `actor_id` null, by action).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from moderation.models import Appeal, AuditEntry, Decision, QueueItem, Report


@dataclass(frozen=True)
class Rate:
    """`part` of `total`; `rate` None when there is nothing to divide."""

    label: str
    part: int
    total: int
    unavailable: int = 0  # verdicts that could not be made (block rates only)

    @property
    def rate(self) -> float | None:
        return self.part / self.total if self.total else None

    @property
    def percent(self) -> str:
        return "—" if self.rate is None else f"{100 * self.rate:.1f} %"


@dataclass(frozen=True)
class Dashboard:
    since: datetime | None  # None: all time
    reports_by_reason: tuple[tuple[str, int], ...]
    items_by_queue: tuple[tuple[str, dict[str, int]], ...]  # queue, {state: count}
    decisions_by_action: tuple[tuple[str, int], ...]
    decided: int  # items decided in the window
    median_decision_s: float | None
    appeals: Rate  # overturned of those decided
    block_rates: tuple[Rate, ...]  # per automatic verdict action: blocked of all

    @property
    def median_display(self) -> str:
        seconds = self.median_decision_s
        if seconds is None:
            return "—"
        if seconds < 120:
            return f"{seconds:.0f} s"
        return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


# The automatic verdicts in the audit log: the likeness screens (`screen.clip`, `screen.start_image`,
# ...: every verdict, passed or blocked) and the text policy (`text.refused`: its refusals only, so
# its rate is 100 % by construction and its count is the figure to read). A refusal records the code
# the member read; a screen that could not judge records `moderation_unavailable`, counted apart.
VERDICT_ACTIONS = Q(action__startswith="screen.") | Q(action__startswith="text.")
UNAVAILABLE = "moderation_unavailable"
BLOCKED = ~Q(reason_code="") & ~Q(reason_code=UNAVAILABLE)


def dashboard_figures(*, days: int | None = 30) -> Dashboard:
    since = timezone.now() - timedelta(days=days) if days else None
    return Dashboard(
        since=since,
        reports_by_reason=_reports_by_reason(since),
        items_by_queue=_items_by_queue(since),
        decisions_by_action=_decisions_by_action(since),
        decided=_decided(since),
        median_decision_s=_median_decision_s(since),
        appeals=_appeal_overturns(since),
        block_rates=_block_rates(since),
    )


def _reports_by_reason(since: datetime | None) -> tuple[tuple[str, int], ...]:
    reports = Report.objects.filter(created_at__gte=since) if since else Report.objects.all()
    labels = dict(Report.Reason.choices)
    rows = reports.values("reason").annotate(n=Count("id")).order_by("-n", "reason")
    return tuple((str(labels.get(row["reason"], row["reason"])), row["n"]) for row in rows)


def _items_by_queue(since: datetime | None) -> tuple[tuple[str, dict[str, int]], ...]:
    items = QueueItem.objects.filter(created_at__gte=since) if since else QueueItem.objects.all()
    table: dict[str, dict[str, int]] = {}
    for row in items.values("queue", "state").annotate(n=Count("id")).order_by("queue", "state"):
        states = table.setdefault(row["queue"], dict.fromkeys(QueueItem.State.values, 0))
        states[row["state"]] = row["n"]
    return tuple(table.items())


def _decisions_by_action(since: datetime | None) -> tuple[tuple[str, int], ...]:
    decisions = Decision.objects.filter(created_at__gte=since) if since else Decision.objects.all()
    rows = decisions.values("action").annotate(n=Count("id")).order_by("-n", "action")
    return tuple((row["action"], row["n"]) for row in rows)


def _decided(since: datetime | None) -> int:
    items = QueueItem.objects.filter(decided_at__isnull=False)
    return (items.filter(decided_at__gte=since) if since else items).count()


def _median_decision_s(since: datetime | None) -> float | None:
    """Median seconds from an item's creation to its decision, over the items decided in the window."""
    sql = (
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM decided_at - created_at)) "
        "FROM moderation_queueitem WHERE decided_at IS NOT NULL "
        "AND (%s::timestamptz IS NULL OR decided_at >= %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [since, since])
        (median,) = cursor.fetchone()
    return None if median is None else float(median)


def _appeal_overturns(since: datetime | None) -> Rate:
    appeals = Appeal.objects.exclude(outcome=Appeal.Outcome.PENDING)
    if since:
        appeals = appeals.filter(decided_at__gte=since)
    counts = appeals.aggregate(
        total=Count("id"), overturned=Count("id", filter=Q(outcome=Appeal.Outcome.OVERTURNED))
    )
    return Rate("appeals overturned", counts["overturned"], counts["total"])


def _block_rates(since: datetime | None) -> tuple[Rate, ...]:
    verdicts = AuditEntry.objects.filter(VERDICT_ACTIONS, actor_id__isnull=True)
    if since:
        verdicts = verdicts.filter(at__gte=since)
    rows = (
        verdicts.values("action")
        .annotate(
            total=Count("id"),
            blocked=Count("id", filter=BLOCKED),
            unavailable=Count("id", filter=Q(reason_code=UNAVAILABLE)),
        )
        .order_by("action")
    )
    return tuple(Rate(row["action"], row["blocked"], row["total"], row["unavailable"]) for row in rows)
