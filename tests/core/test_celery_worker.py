"""A real worker consumes a real message from the configured broker.

By default that is kombu's filesystem transport (no server needed); CI sets
CELERY_BROKER_URL to Redis. Either way the task goes through the broker, not eager mode.
"""

import threading
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connections
from django.utils import timezone

from core.tasks import housekeeping
from povertyexit.celery import app

# Generous, for a cold worker on a loaded CI machine; a message normally goes through in well under a second.
TIMEOUT = 30


def drop_cached_connections():
    """Forget pooled broker connections so the next send reads the current broker options."""
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


@pytest.fixture
def broker(tmp_path):
    """The configured broker; a filesystem broker gets folders of its own for this test.

    The overrides go through the Celery app's configuration (settings.py is untouched)
    and are undone afterwards.
    """
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
            # Poll the folder often, so the worker picks a message up without a second's delay.
            "polling_interval": 0.1,
        }
    drop_cached_connections()
    yield app.conf.broker_url
    app.conf.broker_transport_options = saved
    drop_cached_connections()


@pytest.fixture
def finished_tasks():
    """The final state of each task the worker has run ("SUCCESS", "FAILURE"…), and an
    event set after each run. A retried task reports "RETRY" and runs again later."""
    done = {"states": {}, "event": threading.Event()}

    def on_postrun(task_id=None, state=None, retval=None, **kwargs):
        done["states"][task_id] = (state, retval)
        # The worker thread's own database connection must not outlive the test
        # (PostgreSQL refuses to drop a test database that is still in use).
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


def expired_session():
    store = SessionStore()
    store.create()
    Session.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() - timedelta(hours=1))
    return store.session_key


@pytest.mark.django_db(transaction=True)
def test_it_runs_housekeeping_sent_through_the_broker(broker, finished_tasks):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    live = SessionStore()
    live.create()
    first = expired_session()

    # Sent while no worker runs: nothing happens yet, the broker holds the message.
    queued = housekeeping.delay()
    assert Session.objects.filter(session_key=first).exists()

    # One worker for both messages: stopping a worker on the filesystem broker takes
    # a few seconds (its poll loop times out), so the test starts only one.
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=TIMEOUT):
        assert set(wait_for(finished_tasks, queued.id)) == {"sessions", "api_tokens", "access_logs", "expired_lockouts"}
        assert set(Session.objects.values_list("session_key", flat=True)) == {live.session_key}

        second = expired_session()
        sent_while_running = housekeeping.delay()
        wait_for(finished_tasks, sent_while_running.id)
        assert not Session.objects.filter(session_key=second).exists()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
