from django.apps import AppConfig


class CameosConfig(AppConfig):
    name = "cameos"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.public import (
            member_files_register,
            member_leaving_register,
            member_text_check_register,
            work_stopper_register,
        )
        from cameos import errors  # noqa: F401  (declare the app's error codes in every process)
        from cameos.export import export_hooks_register
        from cameos.likeness_index import cameo_faces_nearest
        from cameos.moderation import moderation_hooks_register
        from cameos.selectors import username_check
        from cameos.services import owner_files, owner_leaving, owner_work_stop
        from moderation.public import cameo_faces_nearest_register

        # The owner banned or deactivated: the jobs of others casting their cameos stop too.
        work_stopper_register(owner_work_stop)
        # The owner deleting their account: the same, before their cameos cascade away; and their
        # reference images leave the storage.
        member_leaving_register(owner_leaving)
        member_files_register(owner_files)
        export_hooks_register()  # cameos, consents, approvals and the usage log in the data export
        moderation_hooks_register()  # reports on cameos; moderators suspend and restore them
        cameo_faces_nearest_register(cameo_faces_nearest)  # output screening finds unconsented cameos
        member_text_check_register(username_check)  # a username may not be a character's handle
