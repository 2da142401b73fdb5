from django.db import migrations

INDEX = "meetings_segment_text_search"


def create_index(apps, schema_editor):
    # Postgres full-text search over transcripts; the embedded SQLite demo searches without it.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON meetings_segment "
            # the expression Django's SearchVector("text", config="english") generates
            "USING gin (to_tsvector('english'::regconfig, COALESCE(text, '')))"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("meetings", "0002_segment_original_speaker_name_segment_words")]

    operations = [migrations.RunPython(create_index, drop_index)]
