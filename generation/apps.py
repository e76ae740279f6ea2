from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from accounts.public import member_files_register, work_stopper_register

        # Declare the checks and the worker's task (dispatched by name) in every process, and every
        # app's error codes: a running job may be stopped with any app's code.
        from generation import checks, tasks  # noqa: F401

        autodiscover_modules("errors")
        from generation.jobs import jobs_stop
        from generation.selectors import member_start_images

        # Apps below generation stop its jobs through accounts' hook, never by importing it.
        work_stopper_register(jobs_stop)
        member_files_register(member_start_images)  # a deleted member's start images leave the storage
