from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Lower apps never import the recommender: it registers into their hooks (one line per part).
        from accounts.public import export_part_register, member_leaving_register
        from feed.public import view_events_listener_register
        from recommender import privacy
        from recommender.steering import see_less_record

        view_events_listener_register(see_less_record)  # R3: "see less like this"
        member_leaving_register(privacy.member_leaving)  # R3: steering, see-less, check-ins go with them
        export_part_register(privacy.EXPORT_PART)  # R3: ... and are in their data export
        self._vectors_ready()

    def _vectors_ready(self) -> None:
        """R1: the vector rows follow posts and labels; interests follow likes, events and remixes."""
        from accounts.public import (
            member_leaving_register,
            signup_topics_register,
            standing_listener_register,
        )
        from feed.public import like_listener_register, video_listener_register, view_events_listener_register
        from moderation.public import label_listener_register
        from recommender import hooks, interests, vectors

        video_listener_register(hooks.videos_changed)
        label_listener_register(vectors.labels_sync)
        like_listener_register(interests.interests_on_like)
        view_events_listener_register(interests.interests_on_events)
        member_leaving_register(hooks.member_leaving)
        standing_listener_register(hooks.member_standing)  # a banned member's posts leave feeds and search
        signup_topics_register(interests.topics_on_signup)
