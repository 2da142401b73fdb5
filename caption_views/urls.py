from django.urls import path

from . import views

urlpatterns = [
    path("captions/settings/", views.save_settings, name="caption-views-settings"),
    path("captions/<str:token>/", views.caption_view, name="caption-views-view"),
    path("m/<slug:slug>/caption-links/", views.links, name="caption-views-links"),
    path(
        "m/<slug:slug>/caption-links/<int:link_id>/revoke/",
        views.revoke_link,
        name="caption-views-revoke",
    ),
]
