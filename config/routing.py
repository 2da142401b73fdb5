"""Every WebSocket route of the site, composed from the apps' consumers.

The routes are put together here, above the apps, so that no app imports one above it
(docs/ARCHITECTURE.md): a room's connection is transcription's, with what translations adds
to it mixed in, and caption links are caption_views' own consumer.
"""

from django.urls import path

from caption_views.consumers import CaptionViewerConsumer
from transcription.live.endpoints import MeetingConsumer, PersonalTranscriptionConsumer
from translations.consumers import TranslationMixin


class RoomConsumer(TranslationMixin, MeetingConsumer):
    """``/ws/meetings/<slug>/``: a room, whose listeners may read its captions translated."""


websocket_urlpatterns = [
    path("ws/meetings/<slug:slug>/", RoomConsumer.as_asgi()),
    path("ws/realtime/transcribe", PersonalTranscriptionConsumer.as_asgi()),
    path("ws/captions/<str:token>/", CaptionViewerConsumer.as_asgi()),
]
