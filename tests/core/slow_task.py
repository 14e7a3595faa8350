"""A task that takes a while, for tests/core/test_run_stop.py (loaded by runall_settings)."""

import time
from pathlib import Path

from celery import shared_task


@shared_task(name="tests.slow_task")
def slow_task(folder, seconds):
    Path(folder, "started").touch()
    time.sleep(seconds)
    Path(folder, "finished").touch()
