"""Monitoring fixtures and helpers (DOMAIN.md §5, issue 6).

The exit-case fixtures come from ``tests/exits/conftest.py``: ``clock`` (2020-10-12,
Asia/Shanghai, frozen), ``campaign`` and ``certifiers``; ``ready_household`` builds a
household meeting all five criteria with a 2020 income of exactly 6,000 per person
(two people), which is exactly the default monitoring line 4,000 × 1.5 — not below it.

The household's head (born 1980, ordinary labour) is of working age; the son (born
2010-03-01) is at primary school.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from households.models import ExitStatus, HousingAppraisal, IncomeRecord, MedicalInsurance
from monitoring import services
from monitoring.models import OPEN_STAGES, Finding, Measure, MonitoringCase, MonitoringSettings, ResponsibleUnit
from monitoring.services import MonitoringError
from tests.exits.conftest import campaign, certifiers, clock, ready_household  # noqa: F401 - shared fixtures

D = datetime.date
TODAY = D(2020, 10, 12)
LINE = Decimal("6000.00")


def exited(village=None, **fields):
    """An exited (2019) household meeting every criterion, 6,000 per person in 2020."""
    kwargs = {"exit_status": ExitStatus.EXITED, "exit_year": 2019, **fields}
    return ready_household(village, **kwargs) if village else ready_household(**kwargs)


def poor(village=None, **fields):
    """A household not yet exited (not watched by the scan unless monitored as marginal)."""
    return ready_household(village, **fields) if village else ready_household(**fields)


def income(household, per_capita, year=2020, population=2):
    """Set the household's ``year`` income so that it is ``per_capita`` per person."""
    IncomeRecord.objects.update_or_create(
        household=household,
        year=year,
        defaults={"population": population, "wage_income": Decimal(str(per_capita)) * population},
    )


def low_income(household):
    """Below the default line: 4,500 per person in 2020."""
    income(household, 4500)


def uninsured(household, name="王大妈"):
    from tests.factories import MemberFactory

    return MemberFactory(
        household=household,
        relationship="mother",
        name=name,
        birth_date=D(1950, 1, 1),
        labour_skill="none",
        medical_insurance=MedicalInsurance.UNINSURED,
    )


def dangerous_house(household, grade="D", on=None):
    return HousingAppraisal.objects.create(
        household=household, grade=grade, appraised_on=on or D(2020, 9, 1), appraising_unit="汉滨区住建局"
    )


def rules(**changes) -> MonitoringSettings:
    """Change the monitoring thresholds (data, not code)."""
    current = MonitoringSettings.current()
    for name, value in changes.items():
        setattr(current, name, value)
    current.save()
    return current


def keys(household=None) -> set[str]:
    """The keys of every finding (of ``household``), without the household id."""
    findings = Finding.objects.all()
    if household is not None:
        findings = findings.filter(case__household=household)
    return set(findings.values_list("key", flat=True))


def kinds(household) -> set[str]:
    """The kinds of finding a household has, e.g. {"income_low", "housing"}."""
    return {key.split(":")[0] for key in keys(household)}


def open_case(household) -> MonitoringCase:
    return MonitoringCase.objects.get(household=household, stage__in=OPEN_STAGES)


def refusal(call, *args, **kwargs) -> MonitoringError:
    """The ``MonitoringError`` that ``call`` raises (the test fails if it raises nothing)."""
    with pytest.raises(MonitoringError) as caught:
        call(*args, **kwargs)
    return caught.value


def report(by, household, risk_types=("illness",), channel="self", description="户主突发重病，医疗支出大"):
    return services.case_report(
        by=by, household=household, channel=channel, risk_types=list(risk_types), description=description
    )


def submitted(case, by, note="入户排查属实"):
    return services.case_submit(by=by, case=case, note=note)


def confirmed(case, by, reason="确认为监测对象"):
    return services.case_decide(by=by, case=case, confirm=True, reason=reason)


def assisted(household, *, cadre, county, units=True, measure="employment", done=False):
    """A self-declared case of ``household`` confirmed by the county (精准帮扶), with one
    lead unit and one ``measure`` (None: no measure), done if ``done``."""
    case = confirmed(submitted(report(cadre, household), cadre), county)
    if units:
        services.units_set(by=cadre, case=case, units=[{"unit": "镇人社站", "person": "张三", "is_lead": True}])
    if measure:
        m = services.measure_add(
            by=cadre,
            case=case,
            data={"type": measure, "content": "推荐就近务工", "responsible_person": "张三", "due_on": "2020-11-30"},
        )
        if done:
            services.measure_done(by=cadre, measure=m)
    case.refresh_from_db()
    return case


def snapshot() -> dict[str, list]:
    """Every monitoring, alert and notification row with every column: two equal
    snapshots mean nothing changed in between."""
    from notifications.models import Alert, Notification

    return {
        "cases": list(MonitoringCase.objects.order_by("pk").values()),
        "case_history": list(MonitoringCase.history.order_by("pk").values("history_id", "id", "stage", "risk_types")),
        "findings": list(Finding.objects.order_by("pk").values()),
        "units": list(ResponsibleUnit.objects.order_by("pk").values()),
        "measures": list(Measure.objects.order_by("pk").values()),
        "alerts": list(Alert.objects.order_by("pk").values()),
        "notifications": list(Notification.objects.order_by("pk").values()),
    }


def go_to(day: datetime.date, traveller) -> None:
    """Move the ``clock`` fixture (``traveller``) to 10:00 on ``day``."""
    traveller.shift((day - timezone.localdate()).days)
