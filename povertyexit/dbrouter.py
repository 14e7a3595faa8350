"""The database router of the read replica (installed only when
``POVERTYEXIT_REPLICA_DATABASE_URL`` is set; README: 只读副本, core/replica.py).

A read goes to the replica when all of these hold, and to the primary otherwise:

1. it runs inside ``replica_reads()`` (the dashboards, the Excel ledgers and the API's
   GET requests; a job that opens it);
2. its model belongs to a domain app of ``REPLICA_READ_APPS`` and is not one of
   ``REPLICA_PRIMARY_MODELS`` — auth, sessions, tokens, lockouts, alerts, import jobs,
   leases and the personal-data counters are always read on the primary;
3. no transaction is open on the primary: code inside ``transaction.atomic()`` reads
   what it is about to write, and must see its own writes and its locks;
4. the replica is healthy: reachable, and not lagging (``ReplicaHealth``).

Every write goes to the primary. The replica is a physical copy of the primary, so
objects read from either may be related, and only the primary is migrated.
"""

from __future__ import annotations

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from core.replica import REPLICA, replica_connection, replica_reads_active, replica_ready


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if replica_connection() is None:
            return None
        if not (replica_reads_active() and self._routed(model)):
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return REPLICA if replica_ready() else DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        databases = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in databases and obj2._state.db in databases:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None

    @staticmethod
    def _routed(model) -> bool:
        meta = model._meta
        return meta.app_label in settings.REPLICA_READ_APPS and meta.label_lower not in settings.REPLICA_PRIMARY_MODELS
