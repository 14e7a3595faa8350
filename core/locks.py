"""Leases: one run at a time, and a way to tell a running job from a dead one.

A job that must not overlap itself (two beat ticks, a manual run during a scheduled
one, a message the broker delivered twice) takes a named lease first; a second run that
finds it held skips, and says why in the log. The lease is a row in ``core_tasklock``
inserted in its own transaction, so it works the same on PostgreSQL and SQLite and is
visible to every worker at once.

A lease is short (``TASK_LEASE_SECONDS``, 90 s by default) and renewed by a thread of
the holding process while the job runs, however long that is. When the process dies
(``kill -9``, a lost machine), nobody renews it: it expires within the lease time and
the next run takes it over. The import sweeper reads the same leases to tell a running
import from one whose worker died (imports/services.py).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.utils import timezone

from core.models import TaskLock

logger = logging.getLogger(__name__)


def lease_ttl() -> timedelta:
    return timedelta(seconds=settings.TASK_LEASE_SECONDS)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(name: str, *, ttl: timedelta | None = None) -> str | None:
    """Take the lease ``name``; returns a token to renew and release it, or None if it is held."""
    ttl = ttl or lease_ttl()
    now = timezone.now()
    holder = _holder()
    with transaction.atomic():
        TaskLock.objects.filter(name=name, expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            TaskLock.objects.create(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
    except IntegrityError:
        return None
    return holder


def renew(name: str, holder: str, *, ttl: timedelta | None = None) -> bool:
    """Push the lease's expiry ``ttl`` from now; False if ``holder`` no longer holds it."""
    ttl = ttl or lease_ttl()
    return bool(TaskLock.objects.filter(name=name, holder=holder).update(expires_at=timezone.now() + ttl))


def release(name: str, holder: str) -> None:
    TaskLock.objects.filter(name=name, holder=holder).delete()


def held(name: str) -> TaskLock | None:
    """The live lease ``name``, or None when it is free or its holder has stopped renewing it."""
    return TaskLock.objects.filter(name=name, expires_at__gte=timezone.now()).first()


def held_names(names: list[str]) -> set[str]:
    """Which of ``names`` are held by a live lease (one query)."""
    return set(TaskLock.objects.filter(name__in=names, expires_at__gte=timezone.now()).values_list("name", flat=True))


class _Renewer(threading.Thread):
    """Renews a lease every third of its time until stopped. Its own database connection
    (Django's connections are per thread) is closed when it stops."""

    def __init__(self, name: str, holder: str, ttl: timedelta):
        super().__init__(name=f"lease:{name}", daemon=True)
        self.lease_name, self.holder, self.ttl = name, holder, ttl
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.ttl.total_seconds() / 3):
                try:
                    if not renew(self.lease_name, self.holder, ttl=self.ttl):
                        logger.error("lease %s: lost (taken over after it expired)", self.lease_name)
                        return
                except DatabaseError:
                    # SQLite is locked while the job itself writes; the next round tries again.
                    logger.warning("lease %s: could not renew this round", self.lease_name, exc_info=True)
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


@contextmanager
def lease(name: str, *, ttl: timedelta | None = None) -> Iterator[str | None]:
    """``with lease("imports.job.7") as holder: if holder: ...`` — held, and renewed in the
    background, for the block; None (nothing held) when another live run has it."""
    ttl = ttl or lease_ttl()
    holder = acquire(name, ttl=ttl)
    if holder is None:
        yield None
        return
    renewer = _Renewer(name, holder, ttl)
    renewer.start()
    try:
        yield holder
    finally:
        renewer.stop()
        release(name, holder)


def skip_reason(name: str) -> str:
    """Why a run of ``name`` was skipped, for the log and the task's result."""
    current = held(name)
    if current is None:
        return f"{name}: lease was held a moment ago and has just been released"
    return (
        f"{name}: another run holds the lease ({current.holder}, since "
        f"{timezone.localtime(current.acquired_at):%Y-%m-%d %H:%M:%S}, renewed until "
        f"{timezone.localtime(current.expires_at):%H:%M:%S})"
    )


@contextmanager
def single_run(name: str, *, ttl: timedelta | None = None) -> Iterator[bool]:
    """``with single_run("exits.overdue_scan") as acquired: if acquired: ...``; a run that
    is skipped because another holds the lease is logged with the holder."""
    with lease(name, ttl=ttl) as holder:
        if holder is None:
            logger.warning("skipped: %s", skip_reason(name))
        yield holder is not None


def skipped(name: str) -> dict:
    """The result a scheduled job returns when it skipped its run."""
    return {"skipped": True, "reason": skip_reason(name)}


def serialize_in_transaction(name: str) -> None:
    """Inside ``transaction.atomic()``: wait until no other transaction holds ``name``,
    then hold it until this one ends. PostgreSQL takes a transaction-level advisory lock;
    SQLite needs none (its IMMEDIATE transactions already run one writer at a time)."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return
    key = zlib.crc32(name.encode()) - 2**31  # a signed 32-bit key
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
