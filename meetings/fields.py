"""Model fields of our own."""

from __future__ import annotations

from django.db import models


class RegConfigField(models.CharField):
    """A PostgreSQL text search configuration (``english``), as the ``regconfig`` it is there:
    an index may then hold ``to_tsvector(column, text)``, which a text column cast would not
    allow (the cast depends on the search path)."""

    def db_type(self, connection) -> str | None:
        if connection.vendor == "postgresql":
            return "regconfig"
        return super().db_type(connection)
