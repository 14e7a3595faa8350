"""Data changes reach the case (issue 14; DOMAIN.md §3–4): every registry write to a
household with an open exit case re-measures its criteria in the same transaction, so a
sector certification of data that changed lapses at once — whichever service wrote it.

The 王 family of village A meets all five criteria in 2020 (tests/exits/conftest.py),
is enrolled by alice and certified by the five sector accounts.
"""

import datetime
from decimal import Decimal

import pytest

from exits import services as exit_services
from exits.models import Criterion
from households import services
from tests.conftest import VILLAGE_A
from tests.exits.conftest import campaign, certifiers, clock, ready_household  # noqa: F401 - fixtures
from tests.imports.workbooks import PUPIL, import_file, member, workbook

ALL = {Criterion.INCOME, Criterion.HOUSING, Criterion.EDUCATION, Criterion.MEDICAL, Criterion.WATER}


def enrolled(household, *, by, campaign, certifiers):  # noqa: F811 - the imported fixtures
    case = exit_services.case_enrol(by=by, campaign=campaign, household=household)
    for check in case.criteria.all():
        exit_services.criterion_certify(by=certifiers[check.criterion], check=check, note="数据比对一致")
    return case


def certified(case) -> set[str]:
    return {check.criterion for check in case.criteria.all() if check.certified_at is not None}


@pytest.fixture
def case(clock, campaign, certifiers, alice):  # noqa: F811 - the imported fixtures
    case = enrolled(ready_household(), by=alice, campaign=campaign, certifiers=certifiers)
    assert certified(case) == ALL
    return case


def test_a_lower_income_lapses_the_income_certification(alice, case):
    services.income_record_save(
        by=alice, household=case.household, year=2020, data={"population": 2, "wage_income": Decimal("1000")}
    )

    assert certified(case) == ALL - {Criterion.INCOME}
    income = case.criteria.get(criterion=Criterion.INCOME)
    assert "人均纯收入" in income.lapse_note and "500.00" in income.lapse_note


def test_a_d_grade_appraisal_lapses_the_housing_certification(alice, case):
    services.housing_appraisal_add(
        by=alice,
        household=case.household,
        data={"grade": "D", "appraised_on": datetime.date(2020, 10, 1), "appraising_unit": "汉滨区住建局"},
    )

    assert certified(case) == ALL - {Criterion.HOUSING}


def test_an_unsafe_water_assessment_lapses_the_water_certification(alice, case):
    services.water_assessment_add(
        by=alice,
        household=case.household,
        data={
            "assessed_on": datetime.date(2020, 10, 1),
            "quality_ok": False,
            "litres_per_person_day": Decimal("60"),
            "piped_to_house": True,
            "reliability_percent": Decimal("98"),
        },
    )

    assert certified(case) == ALL - {Criterion.WATER}


def test_a_member_edit_lapses_what_it_changed(alice, case):
    son = case.household.members.get(relationship="son")

    services.member_update(by=alice, member=son, data={"medical_insurance": "uninsured"})

    assert certified(case) == ALL - {Criterion.MEDICAL}


def test_a_transfer_re_measures_both_households(alice, campaign, certifiers, case):  # noqa: F811
    other = enrolled(
        ready_household(VILLAGE_A, head="李大山", son="李小山"), by=alice, campaign=campaign, certifiers=certifiers
    )
    son = case.household.members.get(relationship="son")

    services.member_transfer(by=alice, member=son, to_household=other.household, relationship="grandson", reason="过继")

    # One member fewer here, one more there: 基本医疗 counts the members it covers.
    assert Criterion.MEDICAL not in certified(case)
    assert Criterion.MEDICAL not in certified(other)


def test_an_import_that_changes_a_member_lapses_what_it_changed(alice, case):
    household = case.household
    son = household.members.get(relationship="son")
    uninsured = {**PUPIL, "在校生状况": "小学", "医保*": "未参保"}
    row = member(household.number, son.name, son.id_number, "之子", **uninsured)

    import_file(alice, workbook([], [row]))

    assert certified(case) == ALL - {Criterion.MEDICAL}


def test_a_write_that_changes_nothing_measured_keeps_the_certifications(alice, case):
    household = case.household

    services.household_update(
        by=alice, household=household, data={"helper_name": "周帮扶"}, members=None, version=household.version
    )

    assert certified(case) == ALL
