"""One run at a time (core/locks.py): a job takes a named lock, a second run that finds it
held skips, the lock goes when the run ends (even by an error), and a lock whose holder
died is taken over once it has expired. On PostgreSQL, threads racing for one lock: exactly
one wins."""

import datetime
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import time_machine
from django.db import connection, connections

from core import locks
from core.locks import acquire, release, single_run
from core.models import TaskLock
from exits.tasks import overdue_scan_task

NAME = "tests.some_job"
TTL = datetime.timedelta(minutes=30)
START = datetime.datetime(2020, 10, 12, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture
def frozen():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.mark.django_db
class TestOneProcess:
    def test_the_first_run_takes_the_lock_and_a_second_is_refused(self):
        token = acquire(NAME, ttl=TTL)
        assert token
        assert acquire(NAME, ttl=TTL) is None
        lock = TaskLock.objects.get()
        assert (lock.name, lock.holder) == (NAME, token)

    def test_releasing_lets_the_next_run_take_it(self):
        token = acquire(NAME, ttl=TTL)
        release(NAME, token)
        assert not TaskLock.objects.exists()
        again = acquire(NAME, ttl=TTL)
        assert again and again != token

    def test_only_its_holder_releases_a_lock(self):
        token = acquire(NAME, ttl=TTL)
        release(NAME, "someone-else")
        release("tests.other_job", token)
        assert TaskLock.objects.get().holder == token
        assert acquire(NAME, ttl=TTL) is None

    def test_locks_of_different_jobs_are_independent(self):
        assert acquire(NAME, ttl=TTL)
        assert acquire("tests.other_job", ttl=TTL)
        assert TaskLock.objects.count() == 2

    def test_it_records_when_the_lock_was_taken_and_when_it_expires(self, frozen):
        acquire(NAME, ttl=TTL)
        lock = TaskLock.objects.get()
        assert lock.acquired_at == START
        assert lock.expires_at == START + TTL

    def test_a_held_lock_is_not_taken_over_before_it_expires(self, frozen):
        token = acquire(NAME, ttl=TTL)
        frozen.shift(TTL - datetime.timedelta(seconds=1))
        assert acquire(NAME, ttl=TTL) is None
        frozen.shift(datetime.timedelta(seconds=1))  # expires_at itself: still held
        assert acquire(NAME, ttl=TTL) is None
        assert TaskLock.objects.get().holder == token

    def test_an_expired_lock_is_taken_over_and_its_old_holder_cannot_release_the_new_one(self, frozen):
        crashed = acquire(NAME, ttl=TTL)
        frozen.shift(TTL + datetime.timedelta(seconds=1))

        taker = acquire(NAME, ttl=TTL)

        assert taker and taker != crashed
        lock = TaskLock.objects.get()
        assert (lock.holder, lock.expires_at) == (taker, START + TTL + datetime.timedelta(seconds=1) + TTL)
        release(NAME, crashed)  # the old run finishes late: the new run keeps its lock
        assert TaskLock.objects.get().holder == taker
        assert acquire(NAME, ttl=TTL) is None

    def test_single_run_holds_the_lock_for_the_block_only(self):
        with single_run(NAME) as acquired:
            assert acquired is True
            assert TaskLock.objects.filter(name=NAME).exists()
            with single_run(NAME) as overlapping:
                assert overlapping is False
            assert TaskLock.objects.filter(name=NAME).exists()  # the skipped run leaves it alone
        assert not TaskLock.objects.exists()

    def test_single_run_releases_the_lock_when_the_job_fails(self):
        with pytest.raises(RuntimeError), single_run(NAME) as acquired:
            assert acquired
            raise RuntimeError("the job crashed")
        assert not TaskLock.objects.exists()
        with single_run(NAME) as acquired:
            assert acquired

    def test_single_run_uses_its_ttl(self, frozen):
        with single_run(NAME, ttl=datetime.timedelta(minutes=5)):
            assert TaskLock.objects.get().expires_at == START + datetime.timedelta(minutes=5)

    def test_each_acquisition_has_its_own_holder(self, monkeypatch):
        monkeypatch.setattr(locks.socket, "gethostname", lambda: "worker-1")
        first = acquire(NAME, ttl=TTL)
        release(NAME, first)
        second = acquire(NAME, ttl=TTL)
        assert first.startswith("worker-1:") and second.startswith("worker-1:")
        assert first != second  # same host and process: a stale release still cannot free it


# --- threads racing on PostgreSQL ---------------------------------------------------------------

RACERS = 8


def race(target) -> list:
    """Run ``target()`` in RACERS threads released together; return their results."""
    start = threading.Barrier(RACERS, timeout=60)
    results: list = [None] * RACERS

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = target()
        except Exception as error:  # every outcome is asserted by the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises writers, so there is no race to lose (run with DATABASE_URL=postgres://…)",
)


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_threads_racing_for_a_free_lock_get_exactly_one(round_):
    results = race(lambda: acquire(NAME, ttl=TTL))

    assert not [r for r in results if isinstance(r, Exception)], results
    winners = [r for r in results if r]
    assert len(winners) == 1
    assert TaskLock.objects.get().holder == winners[0]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_threads_racing_to_take_over_an_expired_lock_get_exactly_one(frozen):
    crashed = acquire(NAME, ttl=TTL)
    frozen.shift(TTL + datetime.timedelta(minutes=1))

    results = race(lambda: acquire(NAME, ttl=TTL))

    assert not [r for r in results if isinstance(r, Exception)], results
    winners = [r for r in results if r]
    assert len(winners) == 1 and winners[0] != crashed
    assert TaskLock.objects.get().holder == winners[0]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_single_run_in_two_threads_runs_the_job_once_while_they_overlap():
    inside = threading.Event()
    finish = threading.Event()
    runs: list[str] = []

    def first() -> None:
        try:
            with single_run(NAME) as acquired:
                if acquired:
                    runs.append("first")
                    inside.set()
                    finish.wait(timeout=60)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(timeout=60)
        with single_run(NAME) as acquired:  # the overlapping run, on another connection
            if acquired:
                runs.append("second")
    finally:
        finish.set()
        thread.join(timeout=60)
    assert runs == ["first"]
    assert not TaskLock.objects.exists()
    with single_run(NAME) as acquired:  # once the first has ended, the next run goes ahead
        assert acquired


