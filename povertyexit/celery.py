"""The Celery app. Tasks live in each app's ``tasks.py``; the schedule lives in the
database (django-celery-beat) so an administrator can change it."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "povertyexit.settings")

app = Celery("povertyexit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def run_scans_at_start(sender=None, **kwargs):
    """Scans run once when a worker starts, then on their schedule: a fresh `make run`
    shows its alerts within a minute instead of at the first scheduled tick."""
    from django.conf import settings

    if getattr(settings, "RUN_SCANS_AT_WORKER_START", True):
        for task in settings.SCANS_AT_WORKER_START:
            app.send_task(task)
