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
from households.models import (
    Education,
    ExitStatus,
    IdentificationStandard,
    LabourSkill,
    MedicalInsurance,
    Member,
    PersonalDataAccess,
    PoliticalStatus,
    PovertyAttribute,
    PovertyCause,
    Relationship,
    RelocationMode,
    Schooling,
    Sex,
    WorkStatus,
)
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


def _labels(choices) -> dict[str, str]:
    """value → label, translated once per export: ``get_FOO_display()`` per cell costs
    a lazy-string round trip, which at 300k rows is a third of the export's time."""
    return {value: str(label) for value, label in choices.choices}


class _Words:
    """The few translated words a ledger repeats in every row, looked up once."""

    def __init__(self):
        self.yes, self.no = str(_("是")), str(_("否"))
        self.healthy = str(_("健康"))
        self.conditions = (str(_("长期慢性病")), str(_("患有大病")), str(_("残疾")))
        self.causes = _labels(PovertyCause)

    def yes_no(self, value: bool) -> str:
        return self.yes if value else self.no

    def causes_of(self, values: list[str]) -> str:
        return "、".join(self.causes.get(c, c) for c in values or [])


# What the 户台账 reads of each household: plain values, not model instances (building
# 300k Household objects costs more than writing their cells).
HOUSEHOLD_LEDGER_FIELDS = [
    "number", "village_id", "village__name", "group_no", "head_name", "phone", "identification_standard",
    "attribute", "main_cause", "other_causes", "identification_year", "exit_status", "exit_year", "member_count",
    "is_relocated", "relocation_mode", "helper_name", "helper_unit", "helper_phone", "lost_contact",
    "released_prisoner",
]  # fmt: skip


def household_ledger_rows(households):
    """The rows of the 户台账 for ``selectors.household_list`` households (annotated)."""
    return households.values(*HOUSEHOLD_LEDGER_FIELDS)


def household_ledger_columns(full: bool, *, region_names: Mapping[str, str]) -> list[Column]:
    """户台账. Rows are ``household_ledger_rows`` dicts."""
    phone = (lambda v: v) if full else mask_phone
    words = _Words()
    standard, attribute = _labels(IdentificationStandard), _labels(PovertyAttribute)
    status, mode = _labels(ExitStatus), _labels(RelocationMode)
    cause = words.causes

    return [
        Column(_("户编号"), lambda h: h["number"], text=True),
        Column(_("县区"), lambda h: region_names.get(h["village_id"][:COUNTY_PREFIX], "")),
        Column(_("镇办"), lambda h: region_names.get(h["village_id"][:TOWN_PREFIX], "")),
        Column(_("村"), lambda h: h["village__name"]),
        Column(_("组"), lambda h: h["group_no"]),
        Column(_("户主姓名"), lambda h: h["head_name"] or ""),
        Column(_("联系电话"), lambda h: phone(h["phone"]), text=True),
        Column(_("识别标准"), lambda h: standard.get(h["identification_standard"], "")),
        Column(_("贫困户属性"), lambda h: attribute.get(h["attribute"], "")),
        Column(_("主要致贫原因"), lambda h: cause.get(h["main_cause"], "")),
        Column(_("其他致贫原因"), lambda h: words.causes_of(h["other_causes"])),
        Column(_("识别年度"), lambda h: h["identification_year"]),
        Column(_("脱贫状态"), lambda h: status.get(h["exit_status"], "")),
        Column(_("脱贫年度"), lambda h: h["exit_year"]),
        Column(_("家庭人口数"), lambda h: h["member_count"] or 0),
        Column(_("易地扶贫搬迁户"), lambda h: words.yes_no(h["is_relocated"])),
        Column(_("搬迁方式"), lambda h: mode.get(h["relocation_mode"], "")),
        Column(_("帮扶责任人"), lambda h: h["helper_name"]),
        Column(_("帮扶责任人单位"), lambda h: h["helper_unit"]),
        Column(_("帮扶责任人电话"), lambda h: phone(h["helper_phone"]), text=True),
        Column(_("失联人员"), lambda h: words.yes_no(h["lost_contact"])),
        Column(_("刑满释放人员"), lambda h: words.yes_no(h["released_prisoner"])),
    ]


def member_ledger_columns(full: bool) -> list[Column]:
    """成员台账. Rows are ``selectors.member_list`` members (household and village selected)."""
    id_number = (lambda v: v) if full else mask_id_number
    words = _Words()
    sex, relationship, political = _labels(Sex), _labels(Relationship), _labels(PoliticalStatus)
    education, schooling, skill = _labels(Education), _labels(Schooling), _labels(LabourSkill)
    work, insurance = _labels(WorkStatus), _labels(MedicalInsurance)

    def health(m: Member) -> str:
        """健康状况 allows several values; 健康 is the absence of the other three (§2)."""
        flags = (m.has_chronic_disease, m.has_serious_illness, m.is_disabled)
        return "、".join(label for flag, label in zip(flags, words.conditions, strict=True) if flag) or words.healthy

    return [
        Column(_("户编号"), lambda m: m.household.number, text=True),
        Column(_("村"), lambda m: m.household.village.name),
        Column(_("组"), lambda m: m.household.group_no),
        Column(_("姓名"), lambda m: m.name),
        Column(_("证件号码"), lambda m: id_number(m.id_number), text=True),
        Column(_("性别"), lambda m: sex.get(m.sex, "")),
        # Text, not a date cell: a ledger is read and printed, and "1972-04-11" reads the
        # same in every locale's Excel.
        Column(_("出生日期"), lambda m: m.birth_date.isoformat()),
        Column(_("与户主关系"), lambda m: relationship.get(m.relationship, "")),
        Column(_("民族"), lambda m: m.ethnicity),
        Column(_("政治面貌"), lambda m: political.get(m.political_status, "")),
        Column(_("文化程度"), lambda m: education.get(m.education, "")),
        Column(_("在校生状况"), lambda m: schooling.get(m.schooling, "")),
        Column(_("健康状况"), health),
        Column(_("残疾类别"), lambda m: m.disability_category),
        Column(_("残疾等级"), lambda m: m.disability_grade),
        Column(_("劳动技能"), lambda m: skill.get(m.labour_skill, "")),
        Column(_("务工状况"), lambda m: work.get(m.work_status, "")),
        Column(_("务工地点"), lambda m: m.work_place),
        Column(_("务工月数"), lambda m: m.work_months),
        Column(_("医保"), lambda m: insurance.get(m.medical_insurance, "")),
        Column(_("大病保险"), lambda m: words.yes_no(m.critical_illness_insurance)),
        Column(_("家庭医生签约"), lambda m: words.yes_no(m.family_doctor)),
        Column(_("低保"), lambda m: words.yes_no(m.is_dibao)),
        Column(_("特困"), lambda m: words.yes_no(m.is_tekun)),
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
