"""The batch HTTP API: POST /api/audio/transcribe and GET /api/jobs/<id> (docs/PROTOCOL.md)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_ratelimit.core import is_ratelimited

from meetings import exports, languages
from meetings.budget import BudgetSpent
from meetings.jobs import Heartbeat
from meetings.rates import describe_rate
from meetings.tokens import token_from_authorization, user_for_token

from ..audio import (
    WHISPER_SAMPLE_RATE,
    AudioDecodeError,
    AudioFile,
    AudioTooLong,
    describe_seconds,
)
from ..engines import BATCH_ENGINES
from ..engines.base import EngineUnavailable, Transcript, TranscriptSegment
from ..engines.openai.protocol import verbose_json
from ..models import AudioUpload, TranscriptionJob, may_use_engine, paid_engine_refusal
from . import costs, jobs

logger = logging.getLogger(__name__)

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
#: room for the multipart boundaries and the other fields around an upload of UPLOAD_MAX_BYTES
MULTIPART_OVERHEAD = 64 * 1024


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
    # Refuse an oversized body before reading it (the CSRF check would read it); the ASGI
    # middleware (config/body_limit.py) has already done so for requests served by Daphne.
    declared = declared_length(request)
    if declared > settings.UPLOAD_MAX_BYTES + MULTIPART_OVERHEAD:
        return too_large()
    if not request.headers.get("Authorization") and not request.GET.get("token"):
        csrf_failure = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if csrf_failure:
            return csrf_failure
    if upload_rate_limited(request, user):
        rate = describe_rate(settings.UPLOAD_RATE_LIMIT)
        return error(429, "rate_limited", f"Too many uploads: at most {rate}. Try again later.")
    params, rejected = upload_params(request, user)
    if rejected:
        return rejected

    try:
        audio, declared_seconds = read_short_audio(params.upload)
    except AudioTooLong as exc:
        return error(413, "audio_too_long", audio_too_long_message(exc))
    except AudioDecodeError as exc:
        return error(
            415,
            "unsupported_media",
            f"This is not an audio or video file that can be read ({exc}). "
            "Send wav, mp3, m4a, ogg/opus, webm or flac.",
        )
    if why := costs.refusal(params.engine, None, known_seconds(audio, declared_seconds)):
        return error(429, "budget_spent", why)
    params.upload.seek(0)
    with transaction.atomic():
        if not jobs.reserve_job_slot(user):
            limit = settings.MAX_QUEUED_JOBS_PER_USER
            return error(
                429,
                "too_many_jobs",
                f"You already have {limit} transcriptions waiting or running: "
                "send this file again when one of them has finished.",
            )
        job = create_job(params, user, audio, declared_seconds)
    if audio is None:
        return JsonResponse(
            {
                "job": job_json(request, job),
                "message": "Long audio: transcribing in the background.",
            },
            status=202,
        )
    return transcribe_directly(job, audio, params.response_format)


def declared_length(request: HttpRequest) -> int:
    """The body's Content-Length; 0 for none, or one that is no number (the body is counted)."""
    value = request.META.get("CONTENT_LENGTH") or "0"
    # 5,000 digits would make int() raise; no body that long gets this far anyway
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return 0
    return int(value)


@dataclass
class UploadParams:
    upload: UploadedFile
    engine: str
    language: str
    response_format: str


def upload_params(
    request: HttpRequest, user
) -> tuple[UploadParams, None] | tuple[None, JsonResponse]:
    """The upload's fields, or the error that refuses them."""
    try:
        upload = request.FILES.get("file")
    except MultiPartParserError as exc:
        # Django would answer its HTML 400 page; API clients read JSON
        return None, error(400, "invalid_body", f"The multipart body cannot be read: {exc}")
    engine = request.POST.get("engine") or settings.TRANSCRIBE_DEFAULT_ENGINE
    language = request.POST.get("language") or "en"
    response_format = request.POST.get("response_format") or "json"
    if upload is None:
        return None, error(400, "missing_file", "Send the audio as a multipart field named 'file'.")
    if upload.size == 0:
        return None, error(400, "empty_file", "The file is empty.")
    if upload.size > settings.UPLOAD_MAX_BYTES:
        return None, too_large()
    if language != languages.AUTO and languages.name(language) == language:
        message = "language must be a language code such as en or fr, or auto."
        return None, error(400, "unknown_language", message)
    if engine not in BATCH_ENGINES:
        choices = ", ".join(BATCH_ENGINES)
        message = f"Unknown engine {engine!r}; choose from {choices}."
        return None, error(400, "unknown_engine", message)
    if not may_use_engine(user, engine):
        return None, error(403, "engine_not_allowed", paid_engine_refusal(engine))
    if response_format not in RESPONSE_FORMATS:
        choices = ", ".join(RESPONSE_FORMATS)
        message = f"response_format must be one of {choices}."
        return None, error(400, "invalid_format", message)
    return UploadParams(upload, engine, language, response_format), None


