"""Notification jobs."""

from celery import shared_task
from django.db import OperationalError

from core.locks import single_run, skipped
from notifications.services import daily_digest


@shared_task(name="notifications.daily_digest", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def daily_digest_task() -> dict:
    """One email per user with open alerts (only when email is configured)."""
    with single_run("notifications.daily_digest") as acquired:
        if not acquired:
            return skipped("notifications.daily_digest")
        return {"sent": daily_digest()}
