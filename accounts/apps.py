from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import checks, errors  # noqa: F401  (declare the checks and the error codes)
        from accounts.roles import moderators_group_sync

        post_migrate.connect(moderators_group_sync, dispatch_uid="accounts.moderators_group_sync")
        from accounts.export import export_parts_register

        export_parts_register()  # the profile, avatar, follows and blocks in a member's data export
