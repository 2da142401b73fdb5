from __future__ import annotations

from django.contrib import admin

from .models import Translation


@admin.register(Translation)
class TranslationAdmin(admin.ModelAdmin):
    list_display = ("segment", "language", "model", "created_at")
    list_filter = ("language",)
    list_select_related = ("segment",)
    raw_id_fields = ("segment",)
    search_fields = ("text",)
