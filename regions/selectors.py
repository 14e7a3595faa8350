"""Reads about the region tree, always through ``visible_to(user)``."""

from django.db.models import Count, Q
from django.db.models.functions import Substr

from households.models import ExitStatus, Household, Member
from regions.models import Region
from regions.scoping import scope_prefix
from regions.tallies import fresh_tallies


def region_root_for(user) -> Region | None:
    """The top of what a user may see: their own region, or the city for an admin."""
    if user.region_id is not None:
        return user.region
    if scope_prefix(user) == "":
        return Region.objects.filter(level=Region.Level.CITY).order_by("code").first()
    return None


def region_get(*, user, code: str) -> Region:
    """A region the user may see; raises Region.DoesNotExist otherwise (views turn it into 404)."""
    return Region.objects.visible_to(user).get(code=code)


def region_children_with_counts(*, user, region: Region) -> list[dict]:
    """Each child of ``region`` with its household counts, in two queries whatever the size.

    From the children's tallies (regions.tallies) when they are fresh; otherwise
    households are grouped by the child's code prefix (a prefix of the village code
    column), so the count is one aggregate, not one query per child.
    """
    children = list(Region.objects.visible_to(user).filter(parent=region).order_by("code"))
    if not children:
        return []
    tallies = fresh_tallies([child.code for child in children])
    if tallies is not None:
        return [
            {
                "region": child,
                "total": tallies[child.code].households,
                **{name: getattr(tallies[child.code], name) for name in ("not_exited", "exited", "returned")},
            }
            for child in children
        ]
    child_len = Region.PREFIX_LENGTH[children[0].level]
    rows = (
        Household.objects.visible_to(user)
        .in_region(region.prefix)
        .annotate(child_prefix=Substr("village_id", 1, child_len))
        .values("child_prefix")
        .annotate(
            total=Count("pk"),
            not_exited=Count("pk", filter=Q(exit_status=ExitStatus.NOT_EXITED)),
            exited=Count("pk", filter=Q(exit_status=ExitStatus.EXITED)),
            returned=Count("pk", filter=Q(exit_status=ExitStatus.RETURNED)),
        )
    )
    by_prefix = {row["child_prefix"]: row for row in rows}
    empty = {"total": 0, "not_exited": 0, "exited": 0, "returned": 0}
    return [{"region": child, **by_prefix.get(child.prefix, empty)} for child in children]


def region_summary(*, user, region: Region) -> dict:
    """Household and member totals under ``region`` within the user's scope: the region's
    tally (regions.tallies) with ``counted_at`` when it is fresh, else counted now, one
    query each (``counted_at`` None). A user's region and everything below it lie wholly
    in their scope, so the region's tally is what they may see."""
    tallies = fresh_tallies([region.code])
    if tallies is not None:
        tally = tallies[region.code]
        counts = {"total": tally.households, "counted_at": tally.counted_at}
        counts |= {name: getattr(tally, name) for name in ("not_exited", "exited", "returned", "members")}
    else:
        households = Household.objects.visible_to(user).in_region(region.prefix)
        counts = households.aggregate(
            total=Count("pk"),
            not_exited=Count("pk", filter=Q(exit_status=ExitStatus.NOT_EXITED)),
            exited=Count("pk", filter=Q(exit_status=ExitStatus.EXITED)),
            returned=Count("pk", filter=Q(exit_status=ExitStatus.RETURNED)),
        )
        counts["members"] = Member.objects.visible_to(user).in_region(region.prefix).count()
        counts["counted_at"] = None
    level_counts = dict(
        Region.objects.visible_to(user)
        .under(region)
        .exclude(code=region.code)
        .values_list("level")
        .annotate(n=Count("pk"))
    )
    counts["levels"] = [
        (Region.Level(level).label, level_counts[level])
        for level in (Region.Level.COUNTY, Region.Level.TOWN, Region.Level.VILLAGE)
        if level in level_counts
    ]
    return counts
