"""Database triggers that keep ``Household.head_name`` equal to its 户主 member's name.

One home for the rule, below every path that writes a member — the registry service,
the API, the Excel import's bulk apply, transfers, the admin, ``seed_demo``'s COPY — so
none can leave the household row stale. PostgreSQL runs statement-level triggers over
the transition tables (one set-based UPDATE per statement, COPY included); SQLite,
used in development and tests, a row-level trigger per event.

A save of a household row cannot set it either: an update that writes another value
(a ``Household`` instance read before its members changed, saved after) is corrected
from the members on the spot.

SQLite drops a table's triggers when a migration rebuilds it: a migration that alters
``households_member`` must call ``install`` again
(``tests/households/test_head_name.py`` fails otherwise).
"""

HEAD = "head"

_RECOMPUTE = f"""
UPDATE households_household SET head_name = (
    SELECT m.name FROM households_member m
    WHERE m.household_id = households_household.id AND m.relationship = '{HEAD}'
    ORDER BY m.id LIMIT 1
)"""


def _postgresql_statements() -> list[str]:
    # One function per event: a transition table exists only for the events that have it.
    sync = """
CREATE OR REPLACE FUNCTION households_head_name_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {recompute} WHERE households_household.id IN ({ids});
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS households_head_name_{event} ON households_member;
CREATE TRIGGER households_head_name_{event} AFTER {event_upper} ON households_member
    REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION households_head_name_{event}();
"""
    new_heads = f"SELECT household_id FROM new_rows WHERE relationship = '{HEAD}'"
    old_heads = f"SELECT household_id FROM old_rows WHERE relationship = '{HEAD}'"
    return [
        sync.format(event="insert", event_upper="INSERT", recompute=_RECOMPUTE, ids=new_heads,
                    tables="NEW TABLE AS new_rows"),
        sync.format(event="delete", event_upper="DELETE", recompute=_RECOMPUTE, ids=old_heads,
                    tables="OLD TABLE AS old_rows"),
        # An update that changes neither a head's name, relationship nor household
        # touches no household: the ids come from rows that differ in one of them.
        sync.format(
            event="update", event_upper="UPDATE", recompute=_RECOMPUTE,
            ids=f"""SELECT unnest(ARRAY[o.household_id, n.household_id])
                    FROM old_rows o JOIN new_rows n ON n.id = o.id
                    WHERE (o.relationship = '{HEAD}' OR n.relationship = '{HEAD}')
                      AND (o.name, o.relationship, o.household_id)
                          IS DISTINCT FROM (n.name, n.relationship, n.household_id)""",
            tables="OLD TABLE AS old_rows NEW TABLE AS new_rows",
        ),
        # A household row written with another head_name than it had: take the members' word.
        f"""
CREATE OR REPLACE FUNCTION households_head_name_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.head_name := (SELECT m.name FROM households_member m
                      WHERE m.household_id = NEW.id AND m.relationship = '{HEAD}' ORDER BY m.id LIMIT 1);
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS households_head_name_keep ON households_household;
CREATE TRIGGER households_head_name_keep BEFORE UPDATE ON households_household
    FOR EACH ROW WHEN (NEW.head_name IS DISTINCT FROM OLD.head_name)
    EXECUTE FUNCTION households_head_name_keep();
""",
    ]  # fmt: skip


def _sqlite_statements() -> list[str]:
    statements = []
    for event, rows, when in (
        ("insert", ["NEW"], f"NEW.relationship = '{HEAD}'"),
        ("delete", ["OLD"], f"OLD.relationship = '{HEAD}'"),
        ("update", ["OLD", "NEW"], f"OLD.relationship = '{HEAD}' OR NEW.relationship = '{HEAD}'"),
    ):
        ids = ", ".join(f"{row}.household_id" for row in rows)
        event_sql = "UPDATE OF name, relationship, household_id" if event == "update" else event.upper()
        statements += [
            f"DROP TRIGGER IF EXISTS households_head_name_{event}",
            f"CREATE TRIGGER households_head_name_{event} AFTER {event_sql} ON households_member "
            f"FOR EACH ROW WHEN {when} BEGIN {_RECOMPUTE} WHERE households_household.id IN ({ids}); END",
        ]
    # A household row written with another head_name than it had: take the members' word
    # (the inner UPDATE does not fire it again: SQLite's recursive triggers are off).
    statements += [
        "DROP TRIGGER IF EXISTS households_head_name_keep",
        "CREATE TRIGGER households_head_name_keep AFTER UPDATE OF head_name ON households_household "
        "FOR EACH ROW WHEN NEW.head_name IS NOT OLD.head_name "
        f"BEGIN {_RECOMPUTE} WHERE households_household.id = NEW.id; END",
    ]
    return statements


def install(schema_editor) -> None:
    """Create (or replace) the triggers, then bring every household's head_name up to date."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = _postgresql_statements()
    elif vendor == "sqlite":
        statements = _sqlite_statements()
    else:
        raise NotImplementedError(f"households.triggers: no triggers for {vendor}")
    for statement in statements:
        schema_editor.execute(statement)
    schema_editor.execute(_RECOMPUTE)


def uninstall(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    for name, table in (("insert", "member"), ("delete", "member"), ("update", "member"), ("keep", "household")):
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS households_head_name_{name} ON households_{table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS households_head_name_{name}()")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS households_head_name_{name}")
