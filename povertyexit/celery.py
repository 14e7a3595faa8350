"""The Celery app. Tasks live in each app's ``tasks.py``; the schedule lives in the
database (django-celery-beat) so an administrator can change it."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "povertyexit.settings")

app = Celery("povertyexit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
