"""The deadline dashboard's numbers (issue 7) against counts worked out by hand from
the cases placed here, for a county, a town and a village; scoping; fixed queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards.deadlines import deadline_progress
from exits.models import DONE, CaseStatus, ExitCase
from notifications.models import Alert, AlertKind
from regions.models import Region
from tests.conftest import (
    CITY,
    COUNTY,
    OTHER_COUNTY,
    OTHER_COUNTY_VILLAGE,
    TOWN_A,
    TOWN_B,
    VILLAGE_A,
    VILLAGE_A2,
    VILLAGE_B,
)
from tests.exits.conftest import ready_household

pytestmark = pytest.mark.django_db

LATE_OCTOBER = datetime.date(2020, 10, 25)  # the village deadline (10-20) has passed, the town's (10-31) not


def place(campaign, village, step, by):
    household = ready_household(village=village)
    return ExitCase.objects.create(
        campaign=campaign,
        household=household,
        village_id=village,
        current_step=step,
        status=CaseStatus.EXITED if step == DONE else CaseStatus.IN_PROGRESS,
        enrolled_by=by,
    )


@pytest.fixture
def cases(campaign, alice):
    placed = {}
    for village, steps in (
        (VILLAGE_A, [1, 3, 5, DONE]),
        (VILLAGE_A2, [2, 7]),
        (VILLAGE_B, [4, DONE]),
        (OTHER_COUNTY_VILLAGE, [1]),
    ):
        placed[village] = [place(campaign, village, step, alice) for step in steps]
    Alert.objects.create(
        kind=AlertKind.STEP_AT_RISK,
        key=f"exit:{placed[VILLAGE_A][1].pk}:step:3:at_risk",
        region_id=VILLAGE_A,
        level="town",
        title="进度滞后",
        raised_at=timezone.now(),
    )
    return placed


def levels(row):
    return {p.level: (p.done, p.total, p.overdue, p.at_risk) for p in row.levels}


def test_a_county_sees_each_town(carol, campaign, cases):
    total, rows = deadline_progress(
        user=carol, campaign=campaign, region=Region.objects.get(code=COUNTY), today=LATE_OCTOBER
    )
    by_code = {row.code: row for row in rows}
    # Town A: steps 1, 3, 5, done (village A) and 2, 7 (village A2).
    assert levels(by_code[TOWN_A]) == {
        "village": (4, 6, 2, 0),
        "town": (3, 6, 0, 1),
        "county": (1, 6, 0, 0),
        "marking": (1, 6, 0, 0),
    }
    # Town B: steps 4 and done.
    assert levels(by_code[TOWN_B]) == {
        "village": (2, 2, 0, 0),
        "town": (1, 2, 0, 0),
        "county": (1, 2, 0, 0),
        "marking": (1, 2, 0, 0),
    }
    assert sum(row.total for row in rows) == total.total == 8  # the other county's case is not here
    assert levels(total)["village"] == (6, 8, 2, 0)
    village_level = next(p for p in total.levels if p.level == "village")
    assert (village_level.deadline, village_level.days_left) == (datetime.date(2020, 10, 20), -5)


def test_a_town_official_sees_only_the_town_and_its_villages(tom, campaign, cases):
    total, rows = deadline_progress(
        user=tom, campaign=campaign, region=Region.objects.get(code=TOWN_A), today=LATE_OCTOBER
    )
    by_code = {row.code: row for row in rows}
    assert levels(by_code[VILLAGE_A])["village"] == (3, 4, 1, 0)
    assert levels(by_code[VILLAGE_A2])["county"] == (0, 2, 0, 0)
    assert total.total == 6
    # Asked about the county, the town official still only gets the town.
    county_total, county_rows = deadline_progress(
        user=tom, campaign=campaign, region=Region.objects.get(code=COUNTY), today=LATE_OCTOBER
    )
    assert [row.code for row in county_rows] == [TOWN_A] and county_total.total == 6


def test_a_village_shows_itself(alice, campaign, cases):
    total, rows = deadline_progress(
        user=alice, campaign=campaign, region=Region.objects.get(code=VILLAGE_A), today=LATE_OCTOBER
    )
    assert [row.code for row in rows] == [VILLAGE_A]
    assert levels(total)["village"] == (3, 4, 1, 0)


def test_the_number_of_queries_does_not_grow_with_the_cases(carol, campaign, cases, alice):
    county = Region.objects.get(code=COUNTY)
    deadline_progress(user=carol, campaign=campaign, region=county, today=LATE_OCTOBER)  # the user's region, cached
    with CaptureQueriesContext(connection) as few:
        deadline_progress(user=carol, campaign=campaign, region=county, today=LATE_OCTOBER)
    for step in (1, 2, 3, 6, 8):
        place(campaign, VILLAGE_B, step, alice)
    with CaptureQueriesContext(connection) as more:
        _total, rows = deadline_progress(user=carol, campaign=campaign, region=county, today=LATE_OCTOBER)
    assert len(more) == len(few) == 3
    assert {row.code: row.total for row in rows}[TOWN_B] == 7


def test_the_overdue_list_names_the_people_responsible(carol, campaign, cases, alice, tom):
    from dashboards.deadlines import overdue_cases

    count, rows = overdue_cases(
        user=carol, campaign=campaign, region=Region.objects.get(code=COUNTY), today=LATE_OCTOBER
    )
    # Past the village deadline only: the cases still at step 1 or 2 in 汉滨区.
    assert count == 2
    assert [(row.village, row.step, row.days_overdue) for row in rows] == [("西关村", 1, 5), (rows[1].village, 2, 5)]
    assert rows[0].responsible == [alice.full_name]
    assert rows[1].responsible == []  # village A2 has no account
    assert tom.full_name not in rows[0].responsible


def test_the_city_sees_each_county(sue, campaign, cases):
    total, rows = deadline_progress(
        user=sue, campaign=campaign, region=Region.objects.get(code=CITY), today=LATE_OCTOBER
    )
    by_code = {row.code: row for row in rows}
    # 汉滨区: the eight cases above; 汉阴县: one at step 1. Every other county: none.
    assert levels(by_code[COUNTY]) == {
        "village": (6, 8, 2, 0),
        "town": (4, 8, 0, 1),
        "county": (2, 8, 0, 0),
        "marking": (2, 8, 0, 0),
    }
    assert levels(by_code[OTHER_COUNTY]) == {
        "village": (0, 1, 1, 0),
        "town": (0, 1, 0, 0),
        "county": (0, 1, 0, 0),
        "marking": (0, 1, 0, 0),
    }
    assert len(rows) == 10 and sum(row.total for row in rows) == total.total == 9
    assert levels(total)["village"] == (6, 9, 3, 0)


def test_the_cases_query_joins_no_household(carol, campaign, cases):
    """ExitCase's default ordering (by household number) once kept a join to every
    household in the GROUP BY query: 3× the bare SQL at city scale (BENCHMARKS.md)."""
    county = Region.objects.get(code=COUNTY)
    deadline_progress(user=carol, campaign=campaign, region=county, today=LATE_OCTOBER)
    with CaptureQueriesContext(connection) as queries:
        deadline_progress(user=carol, campaign=campaign, region=county, today=LATE_OCTOBER)
    assert not [q["sql"] for q in queries if "households_household" in q["sql"]]
