"""The batch HTTP API: POST /api/audio/transcribe and GET /api/jobs/<id> (docs/PROTOCOL.md)."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from meetings import exports
from meetings.tokens import token_from_authorization, user_for_token

from . import jobs
from .audio import WHISPER_SAMPLE_RATE, AudioDecodeError, decode_file
from .engines import BATCH_ENGINES
from .engines.base import EngineUnavailable
from .models import AudioUpload, TranscriptionJob

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")


def error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def api_user(request: HttpRequest):
    """The caller: an API token, or a browser session (whose writes need a CSRF token)."""
    raw = token_from_authorization(request.headers.get("Authorization"))
    raw = raw or request.GET.get("token")
    if raw:
        user = user_for_token(raw)
        if user is None:
            return None, error(401, "invalid_token", "The API token is not valid (or revoked).")
        return user, None
    if not request.user.is_authenticated:
        return None, error(401, "not_authenticated", "Log in or send an API token.")
    return request.user, None


@csrf_exempt
@require_POST
def transcribe(request: HttpRequest) -> HttpResponse:
    user, rejected = api_user(request)
    if rejected:
        return rejected
    # Refuse an oversized body before reading it (the CSRF check would read it).
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > settings.UPLOAD_MAX_BYTES + 64 * 1024:
        return too_large()
    if not request.headers.get("Authorization") and not request.GET.get("token"):
        csrf_failure = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if csrf_failure:
            return csrf_failure

    upload = request.FILES.get("file")
    engine = request.POST.get("engine") or settings.TRANSCRIBE_DEFAULT_ENGINE
    language = request.POST.get("language") or "en"
    response_format = request.POST.get("response_format") or "json"
    if upload is None:
        return error(400, "missing_file", "Send the audio as a multipart field named 'file'.")
    if upload.size == 0:
        return error(400, "empty_file", "The file is empty.")
    if upload.size > settings.UPLOAD_MAX_BYTES:
        return too_large()
    if engine not in BATCH_ENGINES:
        choices = ", ".join(BATCH_ENGINES)
        return error(400, "unknown_engine", f"Unknown engine {engine!r}; choose from {choices}.")
    if response_format not in RESPONSE_FORMATS:
        choices = ", ".join(RESPONSE_FORMATS)
        return error(400, "invalid_format", f"response_format must be one of {choices}.")

    try:
        audio = decode_file(upload)
    except AudioDecodeError as exc:
        return error(
            415,
            "unsupported_media",
            f"This is not an audio or video file that can be read ({exc}). "
            "Send wav, mp3, m4a, ogg/opus, webm or flac.",
        )
    upload.seek(0)
    seconds = audio.size / WHISPER_SAMPLE_RATE
    with transaction.atomic():
        stored = AudioUpload.objects.create(
            owner=user,
            file=upload,
            original_name=upload.name[:255],
            size_bytes=upload.size,
            duration_ms=int(seconds * 1000),
        )
        if seconds > settings.TRANSCRIBE_SYNC_MAX_SECONDS:
            job = jobs.start_job(
                engine=engine,
                upload=stored,
                language=language if language != "auto" else "",
                created_by=user,
                options={"response_format": response_format},
            )
    if seconds > settings.TRANSCRIBE_SYNC_MAX_SECONDS:
        return JsonResponse(
            {
                "job": job_json(request, job),
                "message": "Long audio: transcribing in the background.",
            },
            status=202,
        )
    return transcribe_directly(stored, audio, engine, language, response_format, user)


def transcribe_directly(stored, audio, engine, language, response_format, user) -> HttpResponse:
    job = TranscriptionJob.objects.create(
        upload=stored,
        engine=engine,
        language=language,
        created_by=user,
        status=TranscriptionJob.Status.RUNNING,
        started_at=timezone.now(),
        audio_seconds=audio.size / WHISPER_SAMPLE_RATE,
        attempts=1,
    )
    try:
        transcript = jobs.transcribe_now(audio, engine, None if language == "auto" else language)
    except EngineUnavailable as exc:
        jobs.fail(job, jobs.describe_failure(exc))
        return error(503, "engine_unavailable", str(exc))
    job.result = jobs.transcript_json(transcript)
    jobs.succeed(job)
    return render_result(job, response_format)


def too_large() -> JsonResponse:
    limit = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
    return error(413, "file_too_large", f"The file is larger than the {limit} MiB limit.")


def render_result(job: TranscriptionJob, response_format: str) -> HttpResponse:
    result = job.result
    if response_format == "json":
        return JsonResponse({"text": result["text"]})
    if response_format == "verbose_json":
        return JsonResponse(
            {
                "task": "transcribe",
                "language": result["language"],
                "duration": job.audio_seconds,
                "text": result["text"],
                "segments": [
                    {
                        "id": i,
                        "start": s["start_ms"] / 1000,
                        "end": s["end_ms"] / 1000,
                        "text": s["text"],
                        "avg_logprob": s["avg_logprob"],
                        "confidence": s["confidence"],
                        "words": [
                            {"word": w, "start": a / 1000, "end": b / 1000, "probability": p}
                            for w, a, b, p in s["words"]
                        ],
                    }
                    for i, s in enumerate(result["segments"])
                ],
            }
        )
    if response_format == "text":
        return HttpResponse(result["text"] + "\n", content_type="text/plain; charset=utf-8")
    body = exports.export(jobs.result_lines(result), response_format)
    return HttpResponse(body, content_type=exports.FORMATS[response_format].content_type)


def job_json(request: HttpRequest, job: TranscriptionJob) -> dict:
    return {
        "id": job.pk,
        "status": job.status,
        "progress": job.progress,
        "engine": job.engine,
        "error": job.error,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "status_url": request.build_absolute_uri(job.get_absolute_url()),
    }


@require_GET
def job_status(request: HttpRequest, job_id: int) -> HttpResponse:
    user, rejected = api_user(request)
    if rejected:
        return rejected
    job = get_object_or_404(TranscriptionJob.objects.select_related("upload"), pk=job_id)
    if not (user.is_staff or job.created_by_id == user.pk):
        return error(404, "not_found", "No such job.")
    response_format = request.GET.get("response_format")
    if response_format and job.status == TranscriptionJob.Status.DONE and job.result:
        if response_format not in RESPONSE_FORMATS:
            return error(400, "invalid_format", "Unknown response_format.")
        return render_result(job, response_format)
    data = job_json(request, job)
    if job.status == TranscriptionJob.Status.DONE and job.result:
        data["result"] = job.result
    return HttpResponse(json.dumps(data), content_type="application/json")
