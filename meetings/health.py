"""The state of what the service depends on, for /healthz."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection

CHECK_TIMEOUT_SECONDS = 2.0


def check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()}
    return {"ok": True}


async def _round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "healthz.ping"})
    await layer.receive(channel)


def check_channel_layer() -> dict[str, Any]:
    async def probe() -> None:
        await asyncio.wait_for(_round_trip(), CHECK_TIMEOUT_SECONDS)

    try:
        async_to_sync(probe)()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip() or "timeout"}
    return {"ok": True}


def check_health() -> dict[str, Any]:
    database = check_database()
    layer = check_channel_layer()
    ok = database["ok"] and layer["ok"]
    return {"status": "ok" if ok else "unavailable", "database": database, "channel_layer": layer}
