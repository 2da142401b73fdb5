from django.db import migrations

import meetings.fields
from meetings import languages

OLD_INDEX = "meetings_segment_text_search"  # 0003: every segment in english
INDEX = "meetings_segment_search"
TRIGRAM_INDEX = "meetings_segment_text_trigram"


def choose_configs(apps, schema_editor):
    # Existing segments: their meeting's language (or, where it is detected, their own) picks
    # the configuration, as Segment.choose_search_config() does for new ones.
    Segment = apps.get_model("meetings", "Segment")
    pairs = Segment.objects.values_list("meeting__language", "language").distinct()
    for meeting_language, language in pairs:
        config = languages.text_search_config(languages.spoken(meeting_language, language))
        Segment.objects.filter(meeting__language=meeting_language, language=language).update(
            search_config=config
        )


def create_indexes(apps, schema_editor):
    # The SQLite demo searches without indexes.
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {OLD_INDEX}")
    # the expression Django's SearchVector("text", config=F("search_config")) generates
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON meetings_segment "
        "USING gin (to_tsvector(search_config, COALESCE(text, '')))"
    )
    # Languages written without spaces are searched as substrings, which this index serves.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON meetings_segment "
        "USING gin (text gin_trgm_ops)"
    )


def drop_indexes(apps, schema_editor):
    # pg_trgm stays: something else in the database may use it
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {OLD_INDEX} ON meetings_segment "
        "USING gin (to_tsvector('english'::regconfig, COALESCE(text, '')))"
    )


class Migration(migrations.Migration):
    dependencies = [("meetings", "0009_removal")]

    operations = [
        migrations.AddField(
            model_name="segment",
            name="search_config",
            field=meetings.fields.RegConfigField(
                blank=True, editable=False, max_length=63, null=True
            ),
        ),
        migrations.RunPython(choose_configs, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
