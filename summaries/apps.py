from django.apps import AppConfig


class SummariesConfig(AppConfig):
    name = "summaries"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the core tells of meetings that end; it never imports summaries (docs/ARCHITECTURE.md)
        from . import receivers  # noqa: F401
