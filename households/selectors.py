"""Reads of the registry, always starting from ``visible_to(user)``."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from households.idnumbers import normalize_id_number
from households.models import (
    ExitStatus,
    Household,
    MedicalInsurance,
    Member,
    PovertyAttribute,
    PovertyCause,
)
from households.normalize import TextKind, normalize_text
from households.search import IdSearchFilterMixin
from regions.models import Region

SPECIAL_SITUATIONS = [
    ("lost_contact", _("失联人员")),
    ("released_prisoner", _("刑满释放人员")),
    ("any", _("任一特殊情况")),
]


def household_list(*, user) -> QuerySet[Household]:
    """Households the user may see, with the member count annotated (the 户主's name is
    the household's ``head_name``).

    A correlated subquery instead of a join: the page costs the same number of
    queries (one count, one page) whatever its size.
    """
    sizes = (
        Member.objects.filter(household=OuterRef("pk"))
        .order_by()
        .values("household")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Household.objects.visible_to(user)
        .select_related("village")
        .annotate(member_count=Subquery(sizes))
        .order_by("number")
    )


def household_head_name(through: str = "household_id") -> Subquery:
    """The 户主's name of the household a row belongs to (exit and monitoring cases), for
    ``annotate``: a correlated lookup by primary key that PostgreSQL runs only for the rows
    a page keeps. A join (``F("household__head_name")``) would stay in the list's COUNT,
    joining every household of the scope to count the cases."""
    return Subquery(Household.objects.filter(pk=OuterRef(through)).values("head_name")[:1])


def household_get(*, user, pk: int) -> Household:
    """One household the user may see (raises Household.DoesNotExist otherwise)."""
    return household_list(user=user).get(pk=pk)


def member_list(*, user) -> QuerySet[Member]:
    return Member.objects.visible_to(user).select_related("household", "household__village").order_by("household", "id")


class RegionChoiceFilter(django_filters.CharFilter):
    """A town or village code within the user's scope; narrows by code prefix."""

    def filter(self, qs, value):
        if not value:
            return qs
        region = Region.objects.visible_to(self.parent.request.user).filter(code=value).first()
        if region is None:
            return qs.none()
        return qs.in_region(region.prefix)


def search_households(qs, value: str, *, through: str | None = None):
    """户编号 (prefix) or a member's full ID number (exact) when the term is digits and
    letters; 户主 name (contains) otherwise. ``through`` names the household foreign key
    when ``qs`` holds rows that belong to a household (exit or monitoring cases).

    Deciding up front, instead of OR-ing the three, keeps PostgreSQL on a semi-join
    within the user's region: with the OR it scans every 户主 of the city
    (bench/bench_household_list.py measured 4.5× the bare query).
    """
    value = value.strip()
    if not value:
        return qs
    household = OuterRef("pk") if through is None else OuterRef(f"{through}_id")
    number = "number" if through is None else f"{through}__number"
    head_name = "head_name" if through is None else f"{through}__head_name"
    id_number = normalize_id_number(value)
    if id_number.isascii():
        if len(id_number) == 18:
            return qs.filter(
                Q(**{f"{number}__startswith": id_number})
                | Exists(Member.objects.filter(household=household, id_number=id_number))
            )
        return qs.filter(**{f"{number}__startswith": id_number})
    # Names are stored through the registry's normaliser; the search term goes through it
    # too. The household row carries its 户主's name (households.triggers): a region's
    # count of matches reads one index, not each household's members.
    name = normalize_text(value, TextKind.NAME)
    return qs.filter(**{f"{head_name}__contains": name})


class HouseholdFilter(IdSearchFilterMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("搜索"))
    region = RegionChoiceFilter(label=_("区划"))
    exit_status = django_filters.ChoiceFilter(choices=ExitStatus.choices, label=_("脱贫状态"))
    attribute = django_filters.ChoiceFilter(choices=PovertyAttribute.choices, label=_("贫困户属性"))
    main_cause = django_filters.ChoiceFilter(choices=PovertyCause.choices, label=_("主要致贫原因"))
    special = django_filters.ChoiceFilter(choices=SPECIAL_SITUATIONS, method="filter_special", label=_("特殊情况"))
    uninsured = django_filters.BooleanFilter(
        method="filter_uninsured", label=_("有未参保成员"), widget=forms.CheckboxInput
    )
    is_relocated = django_filters.BooleanFilter(
        method="filter_relocated", label=_("易地扶贫搬迁户"), widget=forms.CheckboxInput
    )
    identification_year = django_filters.NumberFilter(label=_("识别年度"))

    class Meta:
        model = Household
        fields = ["q", "region", "exit_status", "attribute", "main_cause", "special", "uninsured", "is_relocated"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            if isinstance(field.widget, forms.CheckboxInput):
                field.widget.attrs["class"] = "form-check-input"
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select"
            else:
                field.widget.attrs["class"] = "form-control"

    def filter_search(self, qs, name, value):
        return search_households(qs, value)

    def filter_special(self, qs, name, value):
        if value == "lost_contact":
            return qs.filter(lost_contact=True)
        if value == "released_prisoner":
            return qs.filter(released_prisoner=True)
        if value == "any":
            return qs.filter(Q(lost_contact=True) | Q(released_prisoner=True))
        return qs

    def filter_relocated(self, qs, name, value):
        # An unticked box means "any", not "not relocated".
        return qs.filter(is_relocated=True) if value else qs

    def filter_uninsured(self, qs, name, value):
        if not value:
            return qs
        uninsured = Member.objects.filter(household=OuterRef("pk"), medical_insurance=MedicalInsurance.UNINSURED)
        return qs.filter(Exists(uninsured))


def region_filter_choices(*, user) -> list[Region]:
    """Regions to narrow a list by: the two levels below the user's own region (a
    county official gets towns and villages, a supervisor counties and towns), each
    with an ``indent`` for the select."""
    from regions.selectors import region_root_for

    root = region_root_for(user)
    if root is None:
        return []
    levels = list(Region.PREFIX_LENGTH)
    below = levels[levels.index(root.level) + 1 : levels.index(root.level) + 3]
    regions = list(Region.objects.visible_to(user).under(root).filter(level__in=below).order_by("code"))
    for region in regions:
        region.indent = "\u3000" * below.index(region.level)
    return regions
