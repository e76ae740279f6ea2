"""What other apps may use of `accounts`: these names and nothing else (import-linter holds it).

Plain values cross this line (`Standing`, `WorkStop`), never model instances. Two exceptions, for
reads that must stay one query: `block_partner_ids` is a subquery of ids to filter by, and
`MemberSerializer` is the one shape of a member in every API (fed a user reached through a
foreign key, `select_related("owner__profile")`, or the users `members_for_viewer` hands over).
"""

from typing import Any
from uuid import UUID

from accounts.apis import UserSummarySerializer as MemberSerializer
from accounts.apis import member_card
from accounts.errors import ACCOUNT_INACTIVE, USER_NOT_FOUND
from accounts.hooks import (
    ExportPart,
    ExportSink,
    FollowListener,
    MemberImageCheck,
    MemberImageKind,
    MemberTextCheck,
    MemberTextKind,
    Refusal,
    StopSubject,
    WorkStop,
    WorkStopper,
    export_part_register,
    export_parts,
    follow_listener_register,
    member_files_register,
    member_image_check_register,
    member_image_check_unregister,
    member_leaving_register,
    member_text_check_register,
    member_text_check_unregister,
    signup_topics_register,
    standing_listener_register,
    work_stop,
    work_stopper_register,
)
from accounts.selectors import (
    Standing,
    block_partner_ids,
    blocked_either_way,
    member_id_for_viewer,
    member_ids_by_username,
    member_standing,
    members_for_viewer,
    username_exists,
)
from accounts.services import member_deactivate, member_hold, member_reactivate

__all__ = [
    "ACCOUNT_INACTIVE",
    "USER_NOT_FOUND",
    "ExportPart",
    "ExportSink",
    "FollowListener",
    "MemberImageCheck",
    "MemberImageKind",
    "MemberSerializer",
    "MemberTextCheck",
    "MemberTextKind",
    "Refusal",
    "Standing",
    "StopSubject",
    "WorkStop",
    "WorkStopper",
    "block_partner_ids",
    "blocked_either_way",
    "export_part_register",
    "export_parts",
    "follow_listener_register",
    "followee_ids",
    "member_card",
    "member_deactivate",
    "member_files_register",
    "member_hold",
    "member_id_for_viewer",
    "member_ids_by_username",
    "member_image_check_register",
    "member_image_check_unregister",
    "member_leaving_register",
    "member_reactivate",
    "member_standing",
    "member_text_check_register",
    "member_text_check_unregister",
    "members_for_viewer",
    "members_visible_to",
    "signup_topics_register",
    "standing_listener_register",
    "username_exists",
    "work_stop",
    "work_stopper_register",
]


def followee_ids(*, user_id: UUID) -> list[UUID]:
    """Everyone the member follows (the recommender's follow sources), in one query on `follow_once`."""
    from accounts.models import Follow

    return list(Follow.objects.filter(follower_id=user_id).values_list("followee_id", flat=True))


def members_visible_to(*, viewer_id: UUID) -> Any:
    """Active members not blocked either way with the viewer, with their profiles, as a query for
    another app to filter and order (search ranks them by name): `MemberSerializer` takes the rows."""
    from accounts.models import User

    return (
        User.objects.filter(is_active=True)
        .exclude(id__in=block_partner_ids(user_id=viewer_id))
        .select_related("profile")
    )
