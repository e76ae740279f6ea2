from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "moderation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.public import member_image_check_register, member_text_check_register
        from config.boot import warmer_register
        from config.health import status_check_register
        from moderation.likeness.loader import face_models_status
        from moderation.likeness.screen import avatar_check
        from moderation.text.categories import exemplar_model
        from moderation.text.embed import encoder, quick_encoder
        from moderation.text.policy import member_text_check

        # faces: an avatar with a public figure's face is refused; /healthz (and every worker's
        # heartbeat) says whether this process can load the face models.
        member_image_check_register(avatar_check)
        status_check_register("moderation", face_models_status)

        # text: usernames, display names and bios go through the text policy (public figures' names
        # for all three; content categories for display names and bios).
        member_text_check_register(member_text_check)
        # A serving process loads the text policy's encoder and exemplars as it starts, not at the
        # first prompt (3-5 s).
        warmer_register(encoder)
        warmer_register(exemplar_model)
        warmer_register(quick_encoder)  # cameos read a request's prompt with it
