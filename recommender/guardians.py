"""Guardian links: an adult account linked to a teen's, so the adult can set the teen's feed switches.

Either side invites the other by username; the invited side confirms (both have agreed once it is
`confirmed`). A teen has at most one confirmed guardian, and a pair at most one open link (both are
unique constraints, so two confirmations at once cannot both win). Either side may end a link at any
time; ending a confirmed one turns the switches back off. Only the two members of a link see it:
anyone else gets 404 `guardianship_not_found`, as for an unknown id. Blocks hide names as everywhere
(inviting someone blocked either way is 404 `user_not_found`).
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.public import member_id_for_viewer, member_standing
from config.errors import KinoError
from feed.public import notification_send
from recommender import errors
from recommender.models import FeedProfile, Guardianship

logger = logging.getLogger(__name__)

State = Guardianship.State
Side = Guardianship.Side
OPEN = (State.INVITED, State.CONFIRMED)


def guardianships_of(*, member_id: UUID) -> QuerySet[Guardianship]:
    """The links the member is part of, either side, newest first, with both members' profiles."""
    return Guardianship.objects.filter(Q(guardian_id=member_id) | Q(teen_id=member_id)).select_related(
        "guardian__profile", "teen__profile"
    )


def guardianship_get_for_member(*, member_id: UUID, guardianship_id: UUID) -> Guardianship:
    link = guardianships_of(member_id=member_id).filter(id=guardianship_id).first()
    if link is None:
        raise KinoError(errors.GUARDIANSHIP_NOT_FOUND)
    return link


def guardian_switches(*, teen_ids: list[UUID]) -> dict[UUID, tuple[bool, bool]]:
    """(personalisation_off, continuous_scroll_off) of each teen that has a feed profile: one query."""
    rows = FeedProfile.objects.filter(user_id__in=teen_ids).values_list(
        "user_id", "personalisation_off", "continuous_scroll_off"
    )
    return {user_id: (personalisation, scroll) for user_id, personalisation, scroll in rows}


def guardianship_invite(*, actor_id: UUID, username: str) -> tuple[Guardianship, bool]:
    """Invite the member named `username` to a link with the actor: the adult of the two is the
    guardian. An open link between them is answered as it stands (created False)."""
    other_id = member_id_for_viewer(viewer_id=actor_id, username=username)
    actor, other = member_standing(user_id=actor_id), member_standing(user_id=other_id)
    if actor is None or other is None or other_id == actor_id or actor.is_teen == other.is_teen:
        raise KinoError(errors.GUARDIANSHIP_ROLES, field="username")
    guardian_id, teen_id = (other_id, actor_id) if actor.is_teen else (actor_id, other_id)
    pair = Guardianship.objects.filter(guardian_id=guardian_id, teen_id=teen_id, state__in=OPEN)
    existing = pair.first()
    if existing is not None:
        return existing, False
    if Guardianship.objects.filter(teen_id=teen_id, state=State.CONFIRMED).exists():
        raise KinoError(errors.GUARDIANSHIP_TEEN_LINKED)
    try:
        with transaction.atomic():
            link = Guardianship.objects.create(
                guardian_id=guardian_id,
                teen_id=teen_id,
                invited_by=Side.TEEN if actor.is_teen else Side.GUARDIAN,
            )
    except IntegrityError:
        # The same pair invited at once from both sides: one row won, both read it.
        return pair.get(), False
    logger.info("recommender.guardianship_invited", extra={"guardianship_id": str(link.id)})
    _tell(link, actor_id, other_id, "guardian_invited")
    return link, True


def _side(link: Guardianship, member_id: UUID) -> str:
    return Side.GUARDIAN if link.guardian_id == member_id else Side.TEEN


def _other(link: Guardianship, member_id: UUID) -> UUID:
    return link.teen_id if link.guardian_id == member_id else link.guardian_id


