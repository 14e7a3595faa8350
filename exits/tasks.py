"""Exit-workflow jobs. A task takes ids (or nothing), loads, and calls a service."""

from celery import shared_task
from django.db import OperationalError

from core.locks import single_run, skipped
from exits.scans import overdue_scan


@shared_task(name="exits.overdue_scan", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def overdue_scan_task() -> dict:
    """Flag overdue and at-risk exit steps; clear what has been done. Idempotent; a run
    that finds another one in progress does nothing."""
    with single_run("exits.overdue_scan") as acquired:
        if not acquired:
            return skipped("exits.overdue_scan")
        return overdue_scan()
