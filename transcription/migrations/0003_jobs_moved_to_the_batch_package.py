"""The job task moved from transcription.jobs to transcription.batch.jobs.

django-tasks keeps each queued task's import path in its table: point the tasks still waiting
at the new place, so that an upgrade never strands a queued job.
"""

from django.db import migrations

OLD = "transcription.jobs.run_transcription_job"
NEW = "transcription.batch.jobs.run_transcription_job"


def move(apps, schema_editor, old=OLD, new=NEW):
    tasks = apps.get_model("django_tasks_database", "DBTaskResult")
    tasks.objects.filter(task_path=old).update(task_path=new)


def move_back(apps, schema_editor):
    move(apps, schema_editor, old=NEW, new=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("transcription", "0002_paid_engines_permission"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(move, move_back)]
