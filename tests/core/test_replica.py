"""The read replica (issue 17): which reads it serves, and that a replica that is down,
dies mid-request or lags never costs a page (core/replica.py, povertyexit/dbrouter.py).

The suite runs without a replica (settings_test.py). The tests here add a ``replica``
alias for the current thread only, for as long as a test needs it, so no other test
ever sees it:

- a *mirror*: a second connection to the test database itself, to follow reads through
  the router and the middleware on any database;
- an *unreachable* replica: PostgreSQL on 127.0.0.1:1, where nothing listens;
- the *real* replica of CI (``POVERTYEXIT_TEST_REPLICA_URL``, a hot standby streaming
  from the PostgreSQL that holds the test database, started by .ci/replica): skipped
  without it, failed without it when ``REQUIRE_REPLICA=1``.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from contextlib import contextmanager

import environ
import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import connections, transaction
from django.db.utils import load_backend
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken

from core.models import TaskLock
from core.replica import (
    REPLICA,
    ReplicaHealth,
    ReplicaReadsMiddleware,
    primary_reads,
    replica_health,
    replica_lag,
    replica_reads,
    replica_reads_active,
)
from exits.models import ExitCase
from households.models import Household, Member, PersonalDataAccess
from imports.models import ImportJob
from monitoring.models import MonitoringCase
from notifications.models import Alert
from povertyexit.dbrouter import ReplicaRouter
from regions.models import Region
from tests.conftest import VILLAGE_A, household_in
from tests.core.test_settings import settings_in_fresh_process
from tests.dashboards.test_monitoring_dashboard import LATER, place
from tests.dashboards.test_monitoring_dashboard_pages import card
from tests.households.test_exports import rows

REPLICA_URL = os.environ.get("POVERTYEXIT_TEST_REPLICA_URL", "")
REQUIRE_REPLICA = os.environ.get("REQUIRE_REPLICA") == "1"
ROUTER = "povertyexit.dbrouter.ReplicaRouter"
MIDDLEWARE = "core.replica.ReplicaReadsMiddleware"


@contextmanager
def replica_alias(**changes):
    """``connections["replica"]`` for this thread: default's settings with ``changes``.

    Not in ``connections.settings``: Django's test case would refuse a database the test
    did not declare, and flush it afterwards — a standby cannot be written to."""
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict.update(changes)
    replica = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, REPLICA)
    replaced = getattr(connections._connections, REPLICA, None)
    setattr(connections._connections, REPLICA, replica)
    replica_health.reset()
    try:
        yield replica
    finally:
        replica.close()
        if replaced is None:
            delattr(connections._connections, REPLICA)
        else:
            setattr(connections._connections, REPLICA, replaced)
        replica_health.reset()


def unreachable_replica():
    """A PostgreSQL replica on a port where nothing listens: refused at once."""
    return replica_alias(
        ENGINE="django.db.backends.postgresql",
        HOST="127.0.0.1",
        PORT=1,
        NAME="povertyexit",
        USER="postgres",
        PASSWORD="",
        OPTIONS={"connect_timeout": 2},
    )


@pytest.fixture
def routed(settings):
    """The router and the middleware, installed as settings.py installs them."""
    settings.DATABASE_ROUTERS = [ROUTER]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]


@pytest.fixture
def mirror(transactional_db, routed):
    with replica_alias() as replica:
        yield replica


def queries_on(captured, table: str) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if f'"{table}"' in q["sql"]]


def households_seen(client) -> int:
    response = client.get("/api/v1/households/")
    assert response.status_code == 200
    return response.json()["count"]


# --- Which reads may go to the replica --------------------------------------------------

DOMAIN_MODELS = [Region, Household, Member, ExitCase, MonitoringCase, Household.history.model]
PRIMARY_ONLY = [get_user_model(), Session, AuthToken, AccessAttempt, Alert, ImportJob, TaskLock, ContentType]


@pytest.fixture
def healthy_replica(monkeypatch):
    """A replica alias the router believes healthy (never connected to)."""
    monkeypatch.setattr("povertyexit.dbrouter.replica_ready", lambda: True)
    with unreachable_replica():
        yield


def test_it_routes_nothing_without_a_replica(settings):
    with replica_reads():
        assert ReplicaRouter().db_for_read(Household) is None
    assert ROUTER not in settings.DATABASE_ROUTERS and MIDDLEWARE not in settings.MIDDLEWARE
    assert REPLICA not in settings.DATABASES


@pytest.mark.parametrize("model", DOMAIN_MODELS, ids=lambda m: m._meta.label)
def test_it_reads_the_domain_tables_from_the_replica_inside_replica_reads(healthy_replica, model):
    assert ReplicaRouter().db_for_read(model) == "default"
    with replica_reads():
        assert ReplicaRouter().db_for_read(model) == REPLICA
        with primary_reads():
            assert ReplicaRouter().db_for_read(model) == "default"


@pytest.mark.parametrize("model", [*PRIMARY_ONLY, PersonalDataAccess], ids=lambda m: m._meta.label)
def test_it_reads_logins_sessions_tokens_alerts_and_jobs_from_the_primary(healthy_replica, model):
    # A fresh login, a token just issued, an alert just marked read, an import's
    # progress, the personal-data counters: never a second old.
    with replica_reads():
        assert ReplicaRouter().db_for_read(model) == "default"


@pytest.mark.parametrize("model", DOMAIN_MODELS + PRIMARY_ONLY, ids=lambda m: m._meta.label)
def test_it_writes_to_the_primary_always(healthy_replica, model):
    with replica_reads():
        assert ReplicaRouter().db_for_write(model) == "default"


def test_it_reads_from_the_primary_inside_a_transaction(healthy_replica, monkeypatch):
    # Code in transaction.atomic() reads what it is about to change: its own writes and locks.
    monkeypatch.setattr(connections["default"], "in_atomic_block", True)
    with replica_reads():
        assert ReplicaRouter().db_for_read(Household) == "default"


def test_it_reads_from_the_primary_when_the_replica_is_not_ready(healthy_replica, monkeypatch):
    monkeypatch.setattr("povertyexit.dbrouter.replica_ready", lambda: False)
    with replica_reads():
        assert ReplicaRouter().db_for_read(Household) == "default"


def test_it_relates_objects_of_both_and_migrates_only_the_primary():
    on_primary, on_replica = Household(), Region()
    on_primary._state.db, on_replica._state.db = "default", REPLICA
    assert ReplicaRouter().allow_relation(on_primary, on_replica) is True
    assert ReplicaRouter().allow_migrate(REPLICA, "households") is False
    assert ReplicaRouter().allow_migrate("default", "households") is None  # Django's default: yes


@pytest.mark.parametrize(
    ("method", "path", "routed_"),
    [
        ("get", "/dashboard/deadlines/", True),
        ("get", "/dashboard/monitoring/export.xlsx", True),
        ("get", "/households/export/households.xlsx", True),
        ("get", "/exits/export/cases.xlsx", True),
        ("get", "/monitoring/export/cases.xlsx", True),
        ("get", "/api/v1/households/", True),
        ("head", "/api/v1/dashboard/deadlines/", True),
        ("post", "/api/v1/households/", False),  # writes, and what they read to write
        ("patch", "/api/v1/households/1/", False),
        ("post", "/dashboard/deadlines/", False),
        ("get", "/", False),  # 我的待办: a cadre who just saved a step looks here
        ("get", "/households/", False),
        ("get", "/households/1/", False),
        ("get", "/imports/3/", False),
        ("get", "/admin/", False),
    ],
)
def test_the_middleware_opens_replica_reads_for_reports_and_api_gets_only(method, path, routed_):
    seen = []

    def view(request):
        seen.append(replica_reads_active())
        return HttpResponse()

    ReplicaReadsMiddleware(view)(getattr(RequestFactory(), method)(path))
    assert seen == [routed_]
    assert not replica_reads_active()  # and closes it again


def test_the_paths_are_a_setting(settings):
    settings.REPLICA_READ_PATHS = ["/reports/"]
    seen = []
    middleware = ReplicaReadsMiddleware(lambda request: seen.append(replica_reads_active()) or HttpResponse())
    middleware(RequestFactory().get("/reports/x/"))
    middleware(RequestFactory().get("/dashboard/deadlines/"))
    assert seen == [True, False]


def test_settings_add_the_replica_only_when_its_url_is_set(tmp_path):
    expression = (
        "[sorted(settings.DATABASES), settings.DATABASE_ROUTERS, settings.MIDDLEWARE[-1],"
        ' settings.DATABASES.get("replica")]'
    )
    env = {"DATABASE_URL": "postgres://povertyexit@db:5432/povertyexit", "POVERTYEXIT_DATA_DIR": str(tmp_path)}
    assert settings_in_fresh_process(expression, **env)[:2] == [["default"], []]

    env["POVERTYEXIT_REPLICA_DATABASE_URL"] = "postgres://povertyexit@db-replica:5432/povertyexit"
    aliases, routers, last_middleware, replica = settings_in_fresh_process(expression, **env)
    assert (aliases, routers, last_middleware) == (["default", "replica"], [ROUTER], MIDDLEWARE)
    assert (replica["HOST"], replica["NAME"], replica["OPTIONS"]["connect_timeout"]) == ("db-replica", "povertyexit", 2)
    assert (replica["CONN_MAX_AGE"], replica["CONN_HEALTH_CHECKS"]) == (60, True)
    assert replica["TEST"]["MIRROR"] == "default"  # tests never create a database on it


def test_settings_refuse_a_replica_of_sqlite(tmp_path):
    with pytest.raises(AssertionError, match="needs a PostgreSQL DATABASE_URL"):
        settings_in_fresh_process(
            "1", POVERTYEXIT_DATA_DIR=str(tmp_path), POVERTYEXIT_REPLICA_DATABASE_URL="postgres://db-replica/x"
        )


# --- Health: checked seldom, never waited for --------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def health(monkeypatch, settings):
    settings.REPLICA_CHECK_SECONDS, settings.REPLICA_RETRY_SECONDS = 5, 30
    clock = FakeClock()
    health = ReplicaHealth(clock=clock)
    health.answers = []
    health.checks = 0

    def check():
        health.checks += 1
        return health.answers.pop(0)

    monkeypatch.setattr(health, "_check", check)
    health.clock = clock
    return health


def test_it_checks_the_replica_at_most_every_few_seconds(health):
    health.answers = [(True, ""), (True, "")]
    assert [health.usable() for _ in range(100)] == [True] * 100
    assert health.checks == 1
    health.clock.now += 5
    assert health.usable() and health.checks == 2


def test_it_waits_longer_before_trying_a_replica_that_was_down(health, caplog):
    health.answers = [(False, "connection refused"), (True, "")]
    with caplog.at_level(logging.WARNING, logger="core.replica"):
        assert not health.usable()
    assert "connection refused" in caplog.text
    health.clock.now += 29
    assert not health.usable() and health.checks == 1
    health.clock.now += 1
    assert health.usable() and health.checks == 2


def test_a_replica_marked_down_is_skipped_at_once(health):
    health.answers = [(True, "")]
    assert health.usable()
    health.mark_down("server closed the connection unexpectedly")
    assert not health.usable() and health.reason == "server closed the connection unexpectedly"


def test_other_threads_do_not_wait_for_a_check(health):
    # A replica that drops packets holds a check for the whole connect_timeout; the
    # other requests go on with the last answer (the primary, at first).
    started, release = threading.Event(), threading.Event()

    def slow_check():
        started.set()
        release.wait(5)
        return True, ""

    health._check = slow_check
    checking = threading.Thread(target=health.usable)
    checking.start()
    started.wait(5)
    began = time.monotonic()
    assert health.usable() is False
    assert time.monotonic() - began < 1
    release.set()
    checking.join()
    assert health.usable() is True


class StandbyConnection:
    """What the check needs of a connection: one that always connects."""

    vendor = "postgresql"

    def ensure_connection(self):
        pass

    def close(self):
        pass


@pytest.mark.parametrize(("lag", "up"), [(0.0, True), (29.0, True), (31.0, False), (None, False)])
def test_a_replica_lagging_too_far_is_skipped(monkeypatch, settings, lag, up):
    settings.REPLICA_MAX_LAG_SECONDS = 30
    monkeypatch.setattr("core.replica.replica_connection", StandbyConnection)
    monkeypatch.setattr("core.replica.replica_lag", lambda connection: lag)
    health = ReplicaHealth()
    assert health.usable() is up
    assert ("exceeds 30 s" in health.reason) is not up


# --- Through the pages: a mirror of the test database ------------------------------------


def test_a_dashboard_api_read_is_served_by_the_replica(mirror, client, carol, registry):
    client.force_login(carol)
    with CaptureQueriesContext(connections["default"]) as primary, CaptureQueriesContext(mirror) as replica:
        assert households_seen(client) == 6
    assert queries_on(replica, "households_household")
    assert not queries_on(primary, "households_household")
    assert queries_on(primary, "django_session")  # who asks is read on the primary


def test_a_page_outside_the_paths_reads_the_primary(mirror, client, carol, registry):
    client.force_login(carol)
    with CaptureQueriesContext(mirror) as replica:
        assert client.get("/households/").status_code == 200
        assert client.post("/api/v1/members/search/", {"q": "王"}, content_type="application/json").status_code == 200
    assert not replica.captured_queries


def test_reads_fall_back_to_the_primary_when_the_replica_is_unreachable(
    transactional_db, routed, client, carol, registry
):
    client.force_login(carol)
    with unreachable_replica() as replica, CaptureQueriesContext(connections["default"]) as primary:
        assert households_seen(client) == 6
        assert replica.connection is None
    assert not replica_health.usable()
    assert queries_on(primary, "households_household")


def test_a_replica_that_died_since_the_last_check_costs_no_page(
    transactional_db, routed, monkeypatch, client, carol, registry
):
    client.force_login(carol)
    with unreachable_replica():
        # The last check found it well; it has stopped since.
        monkeypatch.setattr(replica_health, "_check", lambda: (True, ""))
        assert replica_health.usable()
        with replica_reads():  # the router finds out, before the query
            assert ReplicaRouter().db_for_read(Household) == "default"
        assert not replica_health.usable() and replica_health.reason

        replica_health.reset()
        assert households_seen(client) == 6
        assert not replica_health.usable()


def test_a_replica_that_dies_mid_request_costs_no_page(mirror, client, carol, registry):
    client.force_login(carol)

    def server_gone(execute, sql, params, many, context):
        with mirror.wrap_database_errors:
            raise mirror.Database.OperationalError("server closed the connection unexpectedly")

    with mirror.execute_wrapper(server_gone):
        assert households_seen(client) == 6
    assert not replica_health.usable()
    assert "server closed the connection" in replica_health.reason


def test_the_lag_of_a_primary_is_nothing(db):
    with replica_alias() as primary_again:
        assert replica_lag(primary_again) == 0


# --- The real replica (CI) ---------------------------------------------------------------


@pytest.fixture
def real_replica(transactional_db, routed):
    if not REPLICA_URL:
        message = "POVERTYEXIT_TEST_REPLICA_URL is not set (.ci/replica starts a replica)"
        if REQUIRE_REPLICA:
            pytest.fail(message + ", and REQUIRE_REPLICA=1")
        pytest.skip(message)
    if connections["default"].vendor != "postgresql":
        pytest.fail("a streaming replica needs the tests to run on PostgreSQL (DATABASE_URL)")
    url = environ.Env.db_url_config(REPLICA_URL)
    # The test database lives on the primary and is replicated with everything else.
    with replica_alias(
        HOST=url["HOST"], PORT=url["PORT"], USER=url["USER"], PASSWORD=url["PASSWORD"], OPTIONS={"connect_timeout": 2}
    ) as replica:
        with replica.cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            assert cursor.fetchone() == (True,), "POVERTYEXIT_TEST_REPLICA_URL is not a standby"
        yield replica


def caught_up(replica, timeout=60.0):
    """Wait until the replica has replayed everything the primary has committed so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (lsn,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    while True:
        with replica.cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
            if cursor.fetchone()[0]:
                return
        assert time.monotonic() < deadline, f"the replica has not replayed {lsn} within {timeout} s"
        time.sleep(0.05)


def monitoring_total(client) -> str:
    return card(client.get(f"/dashboard/monitoring/?region={VILLAGE_A}"), "total")


@pytest.mark.django_db(transaction=True)
def test_the_replica_serves_the_dashboard_and_the_api_a_committed_write_included(
    real_replica, settings, client, carol, registry
):
    client.force_login(carol)
    with transaction.atomic():  # committed on the primary: the test is transactional
        household_in(VILLAGE_A)
        place(VILLAGE_A, "screening", "unstable", "self", ["illness"], LATER)
    caught_up(real_replica)

    with CaptureQueriesContext(connections["default"]) as primary, CaptureQueriesContext(real_replica) as replica:
        assert households_seen(client) == 8  # registry's 6, the new one and the monitored one
        assert monitoring_total(client) == "1"
        # The ledger reads with a server-side cursor (iterator()), which a standby serves too.
        assert len(rows(client.get("/households/export/households.xlsx"))) == 1 + 8
    assert queries_on(replica, "households_household") and queries_on(replica, "monitoring_monitoringcase")
    assert not queries_on(primary, "households_household") and not queries_on(primary, "monitoring_monitoringcase")
    assert replica_health.usable() and replica_lag(real_replica) < settings.REPLICA_MAX_LAG_SECONDS

    # The replica goes away (another port: the real one may serve other workers' tests).
    with unreachable_replica() as gone:
        household_in(VILLAGE_A)
        place(VILLAGE_A, "screening", "unstable", "self", ["illness"], LATER)
        with CaptureQueriesContext(connections["default"]) as primary:
            assert households_seen(client) == 10  # read on the primary: no lag to wait for
            assert monitoring_total(client) == "2"
        assert gone.connection is None and not replica_health.usable()
    assert queries_on(primary, "households_household") and queries_on(primary, "monitoring_monitoringcase")
