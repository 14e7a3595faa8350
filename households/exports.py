"""The registry's ledgers (台账): households and members, with DOMAIN.md §2's field names.

A ledger is also a file to correct and import back (issue 18): every column the import
template has carries the template's header and its labels (in the site's language, as
the template), so a county edits the ledger and uploads it as it is — the 户台账's sheet
is "户信息", the 成员台账's "成员信息", and the importer reads either on its own. The
columns a ledger adds for reading (县区, 镇办, 村, 户主姓名, 家庭人口数, 性别, 出生日期)
are not the template's and the importer passes over them. A ledger with masked numbers
is for reading: its numbers cannot be matched on import (the importer says so).

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
from households.excel import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS
from households.idnumbers import mask_id_number, mask_phone
from households.models import (
    Education,
    ExitStatus,
    IdentificationStandard,
    LabourSkill,
    MedicalInsurance,
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

# The import template's header of each field: a ledger's importable columns take them.
H = {column.field: column.header for column in HOUSEHOLD_COLUMNS}
M = {column.field: column.header for column in MEMBER_COLUMNS}

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
    "released_prisoner", "special_notes",
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
        Column(H["number"], lambda h: h["number"], text=True),
        Column(_("县区"), lambda h: region_names.get(h["village_id"][:COUNTY_PREFIX], "")),
        Column(_("镇办"), lambda h: region_names.get(h["village_id"][:TOWN_PREFIX], "")),
        Column(_("村"), lambda h: h["village__name"]),
        Column(H["village"], lambda h: h["village_id"], text=True),
        Column(H["group_no"], lambda h: h["group_no"]),
        Column(_("户主姓名"), lambda h: h["head_name"] or ""),
        Column(H["phone"], lambda h: phone(h["phone"]), text=True),
        Column(H["identification_standard"], lambda h: standard.get(h["identification_standard"], "")),
        Column(H["attribute"], lambda h: attribute.get(h["attribute"], "")),
        Column(H["main_cause"], lambda h: cause.get(h["main_cause"], "")),
        Column(H["other_causes"], lambda h: words.causes_of(h["other_causes"])),
        Column(H["identification_year"], lambda h: h["identification_year"]),
        Column(H["exit_status"], lambda h: status.get(h["exit_status"], "")),
        Column(H["exit_year"], lambda h: h["exit_year"]),
        Column(_("家庭人口数"), lambda h: h["member_count"] or 0),
        Column(H["is_relocated"], lambda h: words.yes_no(h["is_relocated"])),
        Column(H["relocation_mode"], lambda h: mode.get(h["relocation_mode"], "")),
        Column(H["helper_name"], lambda h: h["helper_name"]),
        Column(H["helper_unit"], lambda h: h["helper_unit"]),
        Column(H["helper_phone"], lambda h: phone(h["helper_phone"]), text=True),
        Column(H["lost_contact"], lambda h: words.yes_no(h["lost_contact"])),
        Column(H["released_prisoner"], lambda h: words.yes_no(h["released_prisoner"])),
        Column(H["special_notes"], lambda h: h["special_notes"]),
    ]


def member_ledger_columns(full: bool) -> list[Column]:
    """成员台账. Rows are ``selectors.member_list`` members (household and village selected)."""
    id_number = (lambda v: v) if full else mask_id_number
    words = _Words()
    sex, relationship, political = _labels(Sex), _labels(Relationship), _labels(PoliticalStatus)
    education, schooling, skill = _labels(Education), _labels(Schooling), _labels(LabourSkill)
    work, insurance = _labels(WorkStatus), _labels(MedicalInsurance)

    return [
        Column(M["household"], lambda m: m.household.number, text=True),
        Column(_("村"), lambda m: m.household.village.name),
        Column(H["group_no"], lambda m: m.household.group_no),
        Column(M["name"], lambda m: m.name),
        Column(M["id_number"], lambda m: id_number(m.id_number), text=True),
        Column(_("性别"), lambda m: sex.get(m.sex, "")),
        # Text, not a date cell: a ledger is read and printed, and "1972-04-11" reads the
        # same in every locale's Excel.
        Column(_("出生日期"), lambda m: m.birth_date.isoformat()),
        Column(M["relationship"], lambda m: relationship.get(m.relationship, "")),
        Column(M["ethnicity"], lambda m: m.ethnicity),
        Column(M["political_status"], lambda m: political.get(m.political_status, "")),
        Column(M["education"], lambda m: education.get(m.education, "")),
        Column(M["schooling"], lambda m: schooling.get(m.schooling, "")),
        # 健康状况 as the template has it: one 是/否 column per condition (健康 is none).
        Column(M["has_chronic_disease"], lambda m: words.yes_no(m.has_chronic_disease)),
        Column(M["has_serious_illness"], lambda m: words.yes_no(m.has_serious_illness)),
        Column(M["is_disabled"], lambda m: words.yes_no(m.is_disabled)),
        Column(M["disability_category"], lambda m: m.disability_category),
        Column(M["disability_grade"], lambda m: m.disability_grade),
        Column(M["labour_skill"], lambda m: skill.get(m.labour_skill, "")),
        Column(M["work_status"], lambda m: work.get(m.work_status, "")),
        Column(M["work_place"], lambda m: m.work_place),
        Column(M["work_months"], lambda m: m.work_months),
        Column(M["employer"], lambda m: m.employer),
        Column(M["medical_insurance"], lambda m: insurance.get(m.medical_insurance, "")),
        Column(M["critical_illness_insurance"], lambda m: words.yes_no(m.critical_illness_insurance)),
        Column(M["family_doctor"], lambda m: words.yes_no(m.family_doctor)),
        Column(M["is_dibao"], lambda m: words.yes_no(m.is_dibao)),
        Column(M["is_tekun"], lambda m: words.yes_no(m.is_tekun)),
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
