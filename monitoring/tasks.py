"""Monitoring jobs. A task takes ids (or nothing), loads, and calls a service."""

from celery import shared_task
from django.db import OperationalError

from core.locks import single_run, skipped
from monitoring.scans import at_risk_scan, response_overdue_scan


@shared_task(name="monitoring.at_risk_scan", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def at_risk_scan_task() -> dict:
    """系统监测: open candidates for new findings; flag responses past their deadline.
    Idempotent; a run that finds another one in progress does nothing."""
    with single_run("monitoring.at_risk_scan") as acquired:
        if not acquired:
            return skipped("monitoring.at_risk_scan")
        return {"findings": at_risk_scan(), "responses": response_overdue_scan()}
