from django.apps import AppConfig


class TranslationsConfig(AppConfig):
    name = "translations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # what the core's pages and exports show of translation; it never imports this app
        from meetings.extensions import extensions

        from . import exports, pages

        extensions.translated_lines = exports.translated_lines
        extensions.translation_refusal = exports.translation_refusal
        extensions.room_context["translation"] = pages.room_picker
        extensions.transcript_context["translation_languages"] = pages.export_languages
