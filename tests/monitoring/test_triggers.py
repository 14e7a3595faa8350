"""系统监测 (monitoring/scans.py, DOMAIN.md §5): every trigger of the automatic scan at its
threshold, the thresholds as data, which households are watched, and what a finding
opens — a candidate (全面排查) with its category and response deadline, or a join to the
household's open case.

Defaults: monitoring line 4,000 × 1.5 = 6,000 per person; a sharp drop is more than 30%;
rigid spending above 1.0 × the previous year's net income; respond within 15 days. The
clock is 2020-10-12; ``ready_household`` has 6,000 per person in 2020 (on the line).
"""

import datetime
from decimal import Decimal

import pytest

from households.models import ExitStatus, HousingAppraisal, Schooling, WaterAssessment
from monitoring.models import Finding, MonitoringCase, RigidExpense, RiskType, Stage
from monitoring.scans import at_risk_scan, criteria_findings, watched_households
from tests.factories import MemberFactory
from tests.monitoring.conftest import (
    D,
    dangerous_house,
    exited,
    income,
    kinds,
    low_income,
    open_case,
    poor,
    report,
    rules,
    uninsured,
)

pytestmark = pytest.mark.django_db

NOTHING = {"findings": 0, "opened": 0, "joined": 0}


@pytest.fixture(autouse=True)
def _village(clock, regions):
    """Every test runs on 2020-10-12 with the region tree loaded."""


def finding(household, kind: str) -> Finding:
    return Finding.objects.get(case__household=household, key__startswith=f"{kind}:")


def test_an_exited_household_meeting_every_criterion_on_the_line_is_not_found():
    exited()
    assert at_risk_scan() == NOTHING
    assert not MonitoringCase.objects.exists()


# --- income below the monitoring line ---------------------------------------------------------


@pytest.mark.parametrize(("per_capita", "found"), [("5999.99", True), ("6000.00", False), ("4500", True)])
def test_income_below_the_monitoring_line_is_a_finding(per_capita, found):
    household = exited()
    income(household, Decimal(per_capita))

    at_risk_scan()

    assert kinds(household) == ({"income_low"} if found else set())
    if found:
        row = finding(household, "income_low")
        assert row.key == f"income_low:{household.pk}:2020"
        assert (row.risk_type, row.channel) == (RiskType.OTHER, "system")
        assert row.detail == f"2020年人均纯收入{Decimal(per_capita):.2f}元，低于监测线6000.00元。"


def test_the_monitoring_line_is_data_base_line_times_factor():
    household = exited()  # 6,000 per person
    rules(line_factor=Decimal("1.6"))  # 6,400
    at_risk_scan()
    assert kinds(household) == {"income_low"}
    assert "低于监测线6400.00元" in finding(household, "income_low").detail


def test_a_lower_line_stops_the_trigger():
    household = exited()
    income(household, 5000)
    rules(base_line=Decimal("4000"), line_factor=Decimal("1.2"))  # 4,800
    assert at_risk_scan() == NOTHING
    rules(base_line=Decimal("4200"))  # 5,040
    assert at_risk_scan()["opened"] == 1
    assert kinds(household) == {"income_low"}


def test_the_income_of_the_latest_ledger_year_counts():
    household = exited()
    income(household, 3000, year=2019)  # low in 2019, fine in 2020
    assert at_risk_scan() == NOTHING


def test_one_household_entering_next_years_income_does_not_hide_everyone_elses():
    low = exited()
    low_income(low)
    early = exited()
    income(early, 8000, year=2021)

    at_risk_scan()

    assert kinds(low) == {"income_low"}


# --- sharp drop --------------------------------------------------------------------------------


@pytest.mark.parametrize(("now", "found"), [("6900", True), ("7000", False), ("9000", False)])
def test_a_drop_of_more_than_30_percent_is_a_finding(now, found):
    household = exited()
    income(household, 10000, year=2019)
    income(household, Decimal(now))  # above the line either way

    at_risk_scan()

    assert kinds(household) == ({"income_drop"} if found else set())
    if found:
        row = finding(household, "income_drop")
        assert row.key == f"income_drop:{household.pk}:2020"
        assert row.risk_type == RiskType.UNSTABLE_WORK
        assert row.detail == "2020年人均纯收入6900.00元，比上年10000.00元下降31%。"


