"""Under /m/<slug>/translations/ (included by config/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "<str:language>/status.json",
        views.transcript_translation_status,
        name="translations-status",
    ),
]
