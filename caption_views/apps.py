from django.apps import AppConfig


class CaptionViewsConfig(AppConfig):
    name = "caption_views"
    default_auto_field = "django.db.models.BigAutoField"