def read_short_audio(upload: UploadedFile) -> tuple[np.ndarray | None, float | None]:
    """(samples, the length the header gives); no samples when the file is one for a job.

    This process decodes at most TRANSCRIBE_SYNC_MAX_SECONDS: a header saying longer sends the
    file to the worker undecoded, and so does audio that goes on past the threshold whatever its
    header said (the worker decodes in chunks and counts up to UPLOAD_MAX_SECONDS).
    """
    short = settings.TRANSCRIBE_SYNC_MAX_SECONDS
    with AudioFile(upload) as audio:
        declared = audio.declared_seconds
        if declared is not None and declared > settings.UPLOAD_MAX_SECONDS:
            raise AudioTooLong(settings.UPLOAD_MAX_SECONDS)
        if declared is not None and declared > short:
            return None, declared
        try:
            pieces = list(audio.samples(max_seconds=short))
        except AudioTooLong:
            return None, declared
    if not pieces:
        raise AudioDecodeError("the file holds no audio samples")
    return np.concatenate(pieces), declared


def known_seconds(audio: np.ndarray | None, declared_seconds: float | None) -> float:
    """The upload's length as far as it is known before it is transcribed (0: not at all)."""
    return audio.size / WHISPER_SAMPLE_RATE if audio is not None else declared_seconds or 0


def create_job(params: UploadParams, user, audio, declared_seconds) -> TranscriptionJob:
    """Store the upload with its job: queued for the worker, or running here when short."""
    seconds = known_seconds(audio, declared_seconds)
    stored = AudioUpload.objects.create(
        owner=user,
        file=params.upload,
        original_name=params.upload.name[:255],
        size_bytes=params.upload.size,
        duration_ms=int(seconds * 1000),
    )
    language = "" if params.language == "auto" else params.language
    if audio is None:
        options = {"response_format": params.response_format}
        return jobs.start_job(
            engine=params.engine, upload=stored, language=language, created_by=user, options=options
        )
    now = timezone.now()
    return TranscriptionJob.objects.create(
        upload=stored,
        engine=params.engine,
        language=language,
        created_by=user,
        status=TranscriptionJob.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        audio_seconds=seconds,
        run=1,
        attempts=1,
    )


def transcribe_directly(job: TranscriptionJob, audio, response_format: str) -> HttpResponse:
    try:
        # the job counts against the user's limit: if this process dies, a worker finishes it
        with Heartbeat(job):
            transcript = jobs.transcribe_now(audio, job.engine, job.language or None)
        # stored in the try, so that a refused result fails the job rather than leave it running
        with transaction.atomic():
            jobs.succeed(job, result=jobs.transcript_json(transcript))
    except EngineUnavailable as exc:
        jobs.fail(job, jobs.describe_failure(exc))
        return error(503, "engine_unavailable", str(exc))
    except BudgetSpent as exc:  # spent by others since this upload was let in
        jobs.fail(job, jobs.describe_failure(exc))
        return error(429, "budget_spent", str(exc))
    except Exception as exc:
        logger.exception("transcribing upload %s failed", job.upload_id)
        jobs.fail(job, jobs.describe_failure(exc))
        return error(500, "transcription_failed", jobs.describe_failure(exc))
    return render_result(job, response_format)


def upload_rate_limited(request: HttpRequest, user) -> bool:
    """Counts this upload against the user's UPLOAD_RATE_LIMIT; True once it is used up.

    Keyed by the user (token or session alike), counted in the cache shared by every process.
    """
    return is_ratelimited(
        request,
        group="transcription.upload",
        key=lambda group, request: str(user.pk),
        rate=settings.UPLOAD_RATE_LIMIT,
        increment=True,
    )


def audio_too_long_message(exc: AudioTooLong) -> str:
    limit = describe_seconds(exc.limit_seconds)
    return f"The audio is longer than {limit}: files up to {limit} long can be transcribed."


def too_large() -> JsonResponse:
    limit = settings.UPLOAD_MAX_BYTES // (1024 * 1024)
    return error(413, "file_too_large", f"The file is larger than the {limit} MiB limit.")


def render_result(job: TranscriptionJob, response_format: str) -> HttpResponse:
    result = job.result
    if response_format == "json":
        return JsonResponse({"text": result["text"]})
    if response_format == "verbose_json":
        # the same body as the speech server's (OpenAI's shape, with confidences and words)
        segments = [
            TranscriptSegment(
                s["start_ms"],
                s["end_ms"],
                s["text"],
                s["avg_logprob"],
                [tuple(w) for w in s["words"]],
            )
            for s in result["segments"]
        ]
        body = verbose_json(Transcript(segments, result["language"]), job.audio_seconds or 0.0)
        # this API has always answered the ISO code ("en"), where OpenAI names the language
        body["language"] = result["language"]
        return JsonResponse(body)
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
    # Staff status alone opens the admin, not other people's transcripts: those who may see
    # jobs there (the permission, or a superuser) may see them here.
    if not (job.created_by_id == user.pk or user.has_perm("transcription.view_transcriptionjob")):
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
