from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from meetings import exports, queries
from meetings.admin import MeetingAdmin
from meetings.models import Meeting

from .batch import costs
from .batch.jobs import result_lines, start_job
from .models import AudioUpload, TranscriptionJob, may_use_engine, paid_engine_refusal


@admin.register(AudioUpload)
class AudioUploadAdmin(admin.ModelAdmin):
    list_display = ("original_name", "owner", "size_bytes", "duration_ms", "created_at")
    list_select_related = ("owner",)
    search_fields = ("original_name", "owner__username")
    fields = ("file", "original_name", "owner", "size_bytes", "duration_ms", "created_at")
    readonly_fields = ("original_name", "owner", "size_bytes", "duration_ms", "created_at")
    actions = [
        "transcribe_with_whispercpp",
        "transcribe_with_faster_whisper",
        "transcribe_with_openai",
    ]

    def save_model(self, request, upload, form, change) -> None:
        if not change:
            upload.owner = request.user
            upload.original_name = upload.file.name[:255]
            upload.size_bytes = upload.file.size
        super().save_model(request, upload, form, change)

    def start(self, request, queryset, engine: str) -> None:
        if not may_use_engine(request.user, engine):
            messages.error(request, f"No jobs started. {paid_engine_refusal(engine)}")
            return
        started = 0
        for upload in queryset:
            if why := costs.refusal(engine, None, costs.source_seconds(upload=upload)):
                messages.error(request, f"No job started for “{upload}”: {why}")
                continue
            start_job(engine=engine, upload=upload, created_by=request.user)
            started += 1
        if started:
            messages.success(request, f"{started} jobs started.")

    @admin.action(description="Transcribe with whisper.cpp")
    def transcribe_with_whispercpp(self, request, queryset) -> None:
        self.start(request, queryset, "whispercpp")

    @admin.action(description="Transcribe with faster-whisper")
    def transcribe_with_faster_whisper(self, request, queryset) -> None:
        self.start(request, queryset, "local")

    @admin.action(description="Transcribe with OpenAI (batch)")
    def transcribe_with_openai(self, request, queryset) -> None:
        self.start(request, queryset, "openai")


