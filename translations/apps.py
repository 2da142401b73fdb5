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
        extensions.add_template_part(
            "room.settings", "translations/_room_picker.html", pages.room_picker
        )
        extensions.add_template_part(
            "transcript.exports", "translations/_export_links.html", pages.export_languages
        )
