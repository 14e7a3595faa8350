"""Household and member counts per region, precomputed (issue 17).

Counting every household and member under a county or the city on each view of a home
page grows with the data (at 300,000 households the member count alone is a parallel
sequential scan of ~200 ms). ``tallies_refresh`` counts them for every region in two
grouped statements — by village, then rolled up to town, county and city in Python —
and the Celery beat job runs it every minute. Readers take ``fresh_tallies``: the
figures with the time they were counted, or nothing when they are missing or older than
``REGION_TALLY_MAX_AGE`` (a stopped worker), in which case the page counts live, as it
always did, and says so.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.bulk import batch_size
from households.models import ExitStatus, Household, Member
from regions.models import Region, RegionTally

FIELDS = ("households", "not_exited", "exited", "returned", "members")


def _max_age() -> datetime.timedelta:
    return datetime.timedelta(seconds=getattr(settings, "REGION_TALLY_MAX_AGE", 600))


@transaction.atomic
def tallies_refresh() -> dict[str, int]:
    """Count households and members of every region; returns how many regions."""
    now = timezone.now()
    by_village: dict[str, dict[str, int]] = {}
    households = (
        Household.objects.order_by()
        .values("village_id")
        .annotate(
            households=Count("pk"),
            not_exited=Count("pk", filter=Q(exit_status=ExitStatus.NOT_EXITED)),
            exited=Count("pk", filter=Q(exit_status=ExitStatus.EXITED)),
            returned=Count("pk", filter=Q(exit_status=ExitStatus.RETURNED)),
        )
    )
    for row in households:
        by_village[row.pop("village_id")] = {**row, "members": 0}
    members = Member.objects.order_by().values("household__village_id").annotate(n=Count("pk"))
    for row in members:
        by_village.setdefault(row["household__village_id"], dict.fromkeys(FIELDS, 0))["members"] = row["n"]
    regions = list(Region.objects.values_list("code", "level"))
    totals = {code: dict.fromkeys(FIELDS, 0) for code, _level in regions}
    prefix_of = {code: code[: Region.PREFIX_LENGTH[level]] for code, level in regions}
    # Roll each village's figures up to every region whose prefix it starts with.
    by_prefix: dict[str, str] = {prefix: code for code, prefix in prefix_of.items()}
    for village, counts in by_village.items():
        for length in sorted(set(Region.PREFIX_LENGTH.values())):
            code = by_prefix.get(village[:length])
            if code is not None:
                for name in FIELDS:
                    totals[code][name] += counts[name]
    RegionTally.objects.bulk_create(
        [RegionTally(region_id=code, counted_at=now, **counts) for code, counts in totals.items()],
        batch_size=batch_size(),
        update_conflicts=True,
        unique_fields=["region"],
        update_fields=[*FIELDS, "counted_at"],
    )
    return {"regions": len(totals), "villages_with_households": len(by_village)}


def fresh_tallies(codes: list[str]) -> dict[str, RegionTally] | None:
    """The tallies of ``codes`` if every one is there and recent enough, else None."""
    tallies = {t.region_id: t for t in RegionTally.objects.filter(region_id__in=codes)}
    oldest = timezone.now() - _max_age()
    if len(tallies) < len(set(codes)) or any(t.counted_at < oldest for t in tallies.values()):
        return None
    return tallies
