from django.apps import AppConfig


class CaptionViewsConfig(AppConfig):
    name = "caption_views"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # what the room page shows of caption views; the core never imports this app
        from meetings.extensions import extensions

        from . import pages

        extensions.add_template_part(
            "room.settings", "caption_views/_settings_panel.html", pages.settings_panel
        )
        extensions.add_template_part("room.host-controls", "caption_views/_host_links.html")
