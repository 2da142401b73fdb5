"""Under /m/<slug>/summary/ (included by config/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("request/", views.ask, name="summaries-request"),
    path("edit/", views.edit, name="summaries-edit"),
    path("status.json", views.status, name="summaries-status"),
]
