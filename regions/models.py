"""The administrative tree (DOMAIN.md §1): 市 → 县区 → 镇办 → 村/社区.

A region is keyed by its 12-digit statistical division code (统计用区划代码). The
code's significant prefix (4 digits for a city, 6 for a county, 9 for a town, 12 for a
village) is shared by every region below it, so "everything under X" is a prefix match
on an indexed column. Other models point at a region with a foreign key whose column
holds the code itself, so their scoping filter needs no join.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.params import is_region_code
from regions.scoping import ScopedQuerySet


class RegionQuerySet(ScopedQuerySet):
    region_lookup = "code"

    def under(self, region: "Region"):
        """The region and everything below it."""
        return self.filter(code__startswith=region.prefix)


class Region(models.Model):
    class Level(models.TextChoices):
        CITY = "city", _("市")
        COUNTY = "county", _("县区")
        TOWN = "town", _("镇办")
        VILLAGE = "village", _("村/社区")

    # Length of the code's significant prefix per level (2 province + 2 city + 2 county
    # + 3 town + 3 village digits).
    PREFIX_LENGTH = {Level.CITY: 4, Level.COUNTY: 6, Level.TOWN: 9, Level.VILLAGE: 12}
    CHILD_LEVEL = {Level.CITY: Level.COUNTY, Level.COUNTY: Level.TOWN, Level.TOWN: Level.VILLAGE}

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=60)
    level = models.CharField(_("层级"), max_length=8, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区划"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )

    history = HistoricalRecords(verbose_name=_("区划变更记录"))
    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{12}$"), name="region_code_12_digits"),
            models.CheckConstraint(
                condition=Q(level__in=["city", "county", "town", "village"]), name="region_level_valid"
            ),
            # Only a city is a root; every other level hangs under a parent.
            models.CheckConstraint(
                condition=Q(level="city", parent__isnull=True) | (~Q(level="city") & Q(parent__isnull=False)),
                name="region_parent_iff_not_city",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def prefix(self) -> str:
        return self.code[: self.PREFIX_LENGTH[self.level]]

    def clean(self) -> None:
        errors = {}
        if self.code and not is_region_code(self.code):
            errors["code"] = _("区划代码必须是12位数字。")
        if self.level and self.code and not errors:
            tail = self.code[self.PREFIX_LENGTH[self.level] :]
            if tail.strip("0"):
                errors["code"] = _("%(level)s的区划代码应以 %(n)d 个 0 结尾。") % {
                    "level": self.get_level_display(),
                    "n": len(tail),
                }
        if self.parent_id and self.level and not errors:
            parent = self.parent
            if Region.CHILD_LEVEL.get(parent.level) != self.level:
                errors["parent"] = _("%(parent)s的下级不能是%(level)s。") % {
                    "parent": parent.get_level_display(),
                    "level": self.get_level_display(),
                }
            elif not self.code.startswith(parent.prefix):
                errors["code"] = _("区划代码必须以上级区划的代码 %(prefix)s 开头。") % {"prefix": parent.prefix}
        if errors:
            raise ValidationError(errors)

    def ancestors(self) -> list["Region"]:
        """From the city down to the parent, in one query (codes are derived from the prefix)."""
        codes = [
            self.code[:n].ljust(12, "0")
            for level, n in self.PREFIX_LENGTH.items()
            if n < self.PREFIX_LENGTH[self.level]
        ]
        return list(Region.objects.filter(code__in=codes).order_by("code"))

    def path(self) -> list["Region"]:
        return [*self.ancestors(), self]


class RegionTally(models.Model):
    """How many households (by exit status) and members lie under a region: the figures
    home and region pages show, counted for every region at once by a Celery job
    (regions.tallies) rather than over the whole scope on each view. Pages say when they
    were counted and count live when the figures are missing or too old."""

    region = models.OneToOneField(
        Region, verbose_name=_("区划"), on_delete=models.CASCADE, primary_key=True, related_name="tally"
    )
    households = models.PositiveIntegerField(_("贫困户"), default=0)
    not_exited = models.PositiveIntegerField(_("未脱贫户"), default=0)
    exited = models.PositiveIntegerField(_("已脱贫户"), default=0)
    returned = models.PositiveIntegerField(_("返贫户"), default=0)
    members = models.PositiveIntegerField(_("家庭成员"), default=0)
    counted_at = models.DateTimeField(_("统计时间"))

    class Meta:
        verbose_name = _("区划统计")
        verbose_name_plural = _("区划统计")

    def __str__(self):
        return f"{self.region_id} {self.households}"
