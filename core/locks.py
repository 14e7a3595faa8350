"""One run at a time: a job that must not overlap itself (two beat ticks, a manual run
during a scheduled one) takes a named lock first, and a second run that finds it held
skips instead of doubling the work.

The lock is a row in ``core_tasklock`` inserted in its own transaction, so it works the
same on PostgreSQL and SQLite and is visible to every worker at once. A lock whose
holder crashed expires after ``ttl``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.models import TaskLock


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(name: str, *, ttl: timedelta) -> str | None:
    """Take the lock ``name``; returns a token to release it, or None if it is held."""
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


def release(name: str, holder: str) -> None:
    TaskLock.objects.filter(name=name, holder=holder).delete()


@contextmanager
def single_run(name: str, *, ttl: timedelta = timedelta(minutes=30)) -> Iterator[bool]:
    """``with single_run("exits.overdue_scan") as acquired: if acquired: ...``"""
    holder = acquire(name, ttl=ttl)
    try:
        yield holder is not None
    finally:
        if holder is not None:
            release(name, holder)
