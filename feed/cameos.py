"""Feed's side of cameos: a cameo owner's oversight of every video that casts them, their likeness
taken out of any of them, and cameos' events stored as notifications.

- `cameo_videos_for_owner`: the owner's list (drafts of other people included: a cameo's owner
  sees what was made of them before anyone posts it).
- `likeness_remove`: the owner takes the video down everywhere, through the same path as a
  moderator's takedown (`services.video_remove`): a removed tombstone, so it can no longer be
  posted, remixed, downloaded or played, and leaves its creator's drafts too. Its reason is
  `likeness_removed`, and a moderator's restore does not bring such a video back: the owner's
  withdrawal is not moderation's to overrule.
- `likeness_report`: the video to the moderators' queue (moderation.public.report_file).
- `cameo_event_notify`: cameos' listener (registered in feed/apps.py). It runs inside the
  transaction that makes the change, so a notification commits or rolls back with it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from cameos.public import CAMEO_NOT_FOUND, CameoEvent, cameo_listener_register, cameo_owner_of
from config.errors import KinoError
from feed import errors
from feed.models import NotificationGroup, Video, VideoCameo
from feed.notifications import notification_send
from feed.services import video_remove
from moderation.public import report_file

logger = logging.getLogger(__name__)
State = Video.State
Type = NotificationGroup.Type

LIKENESS_REMOVED = "likeness_removed"  # Video.removed_reason: the cameo's owner took it down
CAMEO_DELETED = "cameo_deleted"  # Video.removed_reason: the cameo was deleted with the video casting it
OWNER_REASONS = (LIKENESS_REMOVED, CAMEO_DELETED)  # takedowns no moderator's restore undoes
PROMPT_EXCERPT = 200  # characters of a prompt in a notification


# --- the owner's oversight ------------------------------------------------------------------------


def cameo_owner_require(*, owner_id: UUID, cameo_id: UUID) -> None:
    """404 `cameo_not_found` unless `owner_id` owns that live cameo: nobody else learns it exists."""
    if cameo_owner_of(cameo_id=cameo_id) != owner_id:
        raise KinoError(CAMEO_NOT_FOUND)


def _casting(cameo_id: UUID) -> Exists:
    return Exists(VideoCameo.objects.filter(video_id=OuterRef("id"), cameo_id=cameo_id))


def cameo_videos_for_owner(*, owner_id: UUID, cameo_id: UUID) -> QuerySet[Video]:
    """Every video that casts the cameo, whoever made it and whatever its state (drafts, posts,
    removed and deleted tombstones), with its creator's card, newest first; 404 `cameo_not_found`
    for anyone but the owner. Blocks do not hide anything here: the likeness is the owner's."""
    cameo_owner_require(owner_id=owner_id, cameo_id=cameo_id)
    return Video.objects.filter(_casting(cameo_id)).select_related("owner__profile").defer("lineage")


def _cast_video_for_owner(*, owner_id: UUID, cameo_id: UUID, video_id: UUID) -> Video:
    cameo_owner_require(owner_id=owner_id, cameo_id=cameo_id)
    video = Video.objects.filter(_casting(cameo_id), id=video_id).select_related("owner__profile").first()
    if video is None:
        raise KinoError(errors.VIDEO_NOT_FOUND)
    return video


@dataclass(frozen=True)
class LikenessRemoval:
    video_id: UUID
    removed: bool  # False: it was already down (removed or deleted); nothing changed


def _take_down(video: Video, *, cameo_id: UUID, by_id: UUID, reason: str, handle: str = "") -> bool:
    """Take one video casting a cameo down, and tell its creator (not the cameo's owner, who acted)."""
    if not video_remove(video_id=video.id, by_id=by_id, reason=reason):
        return False
    notification_send(
        recipient_id=video.owner_id,
        type=Type.CAMEO_LIKENESS_REMOVED,
        # No actor: a creator who blocked the cameo's owner still learns why their video went.
        target_kind="video",
        target_id=video.id,
        data={"video_id": str(video.id), "cameo_id": str(cameo_id), "handle": handle, "reason": reason},
    )
    logger.info("cameo.likeness_removed", extra={"video_id": str(video.id), "reason": reason})
    return True


