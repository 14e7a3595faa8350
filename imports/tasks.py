"""Import jobs for files too big to check or apply inside a request. A task takes the
job id, and the service decides (by the job's status) whether anything is left to do,
so a redelivered or duplicated task does no harm."""

from celery import shared_task
from django.db import OperationalError

from imports.services import import_apply, import_check


@shared_task(name="imports.check", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def import_check_task(job_id: int) -> None:
    import_check(job_id)


@shared_task(name="imports.apply", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def import_apply_task(job_id: int) -> None:
    import_apply(job_id)
