"""City-scale inserts with their audit rows.

``bulk_create_with_history`` (django-simple-history) prepares every value through
the ORM's compiler, which costs more than the database does once a write reaches
hundreds of thousands of rows. ``bulk_insert_with_history`` writes the same rows, and
the same "created" history rows simple-history would write, straight through the
driver: PostgreSQL's COPY, or ``executemany`` elsewhere. Values must already be in
Python types the driver understands (str, int, bool, date, datetime, None; lists
and dicts for JSON fields).

Only for inserts of new rows; every other write goes through the ORM and services.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Sequence

from django.db import connection, models
from django.utils import timezone


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Reserve ``count`` primary keys for rows inserted with explicit ids.

    PostgreSQL hands them out of the table's sequence, so concurrent writers never
    collide. Elsewhere (SQLite during development) the caller holds the write lock
    for the whole transaction, and ids continue after the current maximum.
    """
    if count == 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX("{pk}"), 0) FROM "{table}"')
        start = cursor.fetchone()[0] + 1
    return list(range(start, start + count))


# Rows per COPY of ``bulk_insert_with_history``.
COPY_ROWS = 20000


def _plain(value):
    # TextChoices members are str subclasses; drivers want the plain value.
    return value.value if isinstance(value, enum.Enum) else value


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert raw rows into ``model``'s table, columns named by their db column."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        fields = [_field_by_column(model, c) for c in columns]
        json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
        nullable_positions = [i for i, f in enumerate(fields) if f.null]
        rows = [list(row) for row in rows]
        if json_positions:
            for row in rows:
                for i in json_positions:
                    row[i] = json.dumps(row[i], ensure_ascii=False)
        if connection.vendor == "postgresql":
            # Only nullable columns can hold None; they get COPY's NULL marker. Booleans
            # go out as True/False and dates in ISO form, both of which PostgreSQL
            # parses. This is the hot loop of a million-row seed, so work per column,
            # not per value. (A literal \\N in a nullable text column would read as NULL.)
            if nullable_positions:
                for row in rows:
                    for i in nullable_positions:
                        if row[i] is None:
                            row[i] = r"\N"
            buffer = io.StringIO()
            csv.writer(buffer).writerows(rows)
            buffer.seek(0)
            # The driver's own cursor: wrap it so a failure is Django's IntegrityError /
            # DatabaseError like any other query's.
            with connection.wrap_database_errors:
                cursor.cursor.copy_expert(f"COPY {table} ({quoted}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
        else:
            rows = [[_plain(v) for v in row] for row in rows]
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})", rows)


def _field_by_column(model, column):
    for field in model._meta.concrete_fields:
        if field.column == column:
            return field
    raise LookupError(column)


def bulk_insert_with_history(
    model: type[models.Model],
    rows: Sequence[dict],
    *,
    user_id: int | None = None,
    change_reason: str = "",
) -> None:
    """Insert ``rows`` (dicts keyed by attname, ``id`` included) and their "+" history rows.

    ``created_at``/``updated_at`` style auto fields are filled with one timestamp.
    """
    if not rows:
        return
    now = timezone.now()
    fields = list(model._meta.concrete_fields)
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for row in rows:
                row.setdefault(field.attname, now)
    columns = [f.column for f in fields]
    attnames = [f.attname for f in fields]
    # Fields the caller left out take the model's default ("" for a blank text field).
    for field in fields:
        missing = [row for row in rows if field.attname not in row]
        if missing:
            default = field.get_default()
            for row in missing:
                row[field.attname] = default
    # The history table repeats the model's columns, minus any it excludes (e.g. a password).
    history_model = model.history.model
    kept = {f.column for f in history_model._meta.concrete_fields}
    positions = [i for i, column in enumerate(columns) if column in kept]
    history_columns = [columns[i] for i in positions]
    history_columns += ["history_date", "history_change_reason", "history_type", "history_user_id"]
    # One COPY per slice keeps the buffer, not just the statement, bounded.
    for start in range(0, len(rows), COPY_ROWS):
        values = [[row[a] for a in attnames] for row in rows[start : start + COPY_ROWS]]
        insert_rows(model, columns, values)
        history_values = [[*(value[i] for i in positions), now, change_reason, "+", user_id] for value in values]
        insert_rows(history_model, history_columns, history_values)


# No statement grows with the data: IN lists go in chunks and bulk writes in batches, on
# every database. (SQLite allows 32,766 bound parameters per statement; on PostgreSQL a
# statement of 100,000 ids, or a ``bulk_update`` with one CASE branch per row, is planned —
# and JIT-compiled — for minutes.) A set-based job costs one query per chunk.
CHUNK_SIZE = 5000
BATCH_SIZE = 5000
# A bulk_update is one CASE per field with a branch per row: smaller batches.
UPDATE_BATCH_SIZE = 1000


def in_chunks(values) -> list[list]:
    """``values`` as lists small enough for one ``IN (...)`` (``CHUNK_SIZE`` at most);
    nothing for no values."""
    values = list(values)
    return [values[start : start + CHUNK_SIZE] for start in range(0, len(values), CHUNK_SIZE)]


def batch_size() -> int:
    """For ``bulk_create`` and simple-history's ``bulk_create_with_history``."""
    return BATCH_SIZE


def update_batch_size() -> int:
    """For ``bulk_update`` and ``bulk_update_with_history``."""
    return UPDATE_BATCH_SIZE


def analyze(*models_: type[models.Model]) -> None:
    """Do for ``models_``' tables (and their history tables) what autovacuum does after a
    bulk load on a production server: refresh the planner's statistics, and — outside a
    transaction, where PostgreSQL allows it — VACUUM, which marks the pages all-visible so
    counts over a scope are index-only scans. A server that runs with autovacuum off, or
    before it wakes, would otherwise plan joins on the empty-table estimates. Nothing to
    do on SQLite, whose planner keeps no such statistics by default."""
    if connection.vendor != "postgresql":
        return
    tables = []
    for model in models_:
        tables.append(model._meta.db_table)
        history = getattr(model, "history", None)
        if history is not None:
            tables.append(history.model._meta.db_table)
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for table in dict.fromkeys(tables):
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")