def test_the_drop_threshold_is_data():
    household = exited()
    income(household, 10000, year=2019)
    income(household, 7500)  # -25%
    assert at_risk_scan() == NOTHING
    rules(income_drop_percent=20)
    at_risk_scan()
    assert kinds(household) == {"income_drop"}


def test_a_drop_below_the_line_is_two_findings_of_one_case():
    household = exited()
    income(household, 10000, year=2019)
    income(household, 4000)

    assert at_risk_scan() == {"findings": 2, "opened": 1, "joined": 0}

    case = open_case(household)
    assert case.risk_types == [RiskType.OTHER, RiskType.UNSTABLE_WORK]
    assert case.description.count("2020年人均纯收入4000.00元") == 2


def test_no_income_the_year_before_is_no_drop():
    household = exited()
    income(household, 0, year=2019)
    income(household, 6500)
    assert at_risk_scan() == NOTHING


# --- rigid spending -----------------------------------------------------------------------------


def spend(household, amount, kind="illness", year=2020):
    return RigidExpense.objects.create(household=household, year=year, kind=kind, amount=Decimal(str(amount)))


@pytest.mark.parametrize(("amounts", "found"), [(["12000.01"], True), (["12000"], False), (["8000", "4000.01"], True)])
def test_rigid_spending_above_the_previous_years_net_income_is_a_finding(amounts, found):
    household = exited()
    income(household, 6000, year=2019)  # net 12,000 for two people
    for amount in amounts:
        spend(household, amount)

    at_risk_scan()

    assert kinds(household) == ({"rigid_spending"} if found else set())
    if found:
        row = finding(household, "rigid_spending")
        assert row.key == f"rigid_spending:{household.pk}:2020"
        total = sum(Decimal(a) for a in amounts)
        assert row.detail == f"2020年刚性支出{total:.2f}元，超过上年家庭纯收入12000.00元。"


def test_the_spending_ratio_is_data():
    household = exited()
    income(household, 6000, year=2019)
    spend(household, 7000)
    assert at_risk_scan() == NOTHING
    rules(rigid_spending_ratio=Decimal("0.5"))  # 6,000
    at_risk_scan()
    assert kinds(household) == {"rigid_spending"}


@pytest.mark.parametrize(
    ("kind", "risk"),
    [
        ("illness", RiskType.ILLNESS),
        ("disability", RiskType.DISABILITY),
        ("disaster", RiskType.DISASTER),
        ("epidemic", RiskType.EPIDEMIC),
    ],
)
def test_the_kind_of_spending_is_the_risk_type(kind, risk):
    household = exited()
    income(household, 6000, year=2019)
    spend(household, 20000, kind=kind)
    at_risk_scan()
    assert finding(household, "rigid_spending").risk_type == risk
    assert open_case(household).risk_types == [risk]


def test_the_largest_kind_of_spending_names_the_risk():
    household = exited()
    income(household, 6000, year=2019)
    spend(household, 10000, kind="illness")
    spend(household, 3000, kind="disaster")

    at_risk_scan()

    assert finding(household, "rigid_spending").risk_type == RiskType.ILLNESS


def test_spending_of_other_households_does_not_add_up():
    one, two = exited(), exited()
    for household in (one, two):
        income(household, 6000, year=2019)
        spend(household, 7000)
    assert at_risk_scan() == NOTHING


# --- the criteria failing again -------------------------------------------------------------------


@pytest.mark.parametrize("grade", ["C", "D"])
def test_a_house_appraised_c_or_d_without_an_outcome_is_a_finding(grade):
    household = exited()
    house = dangerous_house(household, grade)

    at_risk_scan()

    row = finding(household, "housing")
    assert row.key == f"housing:{house.pk}"
    assert (row.risk_type, row.detail) == (RiskType.HOUSING, f"住房鉴定为{grade}级危房。")


