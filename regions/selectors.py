"""Reads about the region tree, always through ``visible_to(user)``."""

from django.db.models import Count, Q
from django.db.models.functions import Substr

from households.models import ExitStatus, Household, Member
from regions.models import Region
from regions.scoping import scope_prefix


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

    Households are grouped by the child's code prefix (a prefix of the village code
    column), so the count is one aggregate, not one query per child.
    """
    children = list(Region.objects.visible_to(user).filter(parent=region).order_by("code"))
    if not children:
        return []
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
    """Household and member totals under ``region`` within the user's scope, one query each."""
    households = Household.objects.visible_to(user).in_region(region.prefix)
    counts = households.aggregate(
        total=Count("pk"),
        not_exited=Count("pk", filter=Q(exit_status=ExitStatus.NOT_EXITED)),
        exited=Count("pk", filter=Q(exit_status=ExitStatus.EXITED)),
        returned=Count("pk", filter=Q(exit_status=ExitStatus.RETURNED)),
    )
    counts["members"] = Member.objects.visible_to(user).in_region(region.prefix).count()
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
