"""The dashboards' grouped counts: rows scoped to a region the user may see
(``visible_in``), read from SQL compiled once (``compiled_rows``).

A dashboard's figure set is one ``values_list(...).annotate(Count(...))`` statement
grouped by the child region's code prefix; at county scale PostgreSQL answers it in a
few milliseconds, and building and compiling the queryset took Django about a
millisecond of Python more — for the deadline table's three statements, the half of the
bare SQL's time the app spent beyond it (BENCHMARKS.md). The SQL of such a count depends
on nothing but the user's scope and a few plain arguments, so it is compiled on the
first call and reused.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import QuerySet

from regions.scoping import scope_prefix


class _Compiled:
    def __init__(self, queryset: QuerySet):
        self.queryset = queryset
        self.statements: dict[str, tuple[str, tuple] | None] = {}

    def statement(self, database: str) -> tuple[str, tuple] | None:
        """(sql, params) on ``database``, or None for a queryset that has no rows."""
        if database not in self.statements:
            try:
                # A clone: compiling sets up the query it compiles.
                sql = self.queryset.query.clone().get_compiler(using=database).as_sql()
            except EmptyResultSet:  # visible_to() of a user who may see nothing
                sql = None
            self.statements[database] = sql
        return self.statements[database]


# (build, the user's scope prefix, arguments) -> the queryset built and its SQL on each
# database it was routed to: a few entries per region and campaign looked at, about
# 10 KB each. Emptied when it grows past this, rather than kept in order of use.
_COMPILED: dict[tuple, _Compiled] = {}
_MAX_COMPILED = 1024


def visible_in(queryset: QuerySet, *, user, prefix: str) -> QuerySet:
    """``queryset.visible_to(user)`` within the region of code ``prefix`` (one the user
    may see). At the user's own region the scope already is that prefix, and the
    narrowing is left out: PostgreSQL takes two ``LIKE '610902%'`` on one column for
    independent filters and squares their selectivity, so it expected a tenth of a
    county's rows and chose sorts where hash aggregates were due (the county official's
    own dashboard ran at twice its bare SQL; BENCHMARKS.md)."""
    rows = queryset.visible_to(user)
    return rows if scope_prefix(user) == prefix else rows.in_region(prefix)


def compiled_rows(build: Callable[..., QuerySet], *, user, args: tuple) -> list[tuple]:
    """The rows of ``build(user, *args)``, as the database cursor returns them.

    ``build`` is a module-level function returning a ``values_list`` queryset that
    starts from ``visible_to(user)`` (``visible_in``) and reads nothing but ``user`` and
    ``args``; its SQL is then a function of the database it is routed to, the user's
    scope prefix (all ``visible_to`` reads of a user) and ``args``, and is compiled once
    for them. Rows skip the ORM's converters, so ``build`` selects text and integers
    only (a JSON column cast to text, say); counts by date stay with the ORM."""
    key = (build, scope_prefix(user), args)
    compiled = _COMPILED.get(key)
    if compiled is None:
        if len(_COMPILED) >= _MAX_COMPILED:
            _COMPILED.clear()
        compiled = _COMPILED[key] = _Compiled(build(user, *args))
    # Routed as the queryset itself would be, on each call (the read replica).
    database = router.db_for_read(compiled.queryset.model)
    statement = compiled.statement(database)
    if statement is None:
        return []
    with connections[database].cursor() as cursor:
        cursor.execute(*statement)
        return cursor.fetchall()
