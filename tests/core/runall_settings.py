"""Settings for tests/core/test_run_stop.py: `make run`'s development settings, plus a
task that takes a few seconds so the test can press Ctrl-C while it runs."""

from povertyexit.settings import *  # noqa: F403

CELERY_IMPORTS = ["tests.core.slow_task"]
# The scans at worker start are not under test here; the slow task is the only work.
RUN_SCANS_AT_WORKER_START = False
