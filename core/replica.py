"""Reads that may come from the read replica, and whether the replica is fit to serve them.

With ``POVERTYEXIT_REPLICA_DATABASE_URL`` set (settings.py adds the ``replica`` alias,
this middleware and ``povertyexit.dbrouter.ReplicaRouter``), some reads of the domain
tables go to a streaming replica of the primary instead of the primary itself. Which
ones is decided twice:

- *which traffic*: only code running inside ``replica_reads()`` — the middleware opens
  it for GET/HEAD requests under ``REPLICA_READ_PATHS`` (the dashboards, the Excel
  ledgers, the REST API), a Celery job that builds a report may open it itself. Those
  readers accept numbers about a second old; a page a user just saved a form on, or the
  home page's 我的待办, does not, and is never routed;
- *which tables* (``povertyexit/dbrouter.py``): only the apps in ``REPLICA_READ_APPS``.
  Users, sessions, tokens, lockouts, alerts, import jobs and leases are always read on
  the primary, so a fresh login or an alert just marked read is never missed.

The replica is skipped — the read goes to the primary, the page still answers — when it
cannot be reached, or when its replay lags more than ``REPLICA_MAX_LAG_SECONDS`` behind
(``ReplicaHealth``); and a replica that dies in the middle of a request has the request
run again on the primary (``ReplicaReadsMiddleware.process_exception``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.connection import ConnectionDoesNotExist

logger = logging.getLogger(__name__)

REPLICA = "replica"

# Per request, per Celery task, per thread: asyncio and threads each get their own.
_replica_reads: ContextVar[bool] = ContextVar("replica_reads", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads of the domain tables inside may be served by the replica (if one is
    configured and healthy). For read-only work that tolerates a second of lag."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


@contextmanager
def primary_reads() -> Iterator[None]:
    """Every read inside goes to the primary, inside ``replica_reads()`` too."""
    token = _replica_reads.set(False)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def replica_reads_active() -> bool:
    return _replica_reads.get()


def replica_connection() -> BaseDatabaseWrapper | None:
    """This thread's connection to the replica, or None when there is no replica."""
    try:
        return connections[REPLICA]
    except ConnectionDoesNotExist:
        return None


# How far the replica's data is behind the primary's, in seconds (PostgreSQL):
# - a server that is not in recovery is a primary: nothing to wait for;
# - a replica whose WAL receiver runs and that has replayed all it received is current,
#   however long ago the last write was (an idle primary sends nothing);
# - otherwise the age of the last transaction it replayed: it grows while the replica is
#   behind, or cut off from the primary (no receiver), and is NULL before any replay —
#   the replica is then skipped until it has caught up. pg_stat_wal_receiver shows its
#   row (pid) to every user, its details only to pg_read_all_stats.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver)
         AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


class ReplicaHealth:
    """Whether the replica may serve reads, for this process.

    Asked before every routed read, answered from memory: the replica is checked (a
    connection and the lag query) at most every ``REPLICA_CHECK_SECONDS`` while it is
    up, and every ``REPLICA_RETRY_SECONDS`` once it is down, because a replica that drops
    packets makes each check wait the whole ``connect_timeout``. One thread checks at a
    time; the others go on with the last answer meanwhile, and none waits for the check.
    A read that finds the replica gone between checks calls ``mark_down``.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget what is known: the next question checks the replica."""
        self._up: bool | None = None  # not checked yet: the primary meanwhile
        self._next_check = float("-inf")
        self.reason = ""

    def usable(self) -> bool:
        if self._clock() < self._next_check:
            return bool(self._up)
        if not self._lock.acquire(blocking=False):
            return bool(self._up)  # another thread is checking
        try:
            if self._clock() >= self._next_check:  # not just checked by another thread
                self._record(*self._check())
            return bool(self._up)
        finally:
            self._lock.release()

    def mark_down(self, reason: object) -> None:
        # Without the lock: a read that found the replica gone does not wait for a check
        # that another thread has in progress.
        self._record(False, str(reason))

    def _record(self, up: bool, reason: str) -> None:
        if up and self._up is not True:
            logger.info("Read replica in use")
        elif not up and self._up is not False:
            logger.warning("Read replica skipped, reads go to the primary: %s", reason)
        self._up, self.reason = up, reason
        period = settings.REPLICA_CHECK_SECONDS if up else settings.REPLICA_RETRY_SECONDS
        self._next_check = self._clock() + period

    def _check(self) -> tuple[bool, str]:
        connection = replica_connection()
        if connection is None:
            return False, "no replica configured"
        max_lag = settings.REPLICA_MAX_LAG_SECONDS
        try:
            connection.ensure_connection()
            lag = replica_lag(connection) if max_lag else 0
        except DatabaseError as error:
            connection.close()
            return False, str(error).strip()
        if lag is None or lag > max_lag:
            return False, f"replay lag {'unknown' if lag is None else f'{lag:.0f} s'} exceeds {max_lag} s"
        return True, ""


def replica_lag(connection: BaseDatabaseWrapper) -> float | None:
    """Seconds the data of ``connection`` is behind the primary's (LAG_SQL); None when
    unknown. Only PostgreSQL replicates; another database is its own primary."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute(LAG_SQL)
        (lag,) = cursor.fetchone()
    return None if lag is None else float(lag)


replica_health = ReplicaHealth()


def replica_ready() -> bool:
    """The replica is healthy and this thread holds a working connection to it.

    Opening the connection here, not in the query, is what lets a read fall back: a
    replica that went away since the last check fails now, is marked down, and the read
    goes to the primary. A connection left over from an earlier request is pinged first
    (CONN_HEALTH_CHECKS, once per request).
    """
    connection = replica_connection()
    if connection is None or not replica_health.usable():
        return False
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except DatabaseError as error:
        connection.close()
        replica_health.mark_down(error)
        return False
    return True


class ReplicaReadsMiddleware:
    """GET and HEAD requests under ``REPLICA_READ_PATHS`` (matched against the path as
    urls.py sees it) run inside ``replica_reads()``. Installed last, so it wraps the view
    alone; the session and the user are read before, on the primary anyway.

    The Excel ledgers read all their rows inside the view (core/exports.py builds the
    workbook before the first byte is sent), so their queries are covered too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        paths = tuple(settings.REPLICA_READ_PATHS)
        if request.method in ("GET", "HEAD") and request.path_info.startswith(paths):
            with replica_reads():
                return self.get_response(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        """The replica failed in the middle of the view (it was stopped, its connection
        cut): mark it down and run the view again on the primary. A GET on these paths
        only reads, so running it twice is safe; the user gets the page, not a 500."""
        if not (replica_reads_active() and isinstance(exception, DatabaseError)):
            return None
        connection = replica_connection()
        if connection is None or not connection.errors_occurred:
            return None  # the error was not the replica's
        connection.close()
        replica_health.mark_down(exception)
        match = request.resolver_match
        with primary_reads():
            return match.func(request, *match.args, **match.kwargs)
