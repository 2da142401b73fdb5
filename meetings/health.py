"""The state of what the service depends on, for /healthz."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

from .redis_client import connect

CHECK_TIMEOUT_SECONDS = 2.0


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}
    return {"ok": True}


def check_channel_layer() -> dict[str, Any]:
    """Ping the Redis servers behind the channel layer.

    A round trip through the layer itself would share the process's receive loop with
    the live consumers, and a stuck probe would hold a request thread; a PING cannot.
    """
    config = settings.CHANNEL_LAYERS["default"]
    if not config.get("CONFIG", {}).get("hosts"):  # the embedded demo's in-memory layer
        return {"ok": True, "backend": "in-memory"}
    try:
        for host in config["CONFIG"]["hosts"]:
            client = connect(
                host,
                socket_timeout=CHECK_TIMEOUT_SECONDS,
                socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
            )
            with client:
                client.ping()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}
    return {"ok": True}


def check_health() -> dict[str, Any]:
    database = check_database()
    layer = check_channel_layer()
    ok = database["ok"] and layer["ok"]
    return {"status": "ok" if ok else "unavailable", "database": database, "channel_layer": layer}
