"""系统监测: the automatic scan of DOMAIN.md §5's triggers over exited households (and
the marginal ones already monitored), opening a monitoring candidate for each new
finding — never twice for the same finding.

Each trigger is one set-based query: the number of queries is the same for 300 or
300,000 households.

- income: per-capita net income of the latest ledger year below the monitoring line
  (base line × factor);
- sharp drop: per-capita income fell by more than the threshold from the year before;
- rigid spending: the year's rigid spending above the previous year's net income × ratio;
- criteria failing again: house appraised C/D without a safe arrangement, a child of
  compulsory-school age out of school, a member without basic medical insurance,
  water below any of the four indicators.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.bulk import analyze
from households.models import (
    WATER_MAX_ROUND_TRIP_MINUTES,
    WATER_MIN_LITRES_PER_PERSON_DAY,
    WATER_MIN_RELIABILITY_PERCENT,
    ExitStatus,
    Household,
    HousingAppraisal,
    IncomeRecord,
    MedicalInsurance,
    Member,
    Schooling,
    WaterAssessment,
)
from monitoring.models import Category, Finding, MonitoringCase, MonitoringSettings, RigidExpense, RiskType

SCHOOL_AGE = (6, 15)


@dataclass(frozen=True)
class FindingSpec:
    key: str
    household_id: int
    risk_type: str
    detail: str


def _years_before(day: datetime.date, years: int) -> datetime.date:
    """The same day ``years`` earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _money(value) -> str:
    return f"{Decimal(value):.2f}"


def watched_households():
    """Exited households, and households already monitored as marginal (边缘易致贫户)."""
    marginal = MonitoringCase.objects.filter(category=Category.MARGINAL).values("household_id")
    return Household.objects.filter(Q(exit_status=ExitStatus.EXITED) | Q(pk__in=marginal))


def _net():
    return F("wage_income") + F("business_income") + F("property_income") + F("transfer_income") - F("business_expense")


def income_findings(rules: MonitoringSettings, watched) -> list[FindingSpec]:
    """Each household's latest ledger year, against the line and against the year before."""
    line = rules.monitoring_line
    latest = IncomeRecord.objects.filter(household_id=OuterRef("household_id")).order_by("-year").values("year")[:1]
    previous = IncomeRecord.objects.filter(
        household_id=OuterRef("household_id"), year=OuterRef("year") - 1
    ).with_per_capita()
    rows = (
        IncomeRecord.objects.filter(household__in=watched)
        .annotate(latest=Subquery(latest))
        .filter(year=F("latest"))
        .with_per_capita()
        .annotate(previous=Subquery(previous.values("per_capita_sql")[:1]))
        .values_list("household_id", "year", "per_capita_sql", "previous")
    )
    drop = Decimal(rules.income_drop_percent) / 100
    findings = []
    for household_id, year, per_capita, before in rows:
        if per_capita is not None and per_capita < line:
            findings.append(
                FindingSpec(
                    f"income_low:{household_id}:{year}",
                    household_id,
                    RiskType.OTHER,
                    _("%(y)d年人均纯收入%(v)s元，低于监测线%(line)s元。")
                    % {"y": year, "v": _money(per_capita), "line": _money(line)},
                )
            )
        if per_capita is not None and before and before > 0 and (before - per_capita) / before > drop:
            findings.append(
                FindingSpec(
                    f"income_drop:{household_id}:{year}",
                    household_id,
                    RiskType.UNSTABLE_WORK,
                    _("%(y)d年人均纯收入%(v)s元，比上年%(b)s元下降%(p)d%%。")
                    % {
                        "y": year,
                        "v": _money(per_capita),
                        "b": _money(before),
                        "p": int((before - per_capita) * 100 / before),
                    },
                )
            )
    return findings


def spending_findings(rules: MonitoringSettings, watched) -> list[FindingSpec]:
    """Each household's latest year of rigid spending against the year before's net income."""
    from monitoring.models import EXPENSE_RISK

    latest = RigidExpense.objects.filter(household_id=OuterRef("household_id")).order_by("-year").values("year")[:1]
    previous_net = IncomeRecord.objects.filter(
        household_id=OuterRef("household_id"), year=OuterRef("year") - 1
    ).annotate(net=ExpressionWrapper(_net(), output_field=DecimalField(max_digits=14, decimal_places=2)))
    expenses = (
        RigidExpense.objects.filter(household__in=watched).annotate(latest=Subquery(latest)).filter(year=F("latest"))
    )
    rows = (
        expenses.values("household_id", "year")
        .annotate(total=Sum("amount"), net=Subquery(previous_net.values("net")[:1]))
        .values_list("household_id", "year", "total", "net")
    )
    # dict() keeps the last row per household: the largest expense names the risk.
    kinds = dict(expenses.order_by("household_id", "amount").values_list("household_id", "kind"))
    findings = []
    for household_id, year, total, net in rows:
        if net is not None and total > net * rules.rigid_spending_ratio:
            findings.append(
                FindingSpec(
                    f"rigid_spending:{household_id}:{year}",
                    household_id,
                    EXPENSE_RISK.get(kinds.get(household_id), RiskType.OTHER),
                    _("%(y)d年刚性支出%(t)s元，超过上年家庭纯收入%(n)s元。")
                    % {"y": year, "t": _money(total), "n": _money(net)},
                )
            )
    return findings


