"""The monitoring dashboard's numbers (issue 7, DOMAIN.md §5) against counts worked out
by hand from the cases placed here: the city, a county and its drill-down, a town and
a village; each person's own region only; a fixed number of queries.

The fifteen cases of ``monitored`` (today is 2020-10-12; "late" = a date before today):

==  ==========  ==========  ========  ==========  =========================  ========  =====================
#   village     stage       category  channel     risk types                 response  measures
==  ==========  ==========  ========  ==========  =========================  ========  =====================
1   A (银滩镇)  screening   unstable  self        illness                    late
2   A           screening   marginal  assessment  other                      later
3   A           assessment  unstable  sector      business_failure, illness  late
4   A           assistance  unstable  system      disability                 late      late, late done, later
5   A           assistance  marginal  self        unstable_work, other       later     late, late
6   A           closed      unstable  self        illness                    late      late (case closed)
7   A           dismissed   other     assessment  water                      late      late (case dismissed)
8   A2 (银滩镇) assessment  marginal  self        housing                    today
9   A2          assistance  marginal  sector      lack_labour, schooling     late      due today, late
10  A2          closed      marginal  system      schooling                  late
11  B (other    screening   unstable  system      epidemic                   late
    town)
12  B           closed      other     self        accident, disaster         late
13  B2 (B's     assistance  unstable  assessment  other                      later     late
    town)
14  汉阴县      screening   unstable  self        illness, other             late
15  汉阴县      assistance  marginal  self        illness                    later     late
==  ==========  ==========  ========  ==========  =========================  ========  =====================

A response is overdue only while the county has not answered (screening, assessment)
and its deadline is before today: #1, #3 in village A, #11 in B, #14 in 汉阴县. A
measure is overdue when it is open, due before today and its case still open: one of
#4, both of #5, one of #9, #13 and #15.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards.monitoring import monitoring_progress
from monitoring.models import Category, Channel, Measure, MonitoringCase, RiskType, Stage
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
    household_in,
)

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2020, 10, 12)
LATE = datetime.date(2020, 10, 1)
LATER = datetime.date(2020, 10, 30)
VILLAGE_B2 = "610902102202"  # the other village of village B's town
COMMUNITY_A = "610902101001"  # the community of village A's town: no cases
OTHER_TOWN = "610921101000"  # 汉阴县's town holding cases #14 and #15

# (village, stage, category, channel, risk types, response due, [(measure due, done on)])
CASES = [
    (VILLAGE_A, "screening", "unstable", "self", ["illness"], LATE, []),
    (VILLAGE_A, "screening", "marginal", "assessment", ["other"], LATER, []),
    (VILLAGE_A, "assessment", "unstable", "sector", ["business_failure", "illness"], LATE, []),
    (VILLAGE_A, "assistance", "unstable", "system", ["disability"], LATE, [(LATE, None), (LATE, TODAY), (LATER, None)]),
    (VILLAGE_A, "assistance", "marginal", "self", ["unstable_work", "other"], LATER, [(LATE, None), (LATE, None)]),
    (VILLAGE_A, "closed", "unstable", "self", ["illness"], LATE, [(LATE, None)]),
    (VILLAGE_A, "dismissed", "other", "assessment", ["water"], LATE, [(LATE, None)]),
    (VILLAGE_A2, "assessment", "marginal", "self", ["housing"], TODAY, []),
    (VILLAGE_A2, "assistance", "marginal", "sector", ["lack_labour", "schooling"], LATE, [(TODAY, None), (LATE, None)]),
    (VILLAGE_A2, "closed", "marginal", "system", ["schooling"], LATE, []),
    (VILLAGE_B, "screening", "unstable", "system", ["epidemic"], LATE, []),
    (VILLAGE_B, "closed", "other", "self", ["accident", "disaster"], LATE, []),
    (VILLAGE_B2, "assistance", "unstable", "assessment", ["other"], LATER, [(LATE, None)]),
    (OTHER_COUNTY_VILLAGE, "screening", "unstable", "self", ["illness", "other"], LATE, []),
    (OTHER_COUNTY_VILLAGE, "assistance", "marginal", "self", ["illness"], LATER, [(LATE, None)]),
]


def place(village, stage, category, channel, risk_types, response_due, measures=()):
    """A monitoring case of a new household of ``village`` as the stages leave it."""
    closed = stage == Stage.CLOSED
    case = MonitoringCase.objects.create(
        household=household_in(village),
        village_id=village,
        stage=stage,
        category=category,
        channel=channel,
        risk_types=list(risk_types),
        discovered_on=response_due - datetime.timedelta(days=15),
        response_due=response_due,
        closed_on=LATE if closed else None,
        close_method="务工收入稳定，风险已消除" if closed else "",
    )
    for due_on, done_on in measures:
        Measure.objects.create(
            case=case,
            type="employment",
            content="推荐就近务工",
            responsible_person="张三",
            due_on=due_on,
            done_on=done_on,
        )
    return case


@pytest.fixture
def monitored(clock, regions):
    return [place(*spec) for spec in CASES]


def region(code):
    return Region.objects.get(code=code)


def numbers(progress):
    """(total, per stage in the order screening, assessment, assistance, closed,
    dismissed, open, responses overdue, measures overdue, confirmed, closure rate %)."""
    stages = tuple(progress.stages[s] for s in ("screening", "assessment", "assistance", "closed", "dismissed"))
    return (
        progress.total,
        stages,
        progress.open,
        progress.response_overdue,
        progress.measures_overdue,
        progress.confirmed,
        progress.closure_rate,
    )


def counts(items):
    """The non-zero counts of one breakdown, by value."""
    return {value: n for value, _label, n in items if n}


# Worked out by hand from the table in the module's docstring.
VILLAGE_A_NUMBERS = (7, (2, 1, 2, 1, 1), 5, 2, 3, 3, 33.3)
VILLAGE_A2_NUMBERS = (3, (0, 1, 1, 1, 0), 2, 0, 1, 2, 50.0)
EMPTY = (0, (0, 0, 0, 0, 0), 0, 0, 0, 0, None)
TOWN_A_NUMBERS = (10, (2, 2, 3, 2, 1), 7, 2, 4, 5, 40.0)
TOWN_B_NUMBERS = (3, (1, 0, 1, 1, 0), 2, 1, 1, 2, 50.0)
COUNTY_NUMBERS = (13, (3, 2, 4, 3, 1), 9, 3, 5, 7, 42.9)  # 3 closed of 7 confirmed
OTHER_COUNTY_NUMBERS = (2, (1, 0, 1, 0, 0), 2, 1, 1, 1, 0.0)
CITY_NUMBERS = (15, (4, 2, 5, 3, 1), 11, 4, 6, 8, 37.5)


def test_the_supervisor_sees_every_county_of_the_city(sue, monitored):
    total, rows, breakdown = monitoring_progress(user=sue, region=region(CITY), today=TODAY)

    assert numbers(total) == CITY_NUMBERS
    assert len(rows) == 10  # every county, with or without cases
    by_code = {row.code: row for row in rows}
    assert numbers(by_code[COUNTY]) == COUNTY_NUMBERS
    assert numbers(by_code[OTHER_COUNTY]) == OTHER_COUNTY_NUMBERS
    assert all(numbers(row) == EMPTY for code, row in by_code.items() if code not in (COUNTY, OTHER_COUNTY))
    assert counts(breakdown["category"]) == {"unstable": 7, "marginal": 6, "other": 2}
    assert counts(breakdown["channel"]) == {"self": 7, "assessment": 3, "sector": 2, "system": 3}
    assert counts(breakdown["risk_type"]) == {
        "illness": 5,  # 1, 3, 6, 14, 15
        "other": 4,  # 2, 5, 13, 14
        "schooling": 2,
        "business_failure": 1,
        "disability": 1,
        "unstable_work": 1,
        "water": 1,
        "housing": 1,
        "lack_labour": 1,
        "epidemic": 1,
        "accident": 1,
        "disaster": 1,
    }


def test_the_breakdown_lists_every_choice_once_with_its_label(sue, monitored):
    _total, _rows, breakdown = monitoring_progress(user=sue, region=region(CITY), today=TODAY)

    for name, choices in (("category", Category), ("channel", Channel), ("risk_type", RiskType)):
        assert [(value, label) for value, label, _n in breakdown[name]] == [(c.value, str(c.label)) for c in choices]
    assert ("epidemic", "因疫情", 1) in breakdown["risk_type"]
    assert ("self", "自我申报", 7) in breakdown["channel"]


def test_a_county_official_sees_each_town_of_the_county(carol, monitored):
    total, rows, breakdown = monitoring_progress(user=carol, region=region(COUNTY), today=TODAY)

    assert numbers(total) == COUNTY_NUMBERS  # 汉阴县's two cases are not here
    assert [row.code for row in rows] == ["610902001000", "610902002000", TOWN_A, TOWN_B]
    assert [numbers(row) for row in rows] == [EMPTY, EMPTY, TOWN_A_NUMBERS, TOWN_B_NUMBERS]
    assert counts(breakdown["category"]) == {"unstable": 6, "marginal": 5, "other": 2}
    assert counts(breakdown["channel"]) == {"self": 5, "assessment": 3, "sector": 2, "system": 3}
    assert counts(breakdown["risk_type"]) == {
        "illness": 3,
        "other": 3,
        "schooling": 2,
        "business_failure": 1,
        "disability": 1,
        "unstable_work": 1,
        "water": 1,
        "housing": 1,
        "lack_labour": 1,
        "epidemic": 1,
        "accident": 1,
        "disaster": 1,
    }


def test_the_county_official_drills_down_to_a_town_and_a_village(carol, monitored):
    total, rows, breakdown = monitoring_progress(user=carol, region=region(TOWN_A), today=TODAY)
    assert numbers(total) == TOWN_A_NUMBERS
    assert [(row.code, numbers(row)) for row in rows] == [
        (COMMUNITY_A, EMPTY),
        (VILLAGE_A, VILLAGE_A_NUMBERS),
        (VILLAGE_A2, VILLAGE_A2_NUMBERS),
    ]
    assert counts(breakdown["category"]) == {"unstable": 4, "marginal": 5, "other": 1}
    assert counts(breakdown["risk_type"]) == {
        "illness": 3,
        "other": 2,
        "schooling": 2,
        "business_failure": 1,
        "disability": 1,
        "unstable_work": 1,
        "water": 1,
        "housing": 1,
        "lack_labour": 1,
    }

    total, rows, breakdown = monitoring_progress(user=carol, region=region(TOWN_B), today=TODAY)
    assert numbers(total) == TOWN_B_NUMBERS
    by_code = {row.code: numbers(row) for row in rows}
    assert by_code[VILLAGE_B] == (2, (1, 0, 0, 1, 0), 1, 1, 0, 1, 100.0)
    assert by_code[VILLAGE_B2] == (1, (0, 0, 1, 0, 0), 1, 0, 1, 1, 0.0)
    assert counts(breakdown["risk_type"]) == {"epidemic": 1, "accident": 1, "disaster": 1, "other": 1}

    total, rows, breakdown = monitoring_progress(user=carol, region=region(VILLAGE_A), today=TODAY)
    assert [row.code for row in rows] == [VILLAGE_A]
    assert numbers(total) == numbers(rows[0]) == VILLAGE_A_NUMBERS
    assert counts(breakdown["category"]) == {"unstable": 4, "marginal": 2, "other": 1}
    assert counts(breakdown["channel"]) == {"self": 3, "assessment": 2, "sector": 1, "system": 1}
    assert counts(breakdown["risk_type"]) == {
        "illness": 3,
        "other": 2,
        "business_failure": 1,
        "disability": 1,
        "unstable_work": 1,
        "water": 1,
    }


def test_the_other_county_official_sees_only_his_county(zed, monitored):
    total, rows, breakdown = monitoring_progress(user=zed, region=region(OTHER_COUNTY), today=TODAY)
    assert numbers(total) == OTHER_COUNTY_NUMBERS
    assert {row.code: row.total for row in rows if row.total} == {OTHER_TOWN: 2}
    assert counts(breakdown["risk_type"]) == {"illness": 2, "other": 1}
    assert counts(breakdown["category"]) == {"unstable": 1, "marginal": 1}


def test_a_town_official_sees_only_the_villages_of_the_town(tom, monitored):
    total, rows, _breakdown = monitoring_progress(user=tom, region=region(TOWN_A), today=TODAY)
    assert numbers(total) == TOWN_A_NUMBERS
    assert [row.code for row in rows] == [COMMUNITY_A, VILLAGE_A, VILLAGE_A2]

    # Asked about the county, the town official still only gets the town.
    total, rows, breakdown = monitoring_progress(user=tom, region=region(COUNTY), today=TODAY)
    assert [row.code for row in rows] == [TOWN_A]
    assert numbers(total) == numbers(rows[0]) == TOWN_A_NUMBERS
    assert "epidemic" not in counts(breakdown["risk_type"])  # village B's case


def test_a_village_cadre_sees_only_the_village(alice, monitored):
    total, rows, _breakdown = monitoring_progress(user=alice, region=region(VILLAGE_A), today=TODAY)
    assert [row.code for row in rows] == [VILLAGE_A]
    assert numbers(total) == VILLAGE_A_NUMBERS

    total, rows, breakdown = monitoring_progress(user=alice, region=region(TOWN_A), today=TODAY)
    assert [row.code for row in rows] == [VILLAGE_A]  # not village A2
    assert numbers(total) == VILLAGE_A_NUMBERS
    assert "housing" not in counts(breakdown["risk_type"])  # village A2's case


def test_the_numbers_follow_the_day_they_are_counted_on(carol, monitored):
    # On the 13th, case #8's response (due the 12th) and case #9's measure (due the 12th)
    # are late too.
    total, _rows, _breakdown = monitoring_progress(
        user=carol, region=region(TOWN_A), today=TODAY + datetime.timedelta(days=1)
    )
    assert (total.response_overdue, total.measures_overdue) == (3, 5)
    # On the 1st, nothing was late yet.
    total, _rows, _breakdown = monitoring_progress(user=carol, region=region(TOWN_A), today=LATE)
    assert (total.response_overdue, total.measures_overdue) == (0, 0)


def test_the_closure_rate_is_closed_over_confirmed_and_none_without_confirmed_risks(carol, clock, regions):
    for stage in ("screening", "assessment", "dismissed"):
        place(VILLAGE_A, stage, "unstable", "self", ["illness"], LATER)
    total, _rows, _breakdown = monitoring_progress(user=carol, region=region(VILLAGE_A), today=TODAY)
    assert (total.total, total.confirmed, total.closure_rate) == (3, 0, None)

    for stage in ("closed", "closed", "assistance"):
        place(VILLAGE_A, stage, "unstable", "self", ["illness"], LATER)
    total, _rows, _breakdown = monitoring_progress(user=carol, region=region(VILLAGE_A), today=TODAY)
    assert (total.total, total.open, total.confirmed, total.closure_rate) == (6, 3, 3, 66.7)


def test_each_risk_type_counts_each_case_once_and_only_its_own(carol, clock, regions):
    place(VILLAGE_A, "screening", "unstable", "self", ["business_failure"], LATER)
    place(VILLAGE_A2, "screening", "unstable", "self", ["unstable_work", "lack_labour"], LATER)
    place(VILLAGE_B, "screening", "unstable", "self", ["other", "other"], LATER)
    place(VILLAGE_B2, "assistance", "unstable", "self", ["illness", "disability", "disaster", "other", "water"], LATER)

    _total, _rows, breakdown = monitoring_progress(user=carol, region=region(COUNTY), today=TODAY)

    assert counts(breakdown["risk_type"]) == {
        "business_failure": 1,
        "unstable_work": 1,
        "lack_labour": 1,
        "other": 2,  # the case listing it twice counts once
        "illness": 1,
        "disability": 1,
        "disaster": 1,
        "water": 1,
    }


def test_the_number_of_queries_does_not_grow_with_the_cases(carol, clock, regions):
    county = region(COUNTY)
    place(VILLAGE_A, "screening", "unstable", "self", ["illness"], LATE)
    place(VILLAGE_B, "assistance", "marginal", "sector", ["other"], LATER, [(LATE, None)])
    monitoring_progress(user=carol, region=county, today=TODAY)  # the user's region, cached
    with CaptureQueriesContext(connection) as few:
        total, _rows, _breakdown = monitoring_progress(user=carol, region=county, today=TODAY)
    assert total.total == 2

    villages = [VILLAGE_A, VILLAGE_A2, VILLAGE_B, VILLAGE_B2, COMMUNITY_A, "610902001201"]
    stages = ["screening", "assessment", "assistance", "closed", "dismissed"]
    for i in range(38):
        place(
            villages[i % len(villages)],
            stages[i % len(stages)],
            "marginal",
            "system",
            ["illness", "water"][: 1 + i % 2],
            LATE,
            [(LATE, None)],
        )
    with CaptureQueriesContext(connection) as more:
        total, rows, breakdown = monitoring_progress(user=carol, region=county, today=TODAY)

    assert total.total == 40 and sum(row.total for row in rows) == 40
    assert counts(breakdown["risk_type"])["illness"] == 39
    # The children, the counts by child, the late measures by child, the breakdown.
    assert len(more) == len(few) == 4
