from django.contrib.auth import views as auth_views
from django.urls import path

from . import interface_language, recordings, views

urlpatterns = [
    path("", views.index, name="meetings-index"),
    path("meetings/new/", views.create, name="meetings-create"),
    path("m/<slug:slug>/", views.room, name="meetings-room"),
    path("m/<slug:slug>/transcript/", views.transcript, name="meetings-transcript"),
    path(
        "m/<slug:slug>/transcript/export.<str:fmt>",
        views.export_transcript,
        name="meetings-export",
    ),
    path(
        "m/<slug:slug>/segments/<int:segment_id>/correct/",
        views.correct_segment,
        name="meetings-correct-segment",
    ),
    path(
        "m/<slug:slug>/recordings/<int:recording_id>/audio.wav",
        recordings.recording_audio,
        name="meetings-recording-audio",
    ),
    path("m/<slug:slug>/speakers/rename/", views.rename_speaker, name="meetings-rename-speaker"),
    path("search/", views.search, name="meetings-search"),
    path("m/<slug:slug>/invite/", views.invite, name="meetings-invite"),
    path(
        "m/<slug:slug>/participants/<int:user_id>/role/",
        views.set_role,
        name="meetings-set-role",
    ),
    path(
        "m/<slug:slug>/participants/<int:user_id>/remove/",
        views.remove_participant,
        name="meetings-remove-participant",
    ),
    path(
        "m/<slug:slug>/participants/<int:user_id>/let-back-in/",
        views.let_back_in,
        name="meetings-let-back-in",
    ),
    path("m/<slug:slug>/join-link/", views.rotate_join_code, name="meetings-rotate-join-code"),
    path("m/<slug:slug>/join/<str:code>/", views.join, name="meetings-join"),
    path("accounts/signup/", views.signup, name="accounts-signup"),
    path("accounts/profile/", views.profile, name="accounts-profile"),
    path("accounts/language/", interface_language.set_language, name="accounts-language"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="accounts-login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="accounts-logout"),
    path("healthz", views.healthz, name="healthz"),
]
