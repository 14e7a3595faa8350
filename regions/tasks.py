"""Region jobs. A task takes ids (or nothing), loads, and calls a service."""

from celery import shared_task
from django.db import OperationalError

from core.locks import single_run, skipped
from regions.tallies import tallies_refresh


@shared_task(name="regions.tallies_refresh", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def tallies_refresh_task() -> dict:
    """Recount households and members per region (home and region pages). Idempotent; a
    run that finds another one in progress does nothing."""
    with single_run("regions.tallies_refresh") as acquired:
        if not acquired:
            return skipped("regions.tallies_refresh")
        return tallies_refresh()
