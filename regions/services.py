"""Writes to the region tree."""

from collections.abc import Iterable

from django.db import transaction
from simple_history.utils import bulk_create_with_history

from core import change_reasons
from regions.models import Region


@transaction.atomic
def region_tree_load(*, rows: Iterable[tuple[str, str, str, str | None]], by=None) -> dict[str, int]:
    """Create the regions that do not exist yet and rename those whose name changed.

    ``rows`` are (code, name, level, parent_code), parents before children. Safe to run
    again: an unchanged tree writes nothing. Every write is audited, in bulk.
    """
    rows = list(rows)
    by_code = {region.code: region for region in Region.objects.all()}
    existing_names = {code: region.name for code, region in by_code.items()}
    new, renamed = [], []
    for code, name, level, parent_code in rows:
        if code not in by_code:
            region = Region(code=code, name=name, level=level, parent=by_code.get(parent_code))
            region.clean()
            by_code[code] = region
            new.append(region)
        elif existing_names[code] != name:
            renamed.append((code, name))
    # Parents precede children in ``rows``, so one ordered bulk insert satisfies the FK.
    bulk_create_with_history(new, Region, batch_size=2000, default_user=by)
    for code, name in renamed:
        region = Region.objects.get(code=code)
        region.name = name
        region._change_reason = change_reasons.stored(change_reasons.REGION_RENAMED)
        region.save(update_fields=["name"])
    return {"created": len(new), "renamed": len(renamed), "total": len(rows)}