@admin.register(TranscriptionJob)
class TranscriptionJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "source",
        "engine",
        "status",
        "progress_bar",
        "audio_seconds",
        "speed",
        "created_at",
        "result_link",
        "short_error",
    )
    list_filter = ("status", "engine")
    list_select_related = ("upload", "meeting", "version")
    readonly_fields = [f.name for f in TranscriptionJob._meta.fields]
    actions = ["run_again", "export_results"]
    # The job list refreshes itself while jobs run (see the change_list template).
    change_list_template = "admin/transcription/transcriptionjob/change_list.html"

    def has_add_permission(self, request) -> bool:
        # Jobs start from the actions on meetings and uploads.
        return False

    def changelist_view(self, request, extra_context=None):
        running = TranscriptionJob.objects.filter(
            status__in=[TranscriptionJob.Status.QUEUED, TranscriptionJob.Status.RUNNING]
        ).exists()
        return super().changelist_view(request, {**(extra_context or {}), "jobs_running": running})

    @admin.display(description="source")
    def source(self, job: TranscriptionJob) -> str:
        return job.source_label

    @admin.display(description="progress", ordering="progress")
    def progress_bar(self, job: TranscriptionJob) -> str:
        return format_html(
            '<progress max="100" value="{}" title="{}%"></progress> {}%',
            job.progress,
            job.progress,
            int(job.progress),
        )

    @admin.display(description="real-time factor")
    def speed(self, job: TranscriptionJob) -> str:
        factor = job.real_time_factor
        return f"{factor:.3f}" if factor is not None else "—"

    @admin.display(description="result")
    def result_link(self, job: TranscriptionJob) -> str:
        if job.version_id:
            from django.urls import reverse

            url = reverse("meetings-transcript", args=[job.meeting.slug])
            return format_html(
                '<a href="{}?compare={}">side by side with live</a>', url, job.version_id
            )
        if job.result:
            return format_html("{}…", job.result["text"][:60])
        return "—"

    @admin.display(description="error")
    def short_error(self, job: TranscriptionJob) -> str:
        return job.error[:120]

    @admin.action(description="Run the selected failed jobs again")
    def run_again(self, request, queryset) -> None:
        failed = queryset.filter(status=TranscriptionJob.Status.FAILED)
        refused = [job.engine for job in failed if not may_use_engine(request.user, job.engine)]
        if refused:
            messages.error(request, f"No jobs queued. {paid_engine_refusal(refused[0])}")
            return
        queued = 0
        for job in failed:
            seconds = costs.source_seconds(upload=job.upload, meeting=job.meeting)
            if why := costs.refusal(job.engine, job.meeting_id, seconds):
                messages.error(request, f"Job {job.pk} not queued again: {why}")
                continue
            queued += 1
            start_job(
                engine=job.engine,
                upload=job.upload,
                meeting=job.meeting,
                language=job.language,
                created_by=request.user,
                options=job.options,
            )
        if queued:
            messages.success(request, f"{queued} jobs queued again.")

    @admin.action(description="Download the results (one SRT, or a ZIP of several)")
    def export_results(self, request, queryset) -> HttpResponse:
        files = []
        for job in queryset.filter(status=TranscriptionJob.Status.DONE):
            if job.version_id:
                body, name = queries.transcript_export(job.meeting, job.version, "srt")
            else:
                body, name = exports.export(result_lines(job.result), "srt"), f"job-{job.pk}.srt"
            files.append((name, body))
        if len(files) == 1:
            response = HttpResponse(files[0][1], content_type=exports.FORMATS["srt"].content_type)
            response["Content-Disposition"] = f'attachment; filename="{files[0][0]}"'
            return response
        response = HttpResponse(exports.zip_files(files), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="transcripts.zip"'
        return response


# The meetings app knows nothing of jobs: its admin gets the re-transcription actions here.
admin.site.unregister(Meeting)


@admin.register(Meeting)
class MeetingWithJobsAdmin(MeetingAdmin):
    """The meetings' admin, with actions that re-transcribe their recordings as jobs."""

    actions = [
        "retranscribe_with_whispercpp",
        "retranscribe_with_faster_whisper",
        "retranscribe_with_openai",
        *MeetingAdmin.actions,
    ]

    def retranscribe(self, request, queryset, engine: str) -> None:
        if not may_use_engine(request.user, engine):
            messages.error(request, f"No jobs started. {paid_engine_refusal(engine)}")
            return
        started = skipped = 0
        for meeting in queryset:
            if not meeting.recordings.exists():
                skipped += 1
                continue
            seconds = costs.source_seconds(meeting=meeting)
            if why := costs.refusal(engine, meeting.pk, seconds):
                messages.error(request, f"No job started for “{meeting.title}”: {why}")
                continue
            start_job(
                engine=engine, meeting=meeting, language=meeting.language, created_by=request.user
            )
            started += 1
        url = reverse("admin:transcription_transcriptionjob_changelist")
        if started:
            messages.success(
                request,
                format_html(
                    '{} jobs started: follow them in <a href="{}">the job list</a>.', started, url
                ),
            )
        if skipped:
            messages.warning(request, f"{skipped} meetings have no recordings to transcribe.")

    @admin.action(description="Re-transcribe with whisper.cpp")
    def retranscribe_with_whispercpp(self, request, queryset) -> None:
        self.retranscribe(request, queryset, "whispercpp")

    @admin.action(description="Re-transcribe with faster-whisper (batch)")
    def retranscribe_with_faster_whisper(self, request, queryset) -> None:
        self.retranscribe(request, queryset, "local")

    @admin.action(description="Re-transcribe with OpenAI (batch)")
    def retranscribe_with_openai(self, request, queryset) -> None:
        self.retranscribe(request, queryset, "openai")
