"""The five exit criteria measured from the registry (DOMAIN.md §3).

``measure(case, household_data)`` returns, per criterion, the result the registry
supports (达标 / 未达标 / 待认定 when the data is missing), the measured values and, when
not met, the reasons — naming the member who fails. ``household_data`` is loaded once
for many cases by ``load_registry_data`` so measuring a whole village is a handful
of queries.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from exits.models import Campaign, Criterion, CriterionResult
from households.idnumbers import age_on
from households.models import HousingAppraisal, IncomeRecord, MedicalInsurance, Member, Schooling, WaterAssessment

NOT_ENROLLED = {"", Schooling.PRESCHOOL_AGE}


@dataclass
class Measurement:
    result: str
    measured: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@dataclass
class RegistryData:
    members: list[Member] = field(default_factory=list)
    income: IncomeRecord | None = None
    housing: HousingAppraisal | None = None
    water: WaterAssessment | None = None


def load_registry_data(household_ids: list[int], *, year: int) -> dict[int, RegistryData]:
    """Members, the income record of ``year`` and the latest housing and water records
    of each household: four queries whatever the number of households."""
    data: dict[int, RegistryData] = defaultdict(RegistryData)
    for member in Member.objects.filter(household_id__in=household_ids).order_by("household_id", "pk"):
        data[member.household_id].members.append(member)
    for record in IncomeRecord.objects.filter(household_id__in=household_ids, year=year):
        data[record.household_id].income = record
    # Latest first: the first one seen per household is the one that counts.
    for appraisal in HousingAppraisal.objects.filter(household_id__in=household_ids).order_by(
        "household_id", "-appraised_on", "-pk"
    ):
        data[appraisal.household_id].housing = data[appraisal.household_id].housing or appraisal
    for assessment in WaterAssessment.objects.filter(household_id__in=household_ids).order_by(
        "household_id", "-assessed_on", "-pk"
    ):
        data[assessment.household_id].water = data[assessment.household_id].water or assessment
    return data


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def measure_income(campaign: Campaign, data: RegistryData) -> Measurement:
    record = data.income
    line = campaign.income_line
    if record is None:
        return Measurement(
            CriterionResult.PENDING,
            {"year": campaign.year, "line": _money(line)},
            [_("缺少%(y)d年度收入台账。") % {"y": campaign.year}],
        )
    per_capita = record.per_capita
    measured = {"year": record.year, "per_capita": _money(per_capita), "line": _money(line)}
    if per_capita > line:
        return Measurement(CriterionResult.MET, measured)
    return Measurement(
        CriterionResult.NOT_MET,
        measured,
        [
            _("%(y)d年家庭人均纯收入%(v)s元，未超过当年标准%(line)s元。")
            % {"y": record.year, "v": _money(per_capita), "line": _money(line)}
        ],
    )


def measure_housing(campaign: Campaign, data: RegistryData) -> Measurement:
    appraisal = data.housing
    if appraisal is None:
        return Measurement(CriterionResult.PENDING, {}, [_("缺少住房安全鉴定记录。")])
    measured = {
        "grade": appraisal.grade,
        "appraised_on": appraisal.appraised_on.isoformat(),
        "outcome": appraisal.outcome,
    }
    if appraisal.is_safe:
        return Measurement(CriterionResult.MET, measured)
    return Measurement(
        CriterionResult.NOT_MET,
        measured,
        [_("住房鉴定为%(g)s级危房，尚无改造验收、搬迁入住或其他安全住房安排。") % {"g": appraisal.grade}],
    )


def school_reference_date(campaign: Campaign) -> datetime.date:
    """Ages are taken on the day of measuring: the registry describes the household as
    it is now, and the check is redone whenever a case is measured again."""
    return timezone.localdate()


def measure_education(campaign: Campaign, data: RegistryData, *, home_taught: set[int] = frozenset()) -> Measurement:
    on = school_reference_date(campaign)
    low, high = campaign.school_age_min, campaign.school_age_max
    of_age = [m for m in data.members if low <= age_on(m.birth_date, on) <= high]
    out = [m for m in of_age if m.schooling in NOT_ENROLLED and m.pk not in home_taught]
    measured = {"age_range": [low, high], "of_age": len(of_age), "home_taught": sorted(home_taught)}
    if not out:
        return Measurement(CriterionResult.MET, measured)
    return Measurement(
        CriterionResult.NOT_MET,
        measured,
        [
            _("%(name)s（%(age)d周岁）处于义务教育阶段但未在校。") % {"name": m.name, "age": age_on(m.birth_date, on)}
            for m in out
        ],
    )


def measure_medical(campaign: Campaign, data: RegistryData) -> Measurement:
    failures = []
    for member in data.members:
        if member.medical_insurance == MedicalInsurance.UNINSURED:
            failures.append(_("%(name)s未参加基本医疗保险。") % {"name": member.name})
        if not member.critical_illness_insurance:
            failures.append(_("%(name)s未参加大病保险。") % {"name": member.name})
    measured = {
        "members": len(data.members),
        "family_doctor": sum(1 for m in data.members if m.family_doctor),
    }
    if not data.members:
        return Measurement(CriterionResult.PENDING, measured, [_("该户没有登记成员。")])
    return Measurement(CriterionResult.NOT_MET if failures else CriterionResult.MET, measured, failures)


def measure_water(campaign: Campaign, data: RegistryData) -> Measurement:
    assessment = data.water
    if assessment is None:
        return Measurement(CriterionResult.PENDING, {}, [_("缺少饮水安全评估记录。")])
    measured = {
        "assessed_on": assessment.assessed_on.isoformat(),
        "quality_ok": assessment.quality_ok,
        "litres_per_person_day": str(assessment.litres_per_person_day),
        "piped_to_house": assessment.piped_to_house,
        "round_trip_minutes": assessment.round_trip_minutes,
        "reliability_percent": str(assessment.reliability_percent),
    }
    failures = []
    if not assessment.quality_ok:
        failures.append(_("水质不达标。"))
    if not assessment.quantity_ok:
        failures.append(_("水量不足每人每天20升。"))
    if not assessment.convenience_ok:
        failures.append(_("未通自来水入户且取水往返超过20分钟。"))
    if not assessment.reliability_ok:
        failures.append(_("供水保证率低于95%。"))
    return Measurement(CriterionResult.NOT_MET if failures else CriterionResult.MET, measured, failures)


def measure(campaign: Campaign, data: RegistryData, *, home_taught: set[int] = frozenset()) -> dict[str, Measurement]:
    return {
        Criterion.INCOME: measure_income(campaign, data),
        Criterion.HOUSING: measure_housing(campaign, data),
        Criterion.EDUCATION: measure_education(campaign, data, home_taught=home_taught),
        Criterion.MEDICAL: measure_medical(campaign, data),
        Criterion.WATER: measure_water(campaign, data),
    }


# What each key of ``CriterionCheck.measured`` means, for people reading a lapse note
# or the history (never raw Python values).
MEASURED_LABELS = {
    "year": _lazy("收入年度"),
    "per_capita": _lazy("人均纯收入"),
    "line": _lazy("收入标准"),
    "grade": _lazy("住房鉴定等级"),
    "appraised_on": _lazy("鉴定日期"),
    "outcome": _lazy("改造或搬迁结果"),
    "age_range": _lazy("义务教育年龄"),
    "of_age": _lazy("义务教育阶段人数"),
    "home_taught": _lazy("送教上门成员"),
    "members": _lazy("成员数"),
    "family_doctor": _lazy("家庭医生签约人数"),
    "assessed_on": _lazy("评估日期"),
    "quality_ok": _lazy("水质达标"),
    "litres_per_person_day": _lazy("每人每天水量（升）"),
    "piped_to_house": _lazy("自来水入户"),
    "round_trip_minutes": _lazy("取水往返时间（分钟）"),
    "reliability_percent": _lazy("供水保证率（%）"),
}


def measured_label(key: str) -> str:
    return str(MEASURED_LABELS.get(key, key))


def measured_value(value) -> str:
    """One measured value as a person reads it (no Python literals)."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if isinstance(value, list):
        return (
            "–".join(map(str, value))
            if len(value) == 2 and all(isinstance(v, int) for v in value)
            else "、".join(map(str, value))
        )
    if isinstance(value, dict):
        return describe_measured(value)
    return str(value)


def describe_measured(measured: dict | None) -> str:
    """ "人均纯收入 5210.00；收入标准 4000.00": a measurement for the history panel."""
    if not measured:
        return "—"
    return "；".join(f"{measured_label(key)} {measured_value(value)}" for key, value in measured.items())
