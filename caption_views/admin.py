from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from . import actions
from .models import CaptionLink, CaptionSettings


@admin.register(CaptionLink)
class CaptionLinkAdmin(admin.ModelAdmin):
    list_display = ["prefix", "label", "meeting", "created_by", "created_at", "revoked_at"]
    list_select_related = ["meeting", "created_by"]
    raw_id_fields = ["meeting", "created_by"]
    readonly_fields = ["prefix", "token_hash", "created_at", "revoked_at"]
    actions = ["revoke"]

    @admin.action(description="Revoke (closes every open view of it)")
    def revoke(self, request, queryset) -> None:
        # through the action, so open viewers are closed too, not only the row changed
        with transaction.atomic():
            for link in queryset.active():
                actions.do_revoke_link(link)


@admin.register(CaptionSettings)
class CaptionSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "scheme", "font", "size", "lines", "updated_at"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
