"""A member's steering, check-ins, feed settings, guardian links and what the feed served them
(impressions): in their data export, and gone with their account.

Registered from `RecommenderConfig.ready` into accounts' hooks. Guardian links go by their foreign
keys' cascade; the other rows name the member by a plain id, so they are deleted here (see-less rows
naming them as a creator too: nobody needs to be muted once they have left).
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import Q

from accounts.public import ExportPart, ExportSink
from recommender.models import CheckIn, FeedProfile, Guardianship, Impression, SeeLess, SteerClause, Steering


def member_leaving(user_id: UUID) -> None:
    Steering.objects.filter(user_id=user_id).delete()
    SteerClause.objects.filter(user_id=user_id).delete()
    SeeLess.objects.filter(Q(user_id=user_id) | Q(creator_id=user_id)).delete()
    CheckIn.objects.filter(user_id=user_id).delete()
    Impression.objects.filter(user_id=user_id).delete()


def _export_write(user_id: UUID, sink: ExportSink) -> None:
    steering = Steering.objects.filter(user_id=user_id).values("text", "updated_at").first()
    clauses = SteerClause.objects.filter(user_id=user_id).order_by("created_at", "id")
    sink.write_json(
        "steering.json",
        {
            "instruction": steering,
            # Which way and why, never the vectors (384 numbers that say nothing to a person).
            "clauses": list(clauses.values("source", "direction", "text", "expires_at", "created_at")),
            "see_less": list(
                SeeLess.objects.filter(user_id=user_id)
                .order_by("created_at", "id")
                .values("video_id", "creator_id", "created_at")
            ),
        },
    )
    sink.write_json(
        "checkins.json",
        list(CheckIn.objects.filter(user_id=user_id).order_by("shown_at", "id").values()),
    )
    sink.write_json(
        "feed_served.json",  # what the feed showed them, when and why (its features are the ranker's)
        list(
            Impression.objects.filter(user_id=user_id)
            .order_by("served_at", "id")
            .values("video_id", "served_at", "position", "source", "score", "model_version")
        ),
    )
    sink.write_json(
        "feed_settings.json",
        FeedProfile.objects.filter(user_id=user_id)
        .values("topics", "personalisation_off", "continuous_scroll_off", "updated_at")
        .first(),
    )
    links = Guardianship.objects.filter(Q(guardian_id=user_id) | Q(teen_id=user_id)).order_by(
        "created_at", "id"
    )
    sink.write_json(
        "guardian_links.json",
        list(
            links.values(
                "id",
                "guardian__username",
                "teen__username",
                "state",
                "invited_by",
                "created_at",
                "confirmed_at",
                "ended_at",
            )
        ),
    )


EXPORT_PART = ExportPart(name="recommender", write=_export_write)
