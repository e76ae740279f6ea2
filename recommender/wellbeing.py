"""The wellbeing check-in: now and then the feed asks how it is going, and the answer can steer it.

The feed offers a card once a scrolling session has served RECOMMENDER_CHECKIN_EVERY_ITEMS items, at
most once per RECOMMENDER_CHECKIN_EVERY_S per member (0 items: never). Each card is a `CheckIn` row;
the member answers it once (`POST /feed/checkins/{id}/answer`). An answer that asks for something
("calmer", "funnier", ...) adds steering clauses (`SteerClause`, source `checkin`) for
RECOMMENDER_CHECKIN_STEER_S, visible and resettable with the rest in `GET`/`DELETE /feed/steer`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.errors import KinoError
from recommender import errors
from recommender.models import CheckIn, SteerClause
from recommender.vectors import content_embed

logger = logging.getLogger(__name__)

QUESTION = "How is your feed making you feel right now?"


@dataclass(frozen=True)
class Answer:
    label: str  # what the card's button says
    toward: str = ""  # clauses this answer steers toward, "" for none
    away: str = ""  # and away from


# The answers a card offers, in order; the key is what the client sends back.
ANSWERS: dict[str, Answer] = {
    "good": Answer("Good, keep going"),
    "inspired": Answer("Inspired to make something", toward="creative ideas to make and remix"),
    "calmer": Answer(
        "I'd like something calmer", toward="calm relaxing peaceful scenes", away="intense scary violent"
    ),
    "funnier": Answer("Make me laugh", toward="funny lighthearted comedy"),
    "take_a_break": Answer("I should take a break"),
}


def checkin_card(user_id: UUID, served_so_far: int) -> dict[str, Any] | None:
    """The check-in card to show with this page (`CheckInCardSerializer`'s shape), or None.

    `served_so_far`: items this scrolling session has served, this page included. No query until the
    session has served enough; then one to find the last card, and one to store the new one."""
    every = settings.RECOMMENDER_CHECKIN_EVERY_ITEMS
    if every <= 0 or served_so_far < every:
        return None
    now = timezone.now()
    since = now - timedelta(seconds=settings.RECOMMENDER_CHECKIN_EVERY_S)
    if CheckIn.objects.filter(user_id=user_id, shown_at__gt=since).exists():
        return None
    checkin = CheckIn.objects.create(user_id=user_id, shown_at=now)
    logger.info("recommender.checkin_shown", extra={"user_id": str(user_id), "served": served_so_far})
    return checkin_card_of(checkin)


def checkin_card_of(checkin: CheckIn) -> dict[str, Any]:
    return {
        "id": str(checkin.id),
        "question": QUESTION,
        "answers": [{"value": value, "label": answer.label} for value, answer in ANSWERS.items()],
        "shown_at": checkin.shown_at.isoformat(),
    }


def checkin_get_for_member(*, user_id: UUID, checkin_id: UUID) -> CheckIn:
    checkin = CheckIn.objects.filter(id=checkin_id, user_id=user_id).first()
    if checkin is None:
        raise KinoError(errors.CHECKIN_NOT_FOUND)
    return checkin


def checkin_answer(*, user_id: UUID, checkin_id: UUID, answer: str) -> CheckIn:
    """Record the member's answer (once: a conditional UPDATE) and add the steering it asks for,
    replacing that of an earlier check-in."""
    checkin_get_for_member(user_id=user_id, checkin_id=checkin_id)
    chosen = ANSWERS[answer]
    clauses = [(SteerClause.Direction.TOWARD, chosen.toward), (SteerClause.Direction.AWAY, chosen.away)]
    clauses = [(direction, text) for direction, text in clauses if text]
    vectors = _phrase_vectors(tuple(text for _, text in clauses))
    now = timezone.now()
    with transaction.atomic():
        answered = CheckIn.objects.filter(id=checkin_id, user_id=user_id, answer="").update(
            answer=answer, answered_at=now
        )
        if not answered:
            raise KinoError(errors.CHECKIN_ANSWERED)
        if clauses:
            SteerClause.objects.filter(user_id=user_id, source=SteerClause.Source.CHECKIN).delete()
            expires_at = now + timedelta(seconds=settings.RECOMMENDER_CHECKIN_STEER_S)
            SteerClause.objects.bulk_create(
                SteerClause(
                    user_id=user_id,
                    source=SteerClause.Source.CHECKIN,
                    direction=direction,
                    text=text,
                    vector=vector.tolist(),
                    expires_at=expires_at,
                )
                for (direction, text), vector in zip(clauses, vectors, strict=True)
            )
    logger.info("recommender.checkin_answered", extra={"user_id": str(user_id), "answer": answer})
    return checkin_get_for_member(user_id=user_id, checkin_id=checkin_id)


@cache
def _phrase_vectors(phrases: tuple[str, ...]) -> np.ndarray:
    """The answers' phrases are fixed: each process embeds each set once."""
    return content_embed(list(phrases)) if phrases else np.zeros((0, 0), dtype=np.float32)
