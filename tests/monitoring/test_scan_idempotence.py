"""The monitoring scans run again and again (monitoring/scans.py, monitoring/tasks.py, issue 6):
running every scan twice gives the same rows as running it once; a finding is never
recorded twice, whatever became of its case; two overlapping runs of the task do not double
the work (the second finds the lock held and skips); and the scan's number of queries does
not grow with the number of watched households.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.locks import acquire, release
from core.models import TaskLock
from households.models import WaterAssessment
from monitoring import services
from monitoring.models import Finding, MonitoringCase, RigidExpense, Stage
from monitoring.scans import FindingSpec, at_risk_scan, response_overdue_scan
from monitoring.tasks import at_risk_scan_task
from notifications.models import Alert
from tests.conftest import VILLAGE_A, VILLAGE_A2, VILLAGE_B
from tests.factories import MemberFactory
from tests.monitoring.conftest import D, dangerous_house, exited, go_to, income, kinds, report, snapshot, uninsured

pytestmark = pytest.mark.django_db

NOTHING = {"findings": 0, "opened": 0, "joined": 0}
TRIGGERS = {"income_low", "income_drop", "rigid_spending", "housing", "school", "uninsured", "water"}


def at_risk(village=None):
    """An exited household that pulls every trigger: income down from 10,000 to 4,000 per
    person, 25,000 of medical bills against 20,000 of net income the year before, a D-grade
    house, a 12-year-old out of school, an uninsured member and unsafe water."""
    household = exited(village) if village else exited()
    income(household, 10000, year=2019)
    income(household, 4000)
    RigidExpense.objects.create(household=household, year=2020, kind="illness", amount=Decimal("25000"))
    dangerous_house(household)
    MemberFactory(
        household=household, relationship="daughter", birth_date=D(2008, 5, 1), education="primary", schooling="",
        labour_skill="none",
    )  # fmt: skip
    uninsured(household)
    WaterAssessment.objects.create(
        household=household, assessed_on=D(2020, 9, 1), quality_ok=False, litres_per_person_day=Decimal("60"),
        piped_to_house=True, reliability_percent=Decimal("98"),
    )  # fmt: skip
    return household


@pytest.fixture
def world(clock, alice, tom, carol):
    """Three households at risk in three villages; the one of village A already reported by
    its cadre (its findings join that case)."""
    households = [at_risk(), at_risk(VILLAGE_A2), at_risk(VILLAGE_B)]
    report(alice, households[0], risk_types=["disaster"], description="山体滑坡")
    return households


def test_the_scan_finds_every_trigger_of_every_household(world):
    assert at_risk_scan() == {"findings": 21, "opened": 2, "joined": 1}
    for household in world:
        assert kinds(household) == TRIGGERS | ({"self"} if household == world[0] else set())
    assert MonitoringCase.objects.filter(stage=Stage.SCREENING).count() == 3


def test_running_the_scan_twice_gives_the_same_rows_as_once(world):
    at_risk_scan()
    once = snapshot()

    assert at_risk_scan() == NOTHING

    assert snapshot() == once


def test_a_finding_is_never_recorded_twice_whatever_became_of_its_case(world, clock, carol):
    at_risk_scan()
    cases = list(MonitoringCase.objects.all())
    for case in cases:
        services.case_decide(by=carol, case=case, confirm=False, reason="经核实不属于")
    go_to(D(2020, 11, 20), clock)
    once = snapshot()

    assert at_risk_scan() == NOTHING

    assert snapshot() == once
    assert not MonitoringCase.objects.filter(stage__in=["screening", "assessment", "assistance"]).exists()


def test_a_new_finding_of_a_later_appraisal_is_recorded_once(world):
    at_risk_scan()
    household = world[1]
    newer = dangerous_house(household, "C", on=D(2020, 10, 1))

    assert at_risk_scan() == {"findings": 1, "opened": 0, "joined": 1}
    assert at_risk_scan() == NOTHING
    assert Finding.objects.filter(key=f"housing:{newer.pk}").count() == 1


def test_the_same_finding_twice_in_one_call_is_recorded_once(clock, alice):
    household = exited()
    spec = FindingSpec(f"sector:{household.pk}:2020:medical", household.pk, "illness", "医保部门比对：未参保")

    result = services.findings_record([spec, spec], channel="sector")

    assert result == {"findings": 1, "opened": 1, "joined": 0}
    assert services.findings_record([spec], channel="sector") == NOTHING
    assert Finding.objects.get().key == spec.key
    assert MonitoringCase.objects.get().channel == "sector"


def test_running_the_response_scan_twice_gives_the_same_rows_as_once(world, clock, carol):
    at_risk_scan()
    go_to(D(2020, 10, 28), clock)
    first = response_overdue_scan()
    assert (first["raised"], first["open"]) == (3, 3)
    once = snapshot()

    assert response_overdue_scan() == {"raised": 0, "reopened": 0, "cleared": 0, "open": 3}

    assert snapshot() == once


def test_the_task_run_twice_is_the_scans_run_once(world, clock):
    go_to(D(2020, 10, 12), clock)
    first = at_risk_scan_task.apply().get()
    assert first["findings"] == {"findings": 21, "opened": 2, "joined": 1}
    go_to(D(2020, 10, 28), clock)  # the reported case (10-12) and the found ones are late
    second = at_risk_scan_task.apply().get()
    assert second["findings"] == NOTHING
    assert second["responses"]["raised"] == 3
    once = snapshot()

    again = at_risk_scan_task.apply().get()

    assert again == {"findings": NOTHING, "responses": {"raised": 0, "reopened": 0, "cleared": 0, "open": 3}}
    assert snapshot() == once


def test_a_run_that_finds_another_one_in_progress_does_nothing(world):
    other = acquire("monitoring.at_risk_scan", ttl=datetime.timedelta(hours=2))
    before = snapshot()

    skipped = at_risk_scan_task.apply().get()
    assert skipped["skipped"] is True and f"another run holds the lease ({other}" in skipped["reason"]

    assert snapshot() == before
    assert not Finding.objects.filter(channel="system").exists()
    assert TaskLock.objects.get().holder == other  # the running scan keeps its lock

    release("monitoring.at_risk_scan", other)
    result = at_risk_scan_task.apply().get()
    assert result["findings"]["findings"] == 21
    assert not TaskLock.objects.exists()  # released after the run


def test_an_expired_lock_of_a_crashed_run_does_not_block_the_scan(world, clock):
    acquire("monitoring.at_risk_scan", ttl=datetime.timedelta(hours=2))
    clock.shift(1)  # the crashed holder's lock has expired
    assert at_risk_scan_task.apply().get()["findings"]["opened"] == 2
    assert not TaskLock.objects.exists()


# --- queries -------------------------------------------------------------------------------------


def test_the_scan_does_the_same_number_of_queries_for_3_and_15_households(clock, alice):
    """Each round adds households pulling every trigger, a third of them reported first
    (their findings join a case): the first round 3, the second 15."""
    villages = [VILLAGE_A, VILLAGE_A2, VILLAGE_B]

    def round_of(count) -> int:
        households = [at_risk(villages[i % 3]) for i in range(count)]
        for household in households[::3]:
            report(alice, household, risk_types=["disaster"], description="山体滑坡")
        with CaptureQueriesContext(connection) as captured:
            result = at_risk_scan()
        assert result == {"findings": 7 * count, "opened": count - count // 3, "joined": count // 3}
        return len(captured)

    with_3 = round_of(3)
    with_15 = round_of(15)

    if connection.vendor == "postgresql":
        assert with_15 == with_3
    else:  # SQLite splits only lists longer than the chunk; never a query per household
        assert with_15 < with_3 + (15 - 3)


def test_the_response_scan_does_the_same_number_of_queries_for_3_and_15_cases(clock, alice):
    def round_of(count, day) -> int:
        for i in range(count):
            household = exited([VILLAGE_A, VILLAGE_A2, VILLAGE_B][i % 3])
            income(household, 4000)
        at_risk_scan()
        go_to(day, clock)
        with CaptureQueriesContext(connection) as captured:
            result = response_overdue_scan()
        assert result["raised"] == count
        return len(captured)

    with_3 = round_of(3, D(2020, 10, 28))
    with_15 = round_of(15, D(2020, 11, 20))
    assert Alert.objects.filter(cleared_at__isnull=True).count() == 18
    if connection.vendor == "postgresql":
        assert with_15 == with_3
    else:
        assert with_15 < with_3 + (15 - 3)
