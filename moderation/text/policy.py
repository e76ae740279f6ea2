"""The text policy: one check for every text a member writes (prompts, captions, comments, usernames,
display names, bios, cameo restrictions).

Two tests, in order: public figures' names, aliases and roles (`names`), then content categories
(`categories`). Usernames get the first only: a handle is not a sentence, and the classifier reads
sentences. The writer reads a code (`text_refused`, or `text_public_figure`), never whose name or
which exemplar matched; moderators read `category`, `reason` and the evidence in the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from django.conf import settings

from accounts.public import MemberTextKind, Refusal
from config.errors import ErrorCode, KinoError
from moderation.audit import audit_record
from moderation.errors import MODERATION_UNAVAILABLE, TEXT_PUBLIC_FIGURE, TEXT_REFUSED
from moderation.text.categories import CategoryJudgement, Nearest, TextModelUnavailable, categories_judge
from moderation.text.names import name_find

logger = logging.getLogger(__name__)
TextKind = Literal["prompt", "caption", "comment", "username", "display_name", "bio", "cameo_restriction"]
PUBLIC_FIGURE = "public_figure"
NAMES_ONLY: frozenset[str] = frozenset({"username"})
AUDIT_TEXT_MAX = 500


@dataclass(frozen=True)
class TextVerdict:
    allowed: bool
    error: ErrorCode | None = None  # what the writer reads when refused (never whose name matched)
    reason: str = ""  # for moderators and logs
    category: str = ""  # "public_figure" or a content category (moderation.models.Category)
    score: float | None = None  # the category's score against its threshold
    threshold: float | None = None
    figure_id: UUID | None = None  # the registry entry whose name, alias or role matched
    nearest: tuple[Nearest, ...] = ()  # the exemplars the text sits closest to (the explanation)


ALLOWED = TextVerdict(allowed=True)


def thresholds_for(*, teen: bool) -> dict[str, float]:
    chosen = dict(settings.MODERATION_TEXT_THRESHOLDS)
    if teen:
        chosen.update({c: min(t, chosen[c]) for c, t in settings.MODERATION_TEXT_TEEN_THRESHOLDS.items()})
    return chosen


def text_judge(text: str, *, kind: TextKind, teen: bool = False) -> TextVerdict:
    """The verdict on `text` written as `kind` (by a teen: stricter thresholds); no side effects."""
    return texts_judge([text], kind=kind, teen=teen)[0]


def texts_judge(texts: list[str], *, kind: TextKind, teen: bool = False) -> list[TextVerdict]:
    """`text_judge` for each of `texts`, with one pass of the encoder for all that need it."""
    verdicts: list[TextVerdict | None] = [_names_verdict(text, kind) for text in texts]
    unread = [i for i, verdict in enumerate(verdicts) if verdict is None]
    try:
        judgements = categories_judge([texts[i] for i in unread], thresholds_for(teen=teen)) if unread else []
    except TextModelUnavailable as exc:  # fail closed: a 503 the writer may retry, never a pass
        logger.error("moderation.text.unavailable", extra={"error": str(exc)})
        raise KinoError(MODERATION_UNAVAILABLE) from exc
    for i, judgement in zip(unread, judgements, strict=True):
        verdicts[i] = _category_verdict(judgement)
    return [verdict for verdict in verdicts if verdict is not None]


def _names_verdict(text: str, kind: TextKind) -> TextVerdict | None:
    """The verdict that needs no encoder (empty, a public figure's name, a names-only kind); None
    when the categories must read the text."""
    if not text.strip():
        return ALLOWED
    match = name_find(text)
    if match is not None:
        return TextVerdict(
            allowed=False,
            error=TEXT_PUBLIC_FIGURE,
            reason=f"public figure {match.figure_name!r}: {match.field} {match.registered!r} ({match.how})",
            category=PUBLIC_FIGURE,
            figure_id=match.figure_id,
        )
    return ALLOWED if kind in NAMES_ONLY else None


def _category_verdict(judgement: CategoryJudgement) -> TextVerdict:
    if not judgement.category:
        return TextVerdict(
            allowed=True, score=judgement.score, threshold=judgement.threshold, nearest=judgement.nearest
        )
    why = (
        "minor and sexual terms together"
        if judgement.rule
        else f"score {judgement.score} >= {judgement.threshold}"
    )
    return TextVerdict(
        allowed=False,
        error=TEXT_REFUSED,
        reason=f"{judgement.category}: {why}",
        category=judgement.category,
        score=judgement.score,
        threshold=judgement.threshold,
        nearest=judgement.nearest,
    )


def text_check(text: str, *, kind: TextKind, teen: bool = False) -> TextVerdict:
    """The verdict on `text` written as `kind`; a refusal is recorded in the audit log with its evidence."""
    verdict = text_judge(text, kind=kind, teen=teen)
    if not verdict.allowed:
        assert verdict.error is not None
        audit_record(
            action="text.refused",
            reason_code=verdict.error.code,
            reason=verdict.reason,
            detail={
                "kind": kind,
                "teen": teen,
                "category": verdict.category,
                "text": text[:AUDIT_TEXT_MAX],
                "score": verdict.score,
                "threshold": verdict.threshold,
                "figure_id": str(verdict.figure_id) if verdict.figure_id else None,
                "nearest": [[n.text, n.label, n.similarity] for n in verdict.nearest],
            },
        )
    return verdict


def text_require(text: str, *, kind: TextKind, field: str, teen: bool = False) -> None:
    """Refuse `text` (its code, under `field`) when the policy does not allow it."""
    verdict = text_check(text, kind=kind, teen=teen)
    if not verdict.allowed:
        assert verdict.error is not None
        raise KinoError(verdict.error, field=field)


def member_text_check(text: str, kind: MemberTextKind) -> Refusal | None:
    """The text policy at accounts' doors (usernames, display names, bios), registered from
    `ModerationConfig.ready` into `accounts.public.member_text_check_register`."""
    verdict = text_check(text, kind=kind)
    if verdict.allowed or verdict.error is None:
        return None
    return Refusal(verdict.error)
