"""Background work of the accounts app (queue `default`)."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import Invite

logger = logging.getLogger(__name__)


@shared_task(
    name="accounts.invite_email_send",
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=6,
)
def invite_email_send(*, invite_id: str) -> None:
    invite = Invite.objects.filter(id=invite_id, redeemed_at__isnull=True).first()
    if invite is None or not invite.email:
        return  # redeemed or deleted since: nothing to send
    link = settings.SITE_URL + reverse("beta:redeem", kwargs={"code": invite.display_code})
    context = {"invite": invite, "link": link}
    send_mail(
        subject="You're in: your Kino invite",
        message=render_to_string("beta/email_invite.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invite.email],
    )
    logger.info("invite.email_sent", extra={"invite_id": invite_id})
