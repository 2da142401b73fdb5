from django.urls import path

from caption_views.consumers import CaptionViewerConsumer

from .endpoints import MeetingConsumer, PersonalTranscriptionConsumer

websocket_urlpatterns = [
    path("ws/meetings/<slug:slug>/", MeetingConsumer.as_asgi()),
    path("ws/realtime/transcribe", PersonalTranscriptionConsumer.as_asgi()),
    path("ws/captions/<str:token>/", CaptionViewerConsumer.as_asgi()),
]
