from django.db import migrations

INDEX = "meetings_segment_text_trigram"


def create_index(apps, schema_editor):
    # Meetings in a language written without spaces (Thai, Chinese, Japanese...) are searched as
    # substrings (meetings/search.py); pg_trgm's index serves their ILIKE. The english index of
    # 0003 stays: English meetings still search through it. The SQLite demo has neither.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON meetings_segment USING gin (text gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    # the extension stays: something else in the database may use it
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("meetings", "0009_removal")]

    operations = [migrations.RunPython(create_index, drop_index)]