def criteria_findings(watched, *, today: datetime.date) -> list[FindingSpec]:
    findings = []
    latest_appraisal = HousingAppraisal.objects.filter(household_id=OuterRef("household_id")).order_by(
        "-appraised_on", "-pk"
    )
    houses = (
        HousingAppraisal.objects.filter(household__in=watched, grade__in=["C", "D"], outcome="")
        .filter(pk=Subquery(latest_appraisal.values("pk")[:1]))
        .values_list("pk", "household_id", "grade")
    )
    for pk, household_id, grade in houses:
        findings.append(
            FindingSpec(f"housing:{pk}", household_id, RiskType.HOUSING, _("住房鉴定为%(g)s级危房。") % {"g": grade})
        )
    youngest = _years_before(today, SCHOOL_AGE[0])
    oldest = _years_before(today, SCHOOL_AGE[1] + 1) + datetime.timedelta(days=1)
    children = Member.objects.filter(
        household__in=watched,
        birth_date__gte=oldest,
        birth_date__lte=youngest,
        schooling__in=["", Schooling.PRESCHOOL_AGE],
    ).values_list("pk", "household_id", "name")
    for pk, household_id, name in children:
        findings.append(
            FindingSpec(
                f"school:{pk}:{today.year}",
                household_id,
                RiskType.SCHOOLING,
                _("%(name)s处于义务教育阶段但未在校。") % {"name": name},
            )
        )
    uninsured = Member.objects.filter(household__in=watched, medical_insurance=MedicalInsurance.UNINSURED)
    for pk, household_id, name in uninsured.values_list("pk", "household_id", "name"):
        findings.append(
            FindingSpec(
                f"uninsured:{pk}:{today.year}",
                household_id,
                RiskType.ILLNESS,
                _("%(name)s未参加基本医疗保险。") % {"name": name},
            )
        )
    latest_water = WaterAssessment.objects.filter(household_id=OuterRef("household_id")).order_by("-assessed_on", "-pk")
    unsafe = (
        WaterAssessment.objects.filter(household__in=watched)
        .filter(pk=Subquery(latest_water.values("pk")[:1]))
        .filter(
            Q(quality_ok=False)
            | Q(litres_per_person_day__lt=WATER_MIN_LITRES_PER_PERSON_DAY)
            | Q(reliability_percent__lt=WATER_MIN_RELIABILITY_PERCENT)
            | (Q(piped_to_house=False) & (Q(round_trip_minutes__gt=WATER_MAX_ROUND_TRIP_MINUTES)))
        )
        .values_list("pk", "household_id")
    )
    for pk, household_id in unsafe:
        findings.append(FindingSpec(f"water:{pk}", household_id, RiskType.WATER, _("饮水安全评估不达标。")))
    return findings


def at_risk_scan(*, today: datetime.date | None = None) -> dict[str, int]:
    """Run every trigger and open candidates for the new findings; returns counts."""
    from monitoring.services import findings_record

    today = today or timezone.localdate()
    rules = MonitoringSettings.current()
    watched = watched_households().values("pk")
    specs = [
        *income_findings(rules, watched),
        *spending_findings(rules, watched),
        *criteria_findings(watched, today=today),
    ]
    found = findings_record(specs, today=today)
    if found["findings"] >= settings.IMPORT_ANALYZE_ROWS:
        # A first scan over a loaded registry opens cases by the ten thousand.
        analyze(MonitoringCase, Finding)
    return found


def response_overdue_scan(*, today: datetime.date | None = None) -> dict[str, int]:
    """Candidates not yet decided by their response deadline (confirm within 15 days by
    default): an alert to the county, cleared once it decides."""
    from monitoring.models import Stage
    from notifications.models import AlertKind
    from notifications.services import AlertSpec, alerts_sync

    today = today or timezone.localdate()
    late = MonitoringCase.objects.filter(
        stage__in=[Stage.SCREENING, Stage.ASSESSMENT], response_due__lt=today
    ).values_list("pk", "village_id", "household__number", "response_due")
    specs = [
        AlertSpec(
            key=f"monitoring:{pk}:response",
            region_code=village,
            level="county",
            title=_("监测对象%(number)s已超过响应时限（%(due)s）仍未研判") % {"number": number, "due": due.isoformat()},
            link=f"/monitoring/{pk}/",
            due_on=due,
        )
        for pk, village, number, due in late
    ]
    return alerts_sync(AlertKind.MONITORING_RESPONSE, specs)
