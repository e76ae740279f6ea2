"""Labels: graded outcomes short of a takedown (warn, not in feeds, not for teens) that the
recommender and the feed read."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

from moderation.audit import audit_record
from moderation.models import Label


def labels_for(subject_kind: str, ids: Iterable[UUID]) -> dict[UUID, frozenset[str]]:
    """The labels of each of `ids` (of one kind) that has any, in one query; unlabelled ids are
    left out."""
    found: dict[UUID, set[str]] = {}
    rows = Label.objects.filter(subject_kind=subject_kind, subject_id__in=list(ids)).values_list(
        "subject_id", "label"
    )
    for subject_id, label in rows:
        found.setdefault(subject_id, set()).add(label)
    return {subject_id: frozenset(labels) for subject_id, labels in found.items()}


# Upper apps (the recommender keeps "not in feeds" and "not for teens" in its vector rows) hear of
# every change to an object's labels, inside the transaction that makes it, and re-read them with
# `labels_for`: one call for labels added and removed alike.
LabelListener = Callable[[str, UUID], None]  # (subject_kind, subject_id)
_listeners: list[LabelListener] = []


def label_listener_register(listener: LabelListener) -> LabelListener:
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def labels_changed(subject_kind: str, subject_id: UUID) -> None:
    for listener in _listeners:
        listener(subject_kind, subject_id)


def labels_carry(subject_kind: str, from_ids: Iterable[UUID], to_id: UUID) -> frozenset[str]:
    """A new object made from labelled ones (an extension of a video, a stitch of several) carries
    their labels, each with the decision that set it (an appeal that lifts it lifts the copy too):
    a label is never washed off by making something new of its object. Audited; the upper apps hear."""
    sources = list(from_ids)
    rows = Label.objects.filter(subject_kind=subject_kind, subject_id__in=sources)
    copies = dict(rows.values_list("label", "decision_id"))
    if not copies:
        return frozenset()
    Label.objects.bulk_create(
        [
            Label(subject_kind=subject_kind, subject_id=to_id, label=label, decision_id=decision)
            for label, decision in copies.items()
        ],
        ignore_conflicts=True,
    )
    audit_record(
        action="labels_carried",
        subject_kind=subject_kind,
        subject_id=to_id,
        after=sorted(copies),
        detail={"from": [str(source) for source in sources]},
    )
    labels_changed(subject_kind, to_id)
    return frozenset(copies)
