from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Lower apps never import the recommender: it registers into their hooks (one line per part).
        self._vectors_ready()

    def _vectors_ready(self) -> None:
        """R1: the vector rows follow posts and labels; interests follow likes, events and remixes."""
        from accounts.public import member_leaving_register
        from feed.public import like_listener_register, video_listener_register, view_events_listener_register
        from moderation.public import label_listener_register
        from recommender import hooks, interests, vectors

        video_listener_register(hooks.videos_changed)
        label_listener_register(vectors.labels_sync)
        like_listener_register(interests.interests_on_like)
        view_events_listener_register(interests.interests_on_events)
        member_leaving_register(hooks.member_leaving)
