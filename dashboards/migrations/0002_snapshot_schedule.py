"""The dashboard snapshots' schedule (every minute), stored in the database
(django-celery-beat) so an administrator can change it in the admin. The worker also
runs it once at start (povertyexit/celery.py)."""

from django.db import migrations

NAME = "看板统计（市、县）"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": "dashboards.snapshots_refresh", "interval": every})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_dashboard_snapshot"), ("django_celery_beat", "0019_alter_periodictasks_options")]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
