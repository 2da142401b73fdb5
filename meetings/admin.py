from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from . import actions, exports, queries
from .forms import AdminUserChangeForm, MeetingAdminForm
from .models import (
    ApiToken,
    Bookmark,
    Meeting,
    Membership,
    Recording,
    Segment,
    TranscriptVersion,
    User,
)

# Every change here that can take rights away goes through meetings.actions, which tells the
# user's open sockets once the change commits; otherwise they would keep working.


def notify_users(user_ids) -> None:
    for user_id in set(user_ids) - {None}:
        actions.notify_access_changed_on_commit(user_id)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = AdminUserChangeForm
    fieldsets = (*BaseUserAdmin.fieldsets, ("Captions", {"fields": ("display_name",)}))
    list_display = ("username", "display_name", "email", "is_staff", "is_active")
    search_fields = ("username", "display_name", "email")
    actions = ["deactivate_users"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        # deactivated, or no longer a superuser (who may host every meeting)
        if change and {"is_active", "is_superuser"} & set(form.changed_data):
            actions.notify_access_changed_on_commit(obj.pk)

    def delete_model(self, request, obj) -> None:
        actions.notify_access_changed_on_commit(obj.pk)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        # atomic, so that the notice goes out after the rows are gone, not before
        with transaction.atomic():
            notify_users(queryset.values_list("pk", flat=True))
            super().delete_queryset(request, queryset)

    @admin.action(description="Deactivate the selected users (their open connections close)")
    def deactivate_users(self, request, queryset) -> None:
        for user in queryset.filter(is_active=True).exclude(pk=request.user.pk):
            actions.do_deactivate_user(user)
        if queryset.filter(pk=request.user.pk).exists():
            messages.warning(request, "You cannot deactivate your own account here.")
        messages.success(request, "The selected users are deactivated.")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "created_at", "last_used_at", "state")
    list_select_related = ("user",)
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "name", "prefix")
    # not the user either: handing a token to someone else would keep its sockets as the old one
    readonly_fields = ("user", "prefix", "token_hash", "created_at", "last_used_at", "revoked_at")
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
            actions.do_revoke_token(token)
        messages.success(request, "The tokens are revoked.")

    def delete_model(self, request, obj) -> None:
        actions.notify_access_changed_on_commit(obj.user_id)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            notify_users(queryset.values_list("user_id", flat=True))
            super().delete_queryset(request, queryset)


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ("user",)
    extra = 0


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    form = MeetingAdminForm
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
    # transcription/admin.py adds the actions that re-transcribe the recordings
    actions = ["export_transcripts"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_segments=Count("segments"))

    @admin.display(description="segments", ordering="n_segments")
    def segment_count(self, meeting) -> int:
        return meeting.n_segments

    def get_readonly_fields(self, request, obj=None):
        # Personal meetings are made by Meeting.personal_for() and bound to their owner.
        if obj is not None and obj.kind == Meeting.Kind.PERSONAL:
            return ("kind", "owner", "slug")
        return ("kind",)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and "owner" in form.changed_data:
            notify_users([form.initial.get("owner")])  # no longer host by ownership
        if change and "language" in form.changed_data:
            Segment.objects.index_for_search(obj)  # searched in the new language from now on

    def save_formset(self, request, form, formset, change) -> None:
        if formset.model is Membership:
            # before saving: a changed form's instance holds the new values, `initial` the old
            affected = [
                user_id
                for membership_form in formset.initial_forms
                if membership_form.has_changed() or membership_form in formset.deleted_forms
                for user_id in (
                    membership_form.initial.get("user"),
                    membership_form.instance.user_id,
                )
            ]
            notify_users(affected)
        super().save_formset(request, form, formset, change)
        if formset.model is Membership:
            # as on the room page: the removed stay out of the join link, the added are let in
            for membership in formset.deleted_objects:
                if membership.user_id != form.instance.owner_id:
                    actions.remember_removal(form.instance, membership.user, by=request.user)
            for membership in formset.new_objects:
                actions.do_let_back_in(form.instance, membership.user)

    def delete_model(self, request, obj) -> None:
        notify_users([obj.owner_id, *obj.memberships.values_list("user_id", flat=True)])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        with transaction.atomic():
            owners = queryset.values_list("owner_id", flat=True)
            members = Membership.objects.filter(meeting__in=queryset).values_list(
                "user_id", flat=True
            )
            notify_users([*owners, *members])
            super().delete_queryset(request, queryset)

    @admin.action(description="Export transcripts (ZIP of SRT, WebVTT, TXT, JSON, DOCX)")
    def export_transcripts(self, request, queryset) -> HttpResponse:
        files = []
        for meeting in queryset:
            for version in [None, *meeting.versions.all()]:
                for fmt in exports.FORMATS:
                    body, filename = queries.transcript_export(meeting, version, fmt)
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


@admin.register(Bookmark)
class BookmarkAdmin(admin.ModelAdmin):
    list_display = ("meeting", "at_ms", "author_name", "note", "created_at")
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting", "author")
    search_fields = ("note", "author_name", "meeting__title")


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
