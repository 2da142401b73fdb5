"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.body_limit import BodySizeLimitMiddleware  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402
from meetings.ws_auth import OriginValidator, TokenAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        # oversized bodies are refused before Django reads them
        "http": BodySizeLimitMiddleware(django_asgi_app),
        "websocket": OriginValidator(
            AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