def test_a_c_d_house_made_safe_or_appraised_again_as_safe_is_not():
    renovated = exited()
    HousingAppraisal.objects.create(
        household=renovated, grade="D", appraised_on=D(2020, 9, 1), appraising_unit="住建局",
        outcome="renovated", outcome_date=D(2020, 10, 1),
    )  # fmt: skip
    reappraised = exited()
    dangerous_house(reappraised, "D", on=D(2020, 5, 1))  # before the grade A of 2020-06-01
    assert at_risk_scan() == NOTHING


def school_child(household, born, **fields):
    return MemberFactory(
        household=household,
        relationship="daughter",
        name=fields.pop("name", "王小花"),
        birth_date=born,
        labour_skill="none",
        **{"education": "", "schooling": Schooling.PRESCHOOL_AGE, **fields},
    )


@pytest.mark.parametrize(
    ("born", "found"),
    [
        (D(2014, 10, 12), True),  # 6 today
        (D(2014, 10, 13), False),  # 6 tomorrow
        (D(2004, 10, 13), True),  # 15, 16 tomorrow
        (D(2004, 10, 12), False),  # 16 today
    ],
)
def test_a_child_of_compulsory_school_age_out_of_school_is_a_finding(born, found):
    household = exited()
    child = school_child(household, born)

    at_risk_scan()

    assert kinds(household) == ({"school"} if found else set())
    if found:
        row = finding(household, "school")
        assert row.key == f"school:{child.pk}:2020"
        assert (row.risk_type, row.detail) == (RiskType.SCHOOLING, "王小花处于义务教育阶段但未在校。")


def test_a_child_who_left_school_is_out_of_school_and_one_at_school_is_not():
    dropped_out = exited()
    school_child(dropped_out, D(2007, 1, 1), education="primary", schooling="")
    at_school = exited()
    school_child(at_school, D(2007, 1, 1), schooling=Schooling.GRADE_7)

    at_risk_scan()

    assert kinds(dropped_out) == {"school"}
    assert kinds(at_school) == set()


def test_a_member_without_basic_medical_insurance_is_a_finding():
    household = exited()
    member = uninsured(household, name="王大妈")

    at_risk_scan()

    row = finding(household, "uninsured")
    assert row.key == f"uninsured:{member.pk}:2020"
    assert (row.risk_type, row.detail) == (RiskType.ILLNESS, "王大妈未参加基本医疗保险。")


def water(household, on=None, **changes):
    fields = {
        "quality_ok": True,
        "litres_per_person_day": Decimal("60"),
        "piped_to_house": True,
        "round_trip_minutes": None,
        "reliability_percent": Decimal("98"),
        **changes,
    }
    return WaterAssessment.objects.create(household=household, assessed_on=on or D(2020, 9, 1), **fields)


@pytest.mark.parametrize(
    ("changes", "found"),
    [
        ({"quality_ok": False}, True),
        ({"litres_per_person_day": Decimal("19.9")}, True),
        ({"litres_per_person_day": Decimal("20")}, False),
        ({"reliability_percent": Decimal("94.9")}, True),
        ({"reliability_percent": Decimal("95")}, False),
        ({"piped_to_house": False, "round_trip_minutes": 21}, True),
        ({"piped_to_house": False, "round_trip_minutes": 20}, False),
    ],
)
def test_water_below_any_of_the_four_indicators_is_a_finding(changes, found):
    household = exited()
    assessment = water(household, **changes)

    at_risk_scan()

    assert kinds(household) == ({"water"} if found else set())
    if found:
        row = finding(household, "water")
        assert row.key == f"water:{assessment.pk}"
        assert (row.risk_type, row.detail) == (RiskType.WATER, "饮水安全评估不达标。")


def test_only_the_latest_water_assessment_counts():
    fixed = exited()
    water(fixed, on=D(2020, 3, 1), quality_ok=False)  # before the safe one of 06-01
    assert at_risk_scan() == NOTHING


def test_the_scan_runs_on_the_29th_of_february():
    household = exited()
    school_child(household, D(2012, 3, 1))
    found = criteria_findings(watched_households().values("pk"), today=datetime.date(2024, 2, 29))
    assert [f.household_id for f in found] == [household.pk]


