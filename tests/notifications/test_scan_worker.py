"""A real Celery worker runs the overdue scan sent through the configured broker, and its
alerts appear in the database (issue 6: "at least one test runs a real Celery worker
against the real Redis broker in CI (not eager mode) and sees a scan's effect in the
database").

Locally the broker is kombu's filesystem transport; CI sets CELERY_BROKER_URL to Redis.
The approach is tests/core/test_celery_worker.py's. The campaign's deadlines are set
around the real today (the worker thread runs on the real clock): the village deadline
passed three days ago, the others are weeks away.
"""

import datetime
import threading
import time
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import connections
from django.utils import timezone

from core.models import TaskLock
from exits import services
from exits.models import DEFAULT_STEP_LEVELS, Campaign
from notifications.models import Alert, AlertKind, Notification
from povertyexit.celery import app
from tests.conftest import VILLAGE_B
from tests.exits.conftest import ready_household
from tests.notifications.conftest import recipients, snapshot

# Generous, for a cold worker on a loaded CI machine; a message normally goes through in well under a second.
TIMEOUT = 30


def drop_cached_connections():
    """Forget pooled broker connections so the next send reads the current broker options."""
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


@pytest.fixture
def broker(tmp_path):
    """The configured broker; a filesystem broker gets folders of its own for this test."""
    saved = app.conf.broker_transport_options
    if app.conf.broker_url.startswith("filesystem"):
        for folder in ("queue", "processed", "control"):
            (tmp_path / folder).mkdir()
        app.conf.broker_transport_options = {
            **saved,
            "data_folder_in": str(tmp_path / "queue"),
            "data_folder_out": str(tmp_path / "queue"),
            "processed_folder": str(tmp_path / "processed"),
            "control_folder": str(tmp_path / "control"),
            "polling_interval": 0.1,
        }
    drop_cached_connections()
    yield app.conf.broker_url
    app.conf.broker_transport_options = saved
    drop_cached_connections()


@pytest.fixture
def finished_tasks():
    """The final state of each task the worker has run, and an event set after each run."""
    done = {"states": {}, "event": threading.Event()}

    def on_postrun(task_id=None, state=None, retval=None, **kwargs):
        done["states"][task_id] = (state, retval)
        # The worker thread's database connection must not outlive the test (PostgreSQL
        # refuses to drop a test database still in use).
        connections.close_all()
        done["event"].set()

    task_postrun.connect(on_postrun, weak=False)
    yield done
    task_postrun.disconnect(on_postrun)


def wait_for(done, task_id):
    """Wait (bounded) until the worker has finished ``task_id`` for good; return its result."""
    deadline = time.monotonic() + TIMEOUT
    while done["states"].get(task_id, ("PENDING",))[0] in ("PENDING", "RETRY"):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"task {task_id} not finished within {TIMEOUT} s: {done['states'].get(task_id)}"
        done["event"].wait(min(remaining, 0.5))
        done["event"].clear()
    state, retval = done["states"][task_id]
    assert state == "SUCCESS", f"task {task_id} ended in {state}: {retval!r}"
    return retval


def wait_for_rows(queryset, count: int) -> None:
    """Poll (bounded) until ``queryset`` holds ``count`` rows."""
    deadline = time.monotonic() + TIMEOUT
    while queryset.count() != count:
        assert time.monotonic() < deadline, f"{queryset.count()} rows, not {count}, after {TIMEOUT} s"
        time.sleep(0.1)


@pytest.fixture
def late_cases(alice, bob, tom, carol):
    """Two cases still at step 1 (a village step) three days after the village deadline."""
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        year=2020,
        name="2020年度贫困户退出",
        income_line=Decimal("4000"),
        village_deadline=today - datetime.timedelta(days=3),
        town_deadline=today + datetime.timedelta(days=30),
        county_deadline=today + datetime.timedelta(days=40),
        marking_deadline=today + datetime.timedelta(days=50),
        step_levels=dict(DEFAULT_STEP_LEVELS),
    )
    return {
        "alice": services.case_enrol(by=alice, campaign=campaign, household=ready_household()),
        "bob": services.case_enrol(by=bob, campaign=campaign, household=ready_household(VILLAGE_B)),
    }


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_overdue_scan_sent_through_the_broker(broker, finished_tasks, late_cases):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    overdue = Alert.objects.filter(kind=AlertKind.STEP_OVERDUE, cleared_at__isnull=True)

    # Sent by name while no worker runs: the broker holds the message, nothing happens yet.
    queued = app.send_task("exits.overdue_scan")
    assert not Alert.objects.exists()

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=TIMEOUT):
        result = wait_for(finished_tasks, queued.id)
        wait_for_rows(overdue, 2)
        assert result["overdue"]["raised"] == 2

        by_case = {alert.link: alert for alert in overdue}
        assert recipients(by_case[f"/exits/{late_cases['alice'].pk}/"]) == {"alice"}
        assert recipients(by_case[f"/exits/{late_cases['bob'].pk}/"]) == {"bob"}
        assert not TaskLock.objects.exists()  # the run released its lock
        before = snapshot()

        # A second run through the broker changes nothing.
        again = app.send_task("exits.overdue_scan")
        assert wait_for(finished_tasks, again.id)["overdue"] == {"raised": 0, "reopened": 0, "cleared": 0, "open": 2}
        assert snapshot() == before

    assert Notification.objects.count() == 2
