from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from transcription.jobs import start_job
from transcription.models import Engine

from . import exports
from .models import ApiToken, Meeting, Membership, Recording, Segment, TranscriptVersion, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("Captions", {"fields": ("display_name",)}))
    list_display = ("username", "display_name", "email", "is_staff", "is_active")
    search_fields = ("username", "display_name", "email")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "state")
    list_select_related = ("user",)
    list_filter = ("revoked_at",)
    raw_id_fields = ("user",)
    search_fields = ("user__username", "name", "prefix")
    readonly_fields = ("prefix", "token_hash", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        # The raw token is shown only once, by `manage.py issue_token`.
        return False

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        return "revoked" if token.revoked_at else "active"

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        for token in queryset.active():
            token.revoke()
        messages.success(request, "The tokens are revoked.")


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "slug",
        "kind",
        "owner",
        "language",
        "created_at",
        "started_at",
        "ended_at",
        "segment_count",
    )
    list_filter = ("kind", "language")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    search_fields = ("title", "slug", "owner__username")
    inlines = [MembershipInline]
    actions = [
        "retranscribe_with_whispercpp",
        "retranscribe_with_faster_whisper",
        "retranscribe_with_openai",
        "export_transcripts",
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_segments=Count("segments"))

    @admin.display(description="segments", ordering="n_segments")
    def segment_count(self, meeting) -> int:
        return meeting.n_segments

    def retranscribe(self, request, queryset, engine: str) -> None:
        started = skipped = 0
        for meeting in queryset:
            if not meeting.recordings.exists():
                skipped += 1
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
        self.retranscribe(request, queryset, Engine.WHISPERCPP)

    @admin.action(description="Re-transcribe with faster-whisper (batch)")
    def retranscribe_with_faster_whisper(self, request, queryset) -> None:
        self.retranscribe(request, queryset, Engine.LOCAL)

    @admin.action(description="Re-transcribe with OpenAI (batch)")
    def retranscribe_with_openai(self, request, queryset) -> None:
        self.retranscribe(request, queryset, Engine.OPENAI)

    @admin.action(description="Export transcripts (ZIP of SRT, WebVTT, TXT, JSON, DOCX)")
    def export_transcripts(self, request, queryset) -> HttpResponse:
        from .views import transcript_export

        files = []
        for meeting in queryset:
            for version in [None, *meeting.versions.all()]:
                for fmt in exports.FORMATS:
                    body, filename = transcript_export(meeting, version, fmt)
                    files.append((f"{meeting.slug}/{filename}", body))
        response = HttpResponse(exports.zip_files(files), content_type="application/zip")
        response["Content-Disposition"] = 'attachment; filename="transcripts.zip"'
        return response


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = (
        "meeting",
        "start_ms",
        "speaker_name",
        "short_text",
        "confidence_badge",
        "engine",
        "version",
    )
    list_select_related = ("meeting", "version")
    list_filter = ("engine", "meeting")
    raw_id_fields = ("meeting", "speaker", "version", "edited_by")
    search_fields = ("text", "speaker_name", "meeting__title")
    readonly_fields = (
        "original_text",
        "item_id",
        "avg_logprob",
        "created_at",
        "edited_at",
        "edited_by",
    )

    @admin.display(description="text")
    def short_text(self, segment: Segment) -> str:
        return segment.text[:80]

    @admin.display(description="confidence", ordering="confidence")
    def confidence_badge(self, segment: Segment) -> str:
        if segment.confidence is None:
            return "—"
        css = "color:#b00020;font-weight:bold" if segment.is_low_confidence else ""
        return format_html('<span style="{}">{}</span>', css, f"{segment.confidence:.2f}")


@admin.register(TranscriptVersion)
class TranscriptVersionAdmin(admin.ModelAdmin):
    list_display = ("meeting", "engine", "label", "created_at", "side_by_side")
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting",)

    @admin.display(description="review")
    def side_by_side(self, version: TranscriptVersion) -> str:
        url = reverse("meetings-transcript", args=[version.meeting.slug])
        return format_html('<a href="{}?compare={}">side by side with live</a>', url, version.pk)


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ("meeting", "speaker_name", "offset_ms", "duration_ms", "created_at")
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting", "speaker")
