"""What a web process tells Prometheus (``GET /metrics``): its speakers and listeners, the decode
queue, how fast finals come, and what went wrong. Every figure is this process's own; the job
queue is read from the database, so any process can report it.

No metric carries text, audio, names or tokens: only counts, durations and engine names.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.conf import settings
from django.db.models import Avg, Count, F
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from meetings.budget import CHAT_TOKENS, PAID_SECONDS, refusals

from .engine_factory import decode_slots, realtime_engine
from .engines.openai.endpoint_pool import pool_snapshots
from .live.limits import seats

registry = CollectorRegistry()

connections = Gauge(
    "captions_connections",
    "Open room WebSocket connections (speakers and listeners).",
    registry=registry,
)
speakers = Gauge(
    "captions_speakers", "Speakers this process captions now (seats held).", registry=registry
)
decode_queue = Gauge(
    "captions_decode_queue",
    "Local decodes waiting for a core (finals and partials).",
    registry=registry,
)
final_latency = Histogram(
    "captions_final_seconds",
    "From the engine's speech-stopped event to the final being stored and sent.",
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0),
    registry=registry,
)
errors_sent = Counter(
    "captions_errors",
    "Error events sent to clients, by code: refusals (server_busy, rate_limited, forbidden), "
    "finals lost after every retry (caption_not_saved), upstream trouble.",
    ["code"],
    registry=registry,
)
store_retries = Counter(
    "captions_store_retries",
    "Finals tried again after a store failed, by reason: unreachable (PostgreSQL or Redis away, "
    "tried for about 30 s) or refused (the database refused the row, tried twice more).",
    ["reason"],
    registry=registry,
)
engine_errors = Counter(
    "captions_engine_errors",
    "Upstream sessions that could not open or failed, by engine.",
    ["engine"],
    registry=registry,
)


class JobCollector:
    """Transcription jobs by status, and how long the oldest queued one has waited."""

    def collect(self):
        from .models import TranscriptionJob

        by_status = GaugeMetricFamily(
            "transcription_jobs", "Transcription jobs by status.", labels=["status"]
        )
        jobs = TranscriptionJob.objects.order_by()
        counts = dict(jobs.values_list("status").annotate(n=Count("id")))
        for status in TranscriptionJob.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        now = timezone.now()
        queued = jobs.filter(status=TranscriptionJob.Status.QUEUED)
        oldest = queued.order_by("created_at").values_list("created_at", flat=True).first()
        yield GaugeMetricFamily(
            "transcription_oldest_queued_seconds",
            "Seconds the oldest queued transcription job has waited (0: none).",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        recent = jobs.filter(
            status=TranscriptionJob.Status.DONE, finished_at__gte=now - timedelta(hours=1)
        ).aggregate(mean=Avg(F("finished_at") - F("started_at")))["mean"]
        yield GaugeMetricFamily(
            "transcription_job_seconds_last_hour",
            "Mean running time of the jobs finished in the last hour (0: none).",
            value=recent.total_seconds() if recent else 0.0,
        )


class EngineCollector:
    """The speech endpoints' sessions and health, and what the decode slots gave up under load."""

    def collect(self):
        if settings.TRANSCRIPTION_ENGINE == "openai":
            realtime_engine("openai")  # its endpoints are listed before the first speaker
        sessions = GaugeMetricFamily(
            "captions_endpoint_sessions",
            "Speaker sessions this process holds at each realtime speech endpoint.",
            labels=["endpoint"],
        )
        healthy = GaugeMetricFamily(
            "captions_endpoint_healthy",
            "1 while a realtime speech endpoint takes sessions, 0 while it is set aside.",
            labels=["endpoint"],
        )
        for endpoint, count, up in pool_snapshots():
            sessions.add_metric([endpoint], count)
            healthy.add_metric([endpoint], 1 if up else 0)
        yield sessions
        yield healthy
        slots = decode_slots()
        yield CounterMetricFamily(
            "captions_partials_skipped",
            "Partials not decoded because the speaker's previous one was still decoding.",
            value=slots.partials_skipped,
        )
        yield CounterMetricFamily(
            "captions_partials_dropped",
            "Partials given up for a final: their speaker had paused, or a final waited.",
            value=slots.partials_dropped,
        )
        yield CounterMetricFamily(
            "captions_crowded_finals",
            "Finals decoded with the smaller beam because other finals were due at once.",
            value=slots.crowded_finals,
        )
        yield CounterMetricFamily(
            "captions_finals_after_head",
            "Crowded finals that decoded only what followed their utterance's settled head.",
            value=slots.finals_after_head,
        )


class BudgetCollector:
    """What the paid services cost today (every process's, from Redis), the budgets, and the
    calls this process refused because a budget was spent."""

    def collect(self):
        for budget, name, unit in [
            (CHAT_TOKENS, "captions_chat_tokens", "Chat tokens (summaries, translations)"),
            (PAID_SECONDS, "captions_paid_engine_seconds", "Seconds of audio on a paid engine"),
        ]:
            per_meeting, per_day = budget.limits()
            yield GaugeMetricFamily(
                f"{name}_today", f"{unit} spent today (UTC), all meetings.", budget.spent_today()
            )
            yield GaugeMetricFamily(
                f"{name}_day_budget", f"{unit} a day may spend (0: no limit).", per_day
            )
            yield GaugeMetricFamily(
                f"{name}_meeting_budget", f"{unit} a meeting may spend (0: no limit).", per_meeting
            )
        refused = CounterMetricFamily(
            "captions_budget_refusals",
            "Calls refused because a budget was spent, by budget and by whose (meeting or day).",
            labels=["budget", "scope"],
        )
        for (kind, scope), count in sorted(refusals.items()):
            refused.add_metric([kind, scope], count)
        yield refused


registry.register(JobCollector())
registry.register(BudgetCollector())
registry.register(EngineCollector())
speakers.set_function(lambda: len(seats.holders))
# the counts, not the heap: it keeps given-up waiters
decode_queue.set_function(lambda: sum(decode_slots().queued))


LOOPBACK = {"127.0.0.1", "::1"}


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format, for a scraper on this host or one with ``METRICS_TOKEN``."""
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if request.META.get("REMOTE_ADDR") not in LOOPBACK and not (
        token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    ):
        return HttpResponseForbidden(
            "Metrics are served to this host, or with the bearer token set in METRICS_TOKEN.",
            content_type="text/plain",
        )
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
