from django.apps import AppConfig


class ProvenanceConfig(AppConfig):
    name = "provenance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Declare the app's error codes and its boot check (signing) in every process.
        from provenance import checks, errors  # noqa: F401
