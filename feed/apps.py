from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.public import follow_listener_register, member_files_register, member_leaving_register
        from feed import errors  # noqa: F401  (declare the app's error codes in every process)
        from feed.notifications import follow_notify
        from feed.selectors import member_video_files
        from feed.services import member_leaving

        member_files_register(member_video_files)  # a deleted member's videos leave the storage
        follow_listener_register(follow_notify)  # a new follower is a (grouped) notification
        member_leaving_register(member_leaving)  # their likes, comments and remixes leave the counters
        from feed import export, tasks  # noqa: F401  (tasks: every process knows feed.export_build)

        export.export_hooks_register()  # feed's parts of a data export; exports' zips go with the member
        from feed.moderation import moderation_hooks_register

        moderation_hooks_register()  # moderation acts on videos and comments, and its outcomes notify
        from feed.cameos import cameo_hooks_register

        cameo_hooks_register()  # cameos' events become notifications; a deleted cameo takes its videos down
