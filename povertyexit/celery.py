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
def say_ready(sender=None, **kwargs):
    """Under ``manage.py runall`` (``make run``): tell the supervisor the worker is up, so
    it prints the address and the demo accounts after the worker's start-up lines."""
    if path := os.environ.get("POVERTYEXIT_READY_FILE"):
        with open(path, "w", encoding="ascii") as ready:
            ready.write(str(os.getpid()))


@worker_ready.connect
def run_scans_at_start(sender=None, **kwargs):
    """Scans run once when a worker starts, then on their schedule: a fresh `make run`
    shows its alerts within a minute instead of at the first scheduled tick."""
    from django.conf import settings

    if getattr(settings, "RUN_SCANS_AT_WORKER_START", True):
        for task in settings.SCANS_AT_WORKER_START:
            app.send_task(task)
