"""Import jobs for files too big to check or apply inside a request. A task takes the
job id, and the service decides (by the job's status and lease) whether anything is
left to do, so a redelivered or duplicated task does no harm. The sweep ends jobs whose
worker died, every minute (the schedule is in the database: imports/migrations)."""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from imports.services import import_apply, import_check, imports_sweep

# The soft limit raises inside the job, which then ends 失败可重试 with a message; the
# hard limit (prefork pool) stops a job that ignores it.
LIMITS = {"time_limit": settings.IMPORT_TASK_TIME_LIMIT, "soft_time_limit": settings.IMPORT_TASK_TIME_LIMIT - 60}


@shared_task(name="imports.check", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, **LIMITS)
def import_check_task(job_id: int) -> None:
    import_check(job_id)


@shared_task(name="imports.apply", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3, **LIMITS)
def import_apply_task(job_id: int) -> None:
    import_apply(job_id)


@shared_task(name="imports.sweep", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def imports_sweep_task() -> dict[str, int]:
    return imports_sweep()
