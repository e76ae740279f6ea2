"""`@username` in captions and comments: resolved when written, linked by id (a rename keeps the
link; `written_as` keeps what the text says), and each member mentioned is notified once, unless a
block stands between them and the writer."""

from __future__ import annotations

import re
from uuid import UUID

from accounts.public import member_ids_by_username
from feed.models import Comment, Mention, NotificationGroup, Video
from feed.notifications import notification_send

# A username as accounts allows it (3-30 of a-z, 0-9, "_", "."), not inside a word or an email.
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.]{3,30})(?![\w])")
MAX_MENTIONS = 20  # per text; more are left as plain text


def mentioned_names(text: str) -> list[str]:
    names: dict[str, None] = {}
    for match in MENTION.finditer(text):
        names.setdefault(match.group(1).rstrip(".").lower(), None)
    return list(names)[:MAX_MENTIONS]


def mentions_record(
    *, author_id: UUID, text: str, video: Video | None = None, comment: Comment | None = None
) -> None:
    """Replace the mentions of a caption (`video`) or a comment with those in `text`; notify the new ones."""
    where = {"video": video} if video is not None else {"comment": comment}
    before = set(Mention.objects.filter(**where).values_list("user_id", flat=True))
    found = member_ids_by_username(usernames=mentioned_names(text), viewer_id=author_id)
    Mention.objects.filter(**where).exclude(user_id__in=found.values()).delete()
    Mention.objects.bulk_create(
        [Mention(user_id=user_id, written_as=name, **where) for name, user_id in found.items()],
        ignore_conflicts=True,
    )
    target = video if video is not None else comment
    assert target is not None
    video_id = video.id if video is not None else comment.video_id  # type: ignore[union-attr]
    for user_id in set(found.values()) - before:
        notification_send(
            recipient_id=user_id,
            type=NotificationGroup.Type.MENTIONED,
            actor_id=author_id,
            target_kind="video" if video is not None else "comment",
            target_id=target.id,
            data={"video_id": str(video_id), "excerpt": text[:140]},
        )