# --- leases: renewed while the job runs, free soon after its process dies (issue 15) -----------


def test_the_default_lease_frees_a_dead_holder_within_two_minutes():
    from povertyexit import settings as defaults

    assert 30 <= defaults.TASK_LEASE_SECONDS <= 120


@pytest.mark.django_db
def test_a_skipped_run_is_logged_with_the_holder_and_since_when(caplog, frozen):
    token = acquire(NAME, ttl=TTL)
    with caplog.at_level("WARNING", logger="core.locks"), single_run(NAME) as acquired:
        assert not acquired
    assert f"skipped: {NAME}: another run holds the lease ({token}, since 2020-10-12 10:00:00" in caplog.text
    assert locks.skipped(NAME)["reason"].startswith(f"{NAME}: another run holds the lease ({token}")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_lease_is_renewed_while_its_job_runs_longer_than_the_lease(settings):
    settings.TASK_LEASE_SECONDS = 1
    with locks.lease(NAME) as holder:
        assert holder
        time.sleep(2.5)  # more than twice the lease: only the renewals keep it
        assert race(lambda: acquire(NAME)) == [None] * RACERS
        assert locks.held(NAME).holder == holder
    assert locks.held(NAME) is None
    assert acquire(NAME)


SLOW_SCAN = """
import os, time
import django
django.setup()
from exits import tasks
from core.models import TaskLock
def slow_scan():
    print("scanning", flush=True)
    time.sleep(120)
tasks.overdue_scan = slow_scan
tasks.overdue_scan_task()
"""


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_scan_whose_process_is_killed_frees_its_lease_within_the_lease_time(caplog):
    """The real scan task in a process of its own, killed (SIGKILL) mid-scan: runs in
    between skip and say why; once the lease lapses (2 s here, 90 s by default) the next
    run goes ahead."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "povertyexit.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "POVERTYEXIT_TASK_LEASE_SECONDS": "2",
    }
    scan = subprocess.Popen([sys.executable, "-c", SLOW_SCAN], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert scan.stdout.readline().strip() == "scanning"
        holder = locks.held("exits.overdue_scan").holder
        assert holder.split(":")[1] == str(scan.pid)
        with caplog.at_level("WARNING", logger="core.locks"):
            assert overdue_scan_task.apply().get()["skipped"] is True
        assert f"another run holds the lease ({holder}" in caplog.text
        time.sleep(3)  # alive: it renews its lease
        assert locks.held("exits.overdue_scan").holder == holder

        scan.send_signal(signal.SIGKILL)
        scan.wait(timeout=20)
        killed = time.monotonic()
        while locks.held("exits.overdue_scan") is not None:
            assert time.monotonic() - killed < 5, "the dead scan's lease did not lapse"
            time.sleep(0.1)
    finally:
        if scan.poll() is None:
            scan.kill()
        scan.stdout.close()
    result = overdue_scan_task.apply().get()
    assert "skipped" not in result and "overdue" in result
    assert locks.held("exits.overdue_scan") is None
