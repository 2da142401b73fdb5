"""GET /metrics: Prometheus' text format for this host, or for a scraper with METRICS_TOKEN.

Anyone else is refused: the figures say how busy the service is and which engines fail.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.base import Factory
from tests.servers import ROOT
from transcription.models import AudioUpload, TranscriptionJob

pytestmark = pytest.mark.django_db

OUTSIDE = "203.0.113.5"


def samples(response) -> dict[tuple[str, tuple], float]:
    text = response.content.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_it_answers_this_host(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert ("captions_connections", ()) in samples(response)


def test_it_refuses_anyone_else(client, settings):
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE).status_code == 403
    settings.METRICS_TOKEN = "s3cret-scraper-token"
    wrong = {"HTTP_AUTHORIZATION": "Bearer guess"}
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, **wrong).status_code == 403
    right = {"HTTP_AUTHORIZATION": "Bearer s3cret-scraper-token"}
    assert client.get("/metrics", REMOTE_ADDR=OUTSIDE, **right).status_code == 200


def test_it_counts_the_job_queue(client):
    owner = Factory().make_user("bob")
    upload = AudioUpload.objects.create(owner=owner, file="uploads/x.wav", original_name="x.wav")
    now = timezone.now()

    def job(**fields):
        TranscriptionJob.objects.create(upload=upload, created_by=owner, **fields)

    job(status="queued", created_at=now - timedelta(seconds=90))
    job(status="queued")
    job(status="done", started_at=now - timedelta(seconds=30), finished_at=now)
    figures = samples(client.get("/metrics"))
    assert figures[("transcription_jobs", (("status", "queued"),))] == 2
    assert figures[("transcription_jobs", (("status", "running"),))] == 0
    assert figures[("transcription_jobs", (("status", "done"),))] == 1
    assert 90 <= figures[("transcription_oldest_queued_seconds", ())] < 300
    assert figures[("transcription_job_seconds_last_hour", ())] == pytest.approx(30, abs=1)


def test_the_grafana_dashboard_asks_only_for_metrics_that_exist(client):
    """docs/grafana-dashboard.json: a renamed metric would leave a panel silently empty."""
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    asked = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(?:captions|transcription)_[a-z_]+\b", target["expr"])
    }
    text = client.get("/metrics").content.decode()
    served = {  # a labelled counter nobody has counted yet has a family but no sample
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in ("", "_total", "_bucket", "_count", "_sum")
    }
    assert asked and asked <= served, asked - served
