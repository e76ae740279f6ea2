"""Labels: graded outcomes short of a takedown (warn, not in feeds, not for teens) that the
recommender and the feed read."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from uuid import UUID

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