# --- who is watched ----------------------------------------------------------------------------


def test_the_scan_watches_exited_households_not_the_poor_still_to_exit():
    still_poor = poor()
    low_income(still_poor)
    uninsured(still_poor)
    relapsed = exited()
    low_income(relapsed)

    assert at_risk_scan() == {"findings": 1, "opened": 1, "joined": 0}
    assert kinds(still_poor) == set()
    assert kinds(relapsed) == {"income_low"}


def test_a_marginal_household_already_monitored_is_watched_and_its_findings_join_its_case(alice):
    marginal = poor()
    case = report(alice, marginal, risk_types=["illness"])
    assert case.category == "marginal"
    low_income(marginal)

    assert at_risk_scan() == {"findings": 1, "opened": 0, "joined": 1}

    case.refresh_from_db()
    assert case.risk_types == [RiskType.ILLNESS, RiskType.OTHER]
    assert case.findings.count() == 2
    assert MonitoringCase.objects.count() == 1


# --- what a finding opens ------------------------------------------------------------------------


def test_a_new_finding_opens_a_candidate_in_screening_with_its_deadline():
    household = exited()
    low_income(household)
    uninsured(household)

    assert at_risk_scan() == {"findings": 2, "opened": 1, "joined": 0}

    case = open_case(household)
    assert (case.stage, case.channel, case.category) == (Stage.SCREENING, "system", "unstable")
    assert case.village_id == household.village_id
    assert case.discovered_on == D(2020, 10, 12)
    assert case.response_due == D(2020, 10, 27)  # 15 days
    assert case.risk_types == [RiskType.OTHER, RiskType.ILLNESS]
    assert case.created_by is None
    assert "低于监测线" in case.description and "未参加基本医疗保险" in case.description


def test_the_response_deadline_is_data(clock):
    rules(response_days=10)
    household = exited()
    low_income(household)
    at_risk_scan()
    assert open_case(household).response_due == D(2020, 10, 22)


@pytest.mark.parametrize(("status", "category"), [(ExitStatus.EXITED, "unstable"), (ExitStatus.NOT_EXITED, "marginal")])
def test_the_category_is_unstable_for_exited_households_and_marginal_otherwise(alice, status, category):
    household = exited() if status == ExitStatus.EXITED else poor()
    assert report(alice, household).category == category


def test_new_findings_join_the_open_case_with_risk_types_merged_up_to_five(alice):
    household = exited()
    case = report(alice, household, risk_types=["illness", "disability", "schooling", "disaster"])
    dangerous_house(household)  # housing
    uninsured(household)  # illness, already there
    water(household, quality_ok=False)  # water: a sixth type

    assert at_risk_scan() == {"findings": 3, "opened": 0, "joined": 1}

    case.refresh_from_db()
    assert case.risk_types == ["illness", "disability", "schooling", "disaster", "housing"]
    assert case.stage == Stage.SCREENING and case.channel == "self"
    assert case.findings.count() == 4 + 3
    assert MonitoringCase.objects.count() == 1


def test_a_household_whose_case_is_over_gets_a_new_case_for_a_new_finding(alice, carol):
    from monitoring import services

    household = exited()
    old = services.case_decide(by=carol, case=report(alice, household), confirm=False, reason="经核实不属于风险户")
    uninsured(household)

    assert at_risk_scan() == {"findings": 1, "opened": 1, "joined": 0}

    old.refresh_from_db()
    assert old.stage == Stage.DISMISSED
    new = open_case(household)
    assert new.pk != old.pk and new.risk_types == [RiskType.ILLNESS]


def test_households_of_every_village_are_scanned():
    from tests.conftest import OTHER_COUNTY_VILLAGE, VILLAGE_B

    households = [exited(), exited(VILLAGE_B), exited(OTHER_COUNTY_VILLAGE)]
    for household in households:
        low_income(household)
    assert at_risk_scan() == {"findings": 3, "opened": 3, "joined": 0}
    assert {c.village_id for c in MonitoringCase.objects.all()} == {h.village_id for h in households}
