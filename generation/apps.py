from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.public import work_stopper_register

        # Declare the checks, the codes and the worker's task (requests dispatch it by name) in every process.
        from generation import checks, errors, tasks  # noqa: F401
        from generation.jobs import jobs_stop

        # Apps below generation stop its jobs through accounts' hook, never by importing it.
        work_stopper_register(jobs_stop)
