from django.apps import AppConfig


class SummariesConfig(AppConfig):
    name = "summaries"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the core tells of meetings that end and asks for the summary its exports and its
        # transcript page show; it never imports this app (docs/ARCHITECTURE.md)
        from meetings.extensions import extensions

        from . import exports, pages, receivers  # noqa: F401 (receivers: connected on import)

        extensions.export_summary = exports.summary_for_export
        extensions.add_template_part(
            "transcript.sections", "summaries/_section.html", pages.summary_section
        )