def _tell(link: Guardianship, actor_id: UUID, recipient_id: UUID, type: str, state: str = "") -> None:
    """The other side hears of an invitation, a confirmation or an end (feed's notifications: stored,
    pushed on the WebSocket, grouped per link)."""
    data = {"guardianship_id": str(link.id), **({"state": state} if state else {})}
    notification_send(
        recipient_id=recipient_id,
        type=type,
        actor_id=actor_id,
        target_kind="user",
        target_id=actor_id,
        data=data,
    )


def guardianship_confirm(*, actor_id: UUID, guardianship_id: UUID) -> Guardianship:
    """The invited side agrees: the link is confirmed (a conditional UPDATE: one confirmation wins)."""
    link = guardianship_get_for_member(member_id=actor_id, guardianship_id=guardianship_id)
    if link.state != State.INVITED:
        raise KinoError(errors.GUARDIANSHIP_STATE)
    if _side(link, actor_id) == link.invited_by:
        raise KinoError(errors.GUARDIANSHIP_OTHER_SIDE)
    try:
        with transaction.atomic():
            updated = Guardianship.objects.filter(id=link.id, state=State.INVITED).update(
                state=State.CONFIRMED, confirmed_at=timezone.now()
            )
    except IntegrityError as exc:
        raise KinoError(errors.GUARDIANSHIP_TEEN_LINKED) from exc
    if not updated:
        raise KinoError(errors.GUARDIANSHIP_STATE)
    logger.info("recommender.guardianship_confirmed", extra={"guardianship_id": str(link.id)})
    _tell(link, actor_id, _other(link, actor_id), "guardian_link_changed", state=State.CONFIRMED)
    return guardianship_get_for_member(member_id=actor_id, guardianship_id=guardianship_id)


def guardianship_end(*, actor_id: UUID, guardianship_id: UUID) -> Guardianship:
    """Either side ends the link (an invitation too: declined); the teen's switches go back off.
    Ending an ended link changes nothing."""
    link = guardianship_get_for_member(member_id=actor_id, guardianship_id=guardianship_id)
    if guardianship_close(link=link):
        _tell(link, actor_id, _other(link, actor_id), "guardian_link_changed", state=State.ENDED)
    return guardianship_get_for_member(member_id=actor_id, guardianship_id=guardianship_id)


@transaction.atomic
def guardianship_close(*, link: Guardianship) -> bool:
    """End an open link (a member's request, or staff's from the admin); True if it was open."""
    ended = Guardianship.objects.filter(id=link.id, state__in=OPEN).update(
        state=State.ENDED, ended_at=timezone.now()
    )
    if ended and link.state == State.CONFIRMED:
        FeedProfile.objects.filter(user_id=link.teen_id).update(
            personalisation_off=False, continuous_scroll_off=False, updated_at=timezone.now()
        )
    if ended:
        logger.info("recommender.guardianship_ended", extra={"guardianship_id": str(link.id)})
    return bool(ended)


@transaction.atomic
def guardian_switches_set(
    *, actor_id: UUID, guardianship_id: UUID, personalisation_off: bool, continuous_scroll_off: bool
) -> Guardianship:
    """The guardian of a confirmed link sets the teen's feed switches (the link's row locked, so an
    end at the same moment lands before or after, never half)."""
    link = guardianship_get_for_member(member_id=actor_id, guardianship_id=guardianship_id)
    if link.guardian_id != actor_id:
        raise KinoError(errors.GUARDIANSHIP_GUARDIAN_ONLY)
    locked = Guardianship.objects.select_for_update().filter(id=link.id, state=State.CONFIRMED).exists()
    if not locked:
        raise KinoError(errors.GUARDIANSHIP_STATE)
    FeedProfile.objects.update_or_create(
        user_id=link.teen_id,
        defaults={"personalisation_off": personalisation_off, "continuous_scroll_off": continuous_scroll_off},
    )
    logger.info("recommender.guardian_switches_set", extra={"guardianship_id": str(link.id)})
    return link
