"""Reading ids from query strings and forms. ``str.isdigit`` accepts ² and ①, which
``int()`` and the database refuse; these accept ASCII digits only."""

from __future__ import annotations

MAX_ID = 2**63 - 1  # the largest value a bigint primary key holds


def as_id(value) -> int | None:
    """The id ``value`` spells, or None for anything else (blank, letters, ², huge)."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def as_ids(values) -> list[int]:
    """The ids among ``values`` (e.g. ``request.POST.getlist("cases")``), others dropped."""
    return [number for number in map(as_id, values) if number is not None]


def is_region_code(value) -> bool:
    """A 12-digit statistical division code (DOMAIN.md §1)."""
    text = str(value or "")
    return len(text) == 12 and text.isascii() and text.isdigit()
