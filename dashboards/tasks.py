"""Dashboard jobs. A task takes ids (or nothing), loads, and calls a service."""

from celery import shared_task
from django.db import OperationalError

from core.locks import single_run, skipped
from dashboards.snapshots import snapshots_refresh


@shared_task(name="dashboards.snapshots_refresh", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def snapshots_refresh_task() -> dict:
    """Recount the city's and each county's dashboards. Idempotent; a run that finds
    another one in progress does nothing."""
    with single_run("dashboards.snapshots_refresh") as acquired:
        if not acquired:
            return skipped("dashboards.snapshots_refresh")
        return snapshots_refresh()