@transaction.atomic
def likeness_remove(*, owner_id: UUID, cameo_id: UUID, video_id: UUID) -> LikenessRemoval:
    """The owner takes a video casting their cameo down everywhere (idempotent)."""
    video = _cast_video_for_owner(owner_id=owner_id, cameo_id=cameo_id, video_id=video_id)
    removed = _take_down(video, cameo_id=cameo_id, by_id=owner_id, reason=LIKENESS_REMOVED)
    if not removed:
        # Already taken down by a moderator: mark it the owner's too, so restoring it on appeal
        # cannot bring the likeness back (feed.moderation.video_restore).
        Video.objects.filter(id=video.id, state=State.REMOVED).exclude(
            removed_reason__in=OWNER_REASONS
        ).update(removed_reason=LIKENESS_REMOVED)
    return LikenessRemoval(video_id=video.id, removed=removed)


def likeness_report(*, owner_id: UUID, cameo_id: UUID, video_id: UUID, reason: str, text: str) -> UUID:
    """Report a video casting the owner's cameo to the moderators (taken down or not): the report's id.
    Reporting it again answers the first report."""
    video = _cast_video_for_owner(owner_id=owner_id, cameo_id=cameo_id, video_id=video_id)
    if video.state == State.DELETED:
        raise KinoError(errors.VIDEO_NOT_FOUND)  # its creator deleted it: nothing is left to review
    return report_file(
        reporter_id=owner_id, subject_kind="video", subject_id=video.id, reason=reason, text=text
    )


def cameo_videos_take_down(*, cameo_id: UUID, owner_id: UUID, handle: str) -> int:
    """A deleted cameo takes every video casting it down: how many went now."""
    videos = Video.objects.filter(_casting(cameo_id), state__in=[State.DRAFT, State.POSTED])
    return sum(
        _take_down(video, cameo_id=cameo_id, by_id=owner_id, reason=CAMEO_DELETED, handle=handle)
        for video in videos
    )


# --- cameos' events as notifications --------------------------------------------------------------

# What each event is called in the notifications list; "used" and "deleted" have their own handling.
_TYPE_OF = {
    "requested": Type.CAMEO_REQUESTED,  # to the owner, from who asks
    "approved": Type.CAMEO_APPROVED,  # to who asked, from the owner
    "denied": Type.CAMEO_DENIED,
    "revoked": Type.CAMEO_REVOKED,
    "level_changed": Type.CAMEO_LEVEL_CHANGED,  # to each member with a standing approval or request
    "suspended": Type.CAMEO_SUSPENDED,  # to those members too: they may no longer use it
    "deleted": Type.CAMEO_DELETED,
}


def _data_of(event: CameoEvent) -> dict[str, Any]:
    """The event's details as JSON values (ids as strings), a prompt cut to an excerpt."""
    data = {key: str(value) if isinstance(value, UUID) else value for key, value in event.data.items()}
    if data.get("prompt"):
        data["prompt"] = str(data["prompt"])[:PROMPT_EXCERPT]
    return {"cameo_id": str(event.cameo_id), "handle": event.handle, **data}


def _used(event: CameoEvent) -> None:
    """A draft made with the cameo, to its owner, about that video. cameos batches the uses of an
    "everyone" cameo already (one event per window, `count` saying how many)."""
    video_id = event.data.get("video_id")
    notification_send(
        recipient_id=event.recipient_id,
        type=Type.CAMEO_USED,
        actor_id=event.actor_id,
        target_kind="video" if video_id else "cameo",
        target_id=UUID(str(video_id)) if video_id else event.cameo_id,
        data=_data_of(event),
    )


def cameo_event_notify(event: CameoEvent) -> None:
    if event.kind == "used":
        _used(event)
        return
    if event.kind == "deleted" and event.recipient_id == event.owner_id:
        # Fired to the owner first, then to each member concerned: the videos go down once.
        cameo_videos_take_down(cameo_id=event.cameo_id, owner_id=event.owner_id, handle=event.handle)
        return
    type = _TYPE_OF.get(event.kind)
    if type is None:
        logger.warning("cameo.event_unknown", extra={"kind": event.kind, "cameo_id": str(event.cameo_id)})
        return
    notification_send(
        recipient_id=event.recipient_id,
        type=type,
        actor_id=event.actor_id,
        target_kind="cameo",
        target_id=event.cameo_id,
        data=_data_of(event),
    )


def cameo_hooks_register() -> None:
    cameo_listener_register(cameo_event_notify)
