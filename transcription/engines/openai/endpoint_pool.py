"""A pool of OpenAI-compatible realtime endpoints: where each new speaker session goes.

``OPENAI_REALTIME_ENDPOINT`` may list several endpoints, comma-separated (the project's speech
server on other hosts, OpenAI itself, any compatible server). A new session goes to the
healthy endpoint with the fewest sessions of this process; an endpoint that fails (refused
connection, dropped socket) is set aside, and a probe knocks on its port with a growing pause
until it answers again, when new sessions may use it again. Sessions are counted per process:
each web process balances its own speakers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

#: the probe's first pause after a failure, doubling up to the last
PROBE_FIRST_S, PROBE_MAX_S = 0.5, 10.0
PROBE_CONNECT_TIMEOUT = 3.0

#: every pool alive in this process, for the metrics
_pools: weakref.WeakSet[EndpointPool] = weakref.WeakSet()


def split_endpoints(setting: str) -> list[str]:
    """``OPENAI_REALTIME_ENDPOINT``'s endpoints, in order, without blanks or repeats."""
    endpoints = [part.strip() for part in setting.split(",")]
    return list(dict.fromkeys(endpoint for endpoint in endpoints if endpoint))


@dataclass
class Endpoint:
    url: str
    sessions: int = 0
    healthy: bool = True
    failures: int = 0  # in a row; the probe's pause grows with it

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        default = 443 if parts.scheme in {"wss", "https"} else 80
        return parts.hostname or "localhost", parts.port or default


class EndpointPool:
    """The endpoints of one engine, their health and how many sessions each carries."""

    def __init__(self, urls: Iterable[str]) -> None:
        self.endpoints = [Endpoint(url) for url in urls]
        if not self.endpoints:
            raise ValueError("no realtime endpoint is configured")
        self.probes: dict[str, asyncio.Task] = {}
        _pools.add(self)

    def choices(self, avoid: str | None = None) -> list[Endpoint]:
        """Endpoints to try for a session, best first: healthy ones by load, ``avoid`` last.

        Endpoints that failed come after the healthy ones, so that a session still opens
        somewhere when the probe has not yet seen an endpoint come back.
        """

        def rank(endpoint: Endpoint) -> tuple[bool, bool, int]:
            return (endpoint.url == avoid, not endpoint.healthy, endpoint.sessions)

        return sorted(self.endpoints, key=rank)  # stable: equals keep the configured order

    def has_other_healthy(self, url: str) -> bool:
        return any(e.healthy and e.url != url for e in self.endpoints)

    def acquire(self, endpoint: Endpoint) -> None:
        endpoint.sessions += 1

    def release(self, endpoint: Endpoint) -> None:
        endpoint.sessions = max(0, endpoint.sessions - 1)

    def succeeded(self, endpoint: Endpoint) -> None:
        if not endpoint.healthy:
            logger.info("speech endpoint %s is back", endpoint.url)
        endpoint.healthy, endpoint.failures = True, 0

    def failed(self, endpoint: Endpoint) -> None:
        """Set the endpoint aside until the probe finds its port open again."""
        if endpoint.healthy:
            logger.warning("speech endpoint %s failed; set aside", endpoint.url)
        endpoint.healthy = False
        endpoint.failures += 1
        probe = self.probes.get(endpoint.url)
        if probe is None or probe.done():
            self.probes[endpoint.url] = asyncio.get_running_loop().create_task(
                self._probe(endpoint)
            )

    async def _probe(self, endpoint: Endpoint) -> None:
        """Knock on the endpoint's port until it answers (or a session finds it well)."""
        pause = PROBE_FIRST_S
        while not endpoint.healthy:
            await asyncio.sleep(pause)
            if await port_open(*endpoint.address):
                self.succeeded(endpoint)
                return
            pause = min(pause * 2, PROBE_MAX_S)

    def snapshot(self) -> list[tuple[str, int, bool]]:
        return [(e.url, e.sessions, e.healthy) for e in self.endpoints]


async def port_open(host: str, port: int) -> bool:
    try:
        async with asyncio.timeout(PROBE_CONNECT_TIMEOUT):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def pool_snapshots() -> list[tuple[str, int, bool]]:
    """(endpoint, sessions, healthy) of every pool in this process, for the metrics."""
    return [row for pool in list(_pools) for row in pool.snapshot()]
