from __future__ import annotations

from django.contrib import admin

from .models import Summary


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    list_display = ("meeting", "status", "parts_done", "parts_total", "model_name", "updated_at")
    list_filter = ("status",)
    list_select_related = ("meeting",)
    raw_id_fields = ("meeting", "version", "requested_by", "edited_by")
    search_fields = ("meeting__title", "meeting__slug")
    readonly_fields = (
        *("run", "attempts", "task_id", "created_at", "updated_at"),
        *("started_at", "heartbeat_at", "finished_at"),
    )
