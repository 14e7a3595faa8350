"""The registry's ledgers (台账): households and members, with DOMAIN.md §2's field names.

Columns read only the row and what was resolved once before the export (region names),
so a ledger costs the same few queries for 3 households or 300k. ID numbers and phones
are masked unless ``full`` (DOMAIN.md §9); the view decides who may ask for ``full``
and records it with ``ledger_export_record``.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Q
from django.utils.translation import gettext as _

from core.exports import Column
from households.idnumbers import mask_id_number, mask_phone
from households.models import Household, Member, PersonalDataAccess, PovertyCause
from regions.models import Region
from regions.scoping import NO_SCOPE, scope_prefix

COUNTY_PREFIX = Region.PREFIX_LENGTH[Region.Level.COUNTY]
TOWN_PREFIX = Region.PREFIX_LENGTH[Region.Level.TOWN]


def ledger_region_names(*, user) -> dict[str, str]:
    """County and town names by code prefix (``"610902"`` → 汉滨区), in one query.

    The user's scope, plus the county and town above it: a village cadre's ledger still
    names its 县区 and 镇办, which are the user's own ancestors, not other people's data.
    """
    prefix = scope_prefix(user)
    if prefix is NO_SCOPE:
        return {}
    ancestors = [prefix[:n].ljust(12, "0") for n in (COUNTY_PREFIX, TOWN_PREFIX) if n < len(prefix)]
    regions = Region.objects.filter(level__in=[Region.Level.COUNTY, Region.Level.TOWN]).filter(
        Q(code__startswith=prefix) | Q(code__in=ancestors)
    )
    return {region.prefix: region.name for region in regions.only("code", "name", "level")}


def _yes_no(value: bool) -> str:
    return _("是") if value else _("否")


def _causes(values: list[str]) -> str:
    return "、".join(str(PovertyCause(c).label) if c in PovertyCause.values else c for c in values or [])


def household_ledger_columns(full: bool, *, region_names: Mapping[str, str]) -> list[Column]:
    """户台账. Rows are ``selectors.household_list`` households (``head_name`` and
    ``member_count`` annotated, ``village`` selected)."""
    phone = (lambda v: v) if full else mask_phone

    def county(h: Household) -> str:
        return region_names.get(h.village_id[:COUNTY_PREFIX], "")

    def town(h: Household) -> str:
        return region_names.get(h.village_id[:TOWN_PREFIX], "")

    return [
        Column(_("户编号"), lambda h: h.number, text=True),
        Column(_("县区"), county),
        Column(_("镇办"), town),
        Column(_("村"), lambda h: h.village.name),
        Column(_("组"), lambda h: h.group_no),
        Column(_("户主姓名"), lambda h: h.head_name or ""),
        Column(_("联系电话"), lambda h: phone(h.phone), text=True),
        Column(_("识别标准"), lambda h: h.get_identification_standard_display()),
        Column(_("贫困户属性"), lambda h: h.get_attribute_display()),
        Column(_("主要致贫原因"), lambda h: h.get_main_cause_display()),
        Column(_("其他致贫原因"), lambda h: _causes(h.other_causes)),
        Column(_("识别年度"), lambda h: h.identification_year),
        Column(_("脱贫状态"), lambda h: h.get_exit_status_display()),
        Column(_("脱贫年度"), lambda h: h.exit_year),
        Column(_("家庭人口数"), lambda h: h.member_count or 0),
        Column(_("易地扶贫搬迁户"), lambda h: _yes_no(h.is_relocated)),
        Column(_("搬迁方式"), lambda h: h.get_relocation_mode_display()),
        Column(_("帮扶责任人"), lambda h: h.helper_name),
        Column(_("帮扶责任人单位"), lambda h: h.helper_unit),
        Column(_("帮扶责任人电话"), lambda h: phone(h.helper_phone), text=True),
        Column(_("失联人员"), lambda h: _yes_no(h.lost_contact)),
        Column(_("刑满释放人员"), lambda h: _yes_no(h.released_prisoner)),
    ]


def _health(m: Member) -> str:
    """健康状况 allows several values; 健康 is the absence of the other three (§2)."""
    conditions = [
        label
        for flag, label in (
            (m.has_chronic_disease, _("长期慢性病")),
            (m.has_serious_illness, _("患有大病")),
            (m.is_disabled, _("残疾")),
        )
        if flag
    ]
    return "、".join(conditions) or _("健康")


def member_ledger_columns(full: bool) -> list[Column]:
    """成员台账. Rows are ``selectors.member_list`` members (household and village selected)."""
    id_number = (lambda v: v) if full else mask_id_number
    return [
        Column(_("户编号"), lambda m: m.household.number, text=True),
        Column(_("村"), lambda m: m.household.village.name),
        Column(_("组"), lambda m: m.household.group_no),
        Column(_("姓名"), lambda m: m.name),
        Column(_("证件号码"), lambda m: id_number(m.id_number), text=True),
        Column(_("性别"), lambda m: m.get_sex_display()),
        # Text, not a date cell: a ledger is read and printed, and "1972-04-11" reads the
        # same in every locale's Excel.
        Column(_("出生日期"), lambda m: m.birth_date.isoformat()),
        Column(_("与户主关系"), lambda m: m.get_relationship_display()),
        Column(_("民族"), lambda m: m.ethnicity),
        Column(_("政治面貌"), lambda m: m.get_political_status_display()),
        Column(_("文化程度"), lambda m: m.get_education_display()),
        Column(_("在校生状况"), lambda m: m.get_schooling_display()),
        Column(_("健康状况"), _health),
        Column(_("残疾类别"), lambda m: m.disability_category),
        Column(_("残疾等级"), lambda m: m.disability_grade),
        Column(_("劳动技能"), lambda m: m.get_labour_skill_display()),
        Column(_("务工状况"), lambda m: m.get_work_status_display()),
        Column(_("务工地点"), lambda m: m.work_place),
        Column(_("务工月数"), lambda m: m.work_months),
        Column(_("医保"), lambda m: m.get_medical_insurance_display()),
        Column(_("大病保险"), lambda m: _yes_no(m.critical_illness_insurance)),
        Column(_("家庭医生签约"), lambda m: _yes_no(m.family_doctor)),
        Column(_("低保"), lambda m: _yes_no(m.is_dibao)),
        Column(_("特困"), lambda m: _yes_no(m.is_tekun)),
    ]


def ledger_export_record(*, by, what: str, count: int, query: str) -> PersonalDataAccess:
    """One access row per full-number export (DOMAIN.md §9): who, when, how many rows
    and the filter that chose them, e.g. "户台账导出完整号码 12 户（exit_status=exited）"."""
    detail = what % {"n": count}
    if query:
        detail += f"（{query}）"
    field = PersonalDataAccess._meta.get_field("detail")
    return PersonalDataAccess.objects.create(
        user=by, action=PersonalDataAccess.Action.EXPORT, detail=detail[: field.max_length]
    )
