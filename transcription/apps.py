from django.apps import AppConfig


class TranscriptionConfig(AppConfig):
    name = "transcription"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # the meeting form and the room ask which languages the live engine can caption
        from meetings.extensions import extensions

        from .engine_factory import transcribable_languages

        extensions.transcribable_languages = transcribable_languages
