from django.contrib import admin
from django.urls import include, path

from transcription.batch import api
from transcription.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/audio/transcribe", api.transcribe, name="api-transcribe"),
    path("api/jobs/<int:job_id>", api.job_status, name="api-job"),
    path("metrics", metrics_view, name="metrics"),
    path("", include("caption_views.urls")),
    path("m/<slug:slug>/summary/", include("summaries.urls")),
    path("m/<slug:slug>/translations/", include("translations.urls")),
    path("", include("meetings.urls")),
]
