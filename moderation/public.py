"""What other apps may use of `moderation`: these names and nothing else (import-linter holds it)."""

from moderation.decisions import REASON_CODES, Outcome, outcome_listener_register
from moderation.errors import ACTION_NOT_APPLICABLE, TEXT_REFUSED
from moderation.labels import labels_for
from moderation.subjects import SubjectHandler, SubjectView, subject_handler_register
from moderation.text import TextKind, TextVerdict, text_check

__all__ = [
    "ACTION_NOT_APPLICABLE",
    "REASON_CODES",
    "TEXT_REFUSED",
    "Outcome",
    "SubjectHandler",
    "SubjectView",
    "TextKind",
    "TextVerdict",
    "labels_for",
    "outcome_listener_register",
    "subject_handler_register",
    "text_check",
]
