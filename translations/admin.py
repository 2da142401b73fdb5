from __future__ import annotations

from django.contrib import admin

from .models import TranscriptTranslation, Translation


@admin.register(Translation)
class TranslationAdmin(admin.ModelAdmin):
    list_display = ("segment", "language", "model", "created_at")
    list_filter = ("language",)
    list_select_related = ("segment",)
    raw_id_fields = ("segment",)
    search_fields = ("text",)


@admin.register(TranscriptTranslation)
class TranscriptTranslationAdmin(admin.ModelAdmin):
    list_display = ("meeting", "language", "status", "done", "attempts", "error", "created_at")
    list_filter = ("status", "language")
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting",)
    readonly_fields = ("run", "attempts", "task_id", "started_at", "heartbeat_at", "finished_at")
