"""Housekeeping jobs. A task takes ids (or nothing), loads, and calls a service."""

from celery import shared_task
from django.db import OperationalError

from core.services import housekeeping_run


@shared_task(
    name="core.housekeeping",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def housekeeping() -> dict[str, int]:
    """Daily: drop expired sessions and old login-attempt logs. Idempotent."""
    return housekeeping_run()
