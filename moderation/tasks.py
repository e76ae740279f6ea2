"""Background work of moderation (queue `default`): the email a banned member appeals with.

A banned member cannot sign in (their tokens are revoked and login refuses them), so the statement of
reasons of a ban also goes to their email address with an appeal code: a signed token naming the
decision, good for the appeal window, that `POST /api/v1/moderation/appeals` accepts without a login.
"""

from __future__ import annotations

import logging
import smtplib
from uuid import UUID

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from config.errors import KinoError
from moderation import errors
from moderation.models import Decision

logger = logging.getLogger(__name__)
APPEAL_SALT = "moderation.appeal"


def appeal_token(decision_id: UUID) -> str:
    return signing.dumps(str(decision_id), salt=APPEAL_SALT)


def appeal_token_read(token: str) -> Decision:
    """The ban decision a token names, while its appeal window lasts (400 appeal_token_invalid else)."""
    try:
        decision_id = signing.loads(token, salt=APPEAL_SALT, max_age=settings.MODERATION_APPEAL_WINDOW_S)
        decision = Decision.objects.filter(id=UUID(str(decision_id)), action=Decision.Action.BAN_USER).first()
    except (signing.BadSignature, ValueError):
        decision = None
    if decision is None or decision.affected_user_id is None:
        raise KinoError(errors.APPEAL_TOKEN_INVALID, field="token")
    return decision


@shared_task(
    name="moderation.ban_statement_email_send",
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=6,
)
def ban_statement_email_send(*, decision_id: str) -> None:
    decision = Decision.objects.filter(id=decision_id, action=Decision.Action.BAN_USER).first()
    if decision is None or decision.affected_user_id is None or decision.appealable_until is None:
        return
    email = (
        get_user_model().objects.filter(id=decision.affected_user_id).values_list("email", flat=True).first()
    )
    if not email:
        return  # the account is gone since
    context = {
        "reason_code": decision.reason_code,
        "reason_text": decision.reason_text,
        "until": decision.appealable_until,
        "appeal_url": settings.SITE_URL + reverse("moderation-appeal-by-token"),
        "token": appeal_token(decision.id),
    }
    send_mail(
        subject="Your Kino account is suspended: how to appeal",
        message=render_to_string("moderation/email_ban_statement.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )
    logger.info("moderation.ban_statement_sent", extra={"decision_id": decision_id})
