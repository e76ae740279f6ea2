"""Staff roles as permission sets, kept in step on every migrate (post_migrate).

Moderators get exactly what their work needs and nothing that grants power: they see members
and may deactivate members who are not staff, admit the waitlist, expire and mint invites, see
and cancel or retry jobs, and see and take down videos. They cannot change any account, any password, any
group or any permission (accounts/admin.py holds that even if someone widens this set).

In moderation they work the queue (see items, claim, release, decide: `claim_queueitem`; the item's
own fields are never a form), read reports, decisions, appeals, labels and the audit log (all
read-only pages: their services write them), add internal notes, and keep the public-figure registry
(figures with their reference photos and voice samples; no deleting: a figure is deactivated).
"""

from __future__ import annotations

from typing import Any

MODERATORS = "moderators"
MODERATOR_PERMISSIONS = (
    "accounts.view_user",
    "accounts.deactivate_user",
    "accounts.view_profile",
    "accounts.view_waitlistentry",
    "accounts.change_waitlistentry",
    "accounts.view_invite",
    "accounts.change_invite",
    "accounts.view_invitebatch",
    "accounts.view_follow",
    "accounts.view_block",
    "generation.view_job",
    "generation.change_job",
    "generation.view_dailyusage",
    "feed.view_video",
    "feed.change_video",  # the takedown action only: a video's own form stays read-only (feed/admin.py)
    "cameos.view_cameo",
    "cameos.view_registration",
    "cameos.view_approval",
    "cameos.view_use",
    "moderation.view_queueitem",
    "moderation.change_queueitem",
    "moderation.claim_queueitem",  # claim, release and decide (moderation/admin/queue.py)
    "moderation.view_report",
    "moderation.view_note",
    "moderation.add_note",
    "moderation.view_decision",
    "moderation.view_appeal",
    "moderation.view_label",
    "moderation.view_auditentry",
    "moderation.view_estaterequest",
    "moderation.change_estaterequest",  # register or decline an estate's block (moderation/admin/estates.py)
    "moderation.view_publicfigure",
    "moderation.add_publicfigure",
    "moderation.change_publicfigure",
    "moderation.view_figureface",
    "moderation.add_figureface",
    "moderation.change_figureface",
    "moderation.view_figurevoice",
    "moderation.add_figurevoice",
    "moderation.change_figurevoice",
)


def moderators_group_sync(**kwargs: Any) -> None:
    """The moderators group holds exactly MODERATOR_PERMISSIONS (those that exist yet)."""
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    wanted = Q(pk__in=[])
    for name in MODERATOR_PERMISSIONS:
        app_label, codename = name.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    group, _ = Group.objects.get_or_create(name=MODERATORS)
    group.permissions.set(Permission.objects.filter(wanted))
