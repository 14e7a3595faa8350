"""The dashboards' statements at city scale (issue 17): each region filter said once, SQL
compiled once yet never handed to someone with another scope, and the longest-overdue
list cut down before it is sorted — with the same numbers as before."""

import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from dashboards.deadlines import certification_progress, deadline_burndown, deadline_progress, overdue_cases
from dashboards.monitoring import monitoring_progress
from exits.models import ExitCase
from exits.selectors import overdue_q
from regions.models import Region
from tests.conftest import CITY, COUNTY, OTHER_COUNTY, TOWN_A, VILLAGE_A, VILLAGE_A2, VILLAGE_B
from tests.dashboards.test_deadline_progress import LATE_OCTOBER, cases, place  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def like_patterns(queries) -> list[list[str]]:
    """Per statement, the LIKE patterns it was given."""
    return [[p for p in query_params if isinstance(p, str) and p.endswith("%")] for query_params in queries]


def captured_params(call) -> list[list]:
    params = []

    def record(execute, sql, query_params, many, context):
        params.append(list(query_params or []))
        return execute(sql, query_params, many, context)

    with connection.execute_wrapper(record):
        call()
    return params


def test_the_county_official_s_own_county_is_filtered_on_once(carol, campaign, cases):  # noqa: F811
    """Scope and region both said ``LIKE '610902%'``: PostgreSQL squared the selectivity,
    planned for a tenth of the rows, and the official's dashboard ran at twice its bare
    SQL (BENCHMARKS.md)."""
    county = region(COUNTY)
    deadline_progress(user=carol, campaign=campaign, region=county)  # the user's region, cached
    statements = like_patterns(captured_params(lambda: deadline_progress(user=carol, campaign=campaign, region=county)))
    assert len(statements) == 3
    for patterns in statements:
        assert [p for p in patterns if p.startswith("6109")] == ["610902%"]


def test_a_drill_down_keeps_the_supervisor_s_scope_and_the_county(sue, campaign, cases):  # noqa: F811
    county = region(COUNTY)
    deadline_progress(user=sue, campaign=campaign, region=county)  # the user's region, cached
    statements = like_patterns(captured_params(lambda: deadline_progress(user=sue, campaign=campaign, region=county)))
    assert len(statements) == 3
    for patterns in statements:
        assert sorted(p for p in patterns if p.startswith("6109")) == ["6109%", "610902%"]


def test_numbers_counted_for_the_supervisor_are_never_served_to_a_county(sue, carol, zed, campaign, cases):  # noqa: F811
    """The statements are compiled once per scope: after the supervisor has looked at
    the city, the same call for a county official (asked about the whole city) still
    counts only what that official may see."""
    city = region(CITY)
    total, _rows = deadline_progress(user=sue, campaign=campaign, region=city, today=LATE_OCTOBER)
    assert total.total == 9
    total, rows = deadline_progress(user=carol, campaign=campaign, region=city, today=LATE_OCTOBER)
    assert total.total == 8 and [row.code for row in rows] == [COUNTY]
    total, rows = deadline_progress(user=zed, campaign=campaign, region=city, today=LATE_OCTOBER)
    assert total.total == 1 and [row.code for row in rows] == [OTHER_COUNTY]


def test_a_person_moved_to_another_county_counts_that_county(carol, campaign, cases):  # noqa: F811
    city = region(CITY)
    assert deadline_progress(user=carol, campaign=campaign, region=city, today=LATE_OCTOBER)[0].total == 8
    carol.region_id = OTHER_COUNTY
    carol.save()
    carol = User.objects.get(pk=carol.pk)
    total, rows = deadline_progress(user=carol, campaign=campaign, region=city, today=LATE_OCTOBER)
    assert total.total == 1 and [row.code for row in rows] == [OTHER_COUNTY]


def test_compiled_statements_count_the_rows_there_are_now(carol, campaign, cases, alice):  # noqa: F811
    county = region(COUNTY)
    assert deadline_progress(user=carol, campaign=campaign, region=county)[0].total == 8
    place(campaign, VILLAGE_B, 3, alice)
    assert deadline_progress(user=carol, campaign=campaign, region=county)[0].total == 9


def test_someone_who_may_see_nothing_gets_empty_dashboards(carol, campaign, cases):  # noqa: F811
    carol.is_active = False
    carol.save()
    county = region(COUNTY)
    total, rows = deadline_progress(user=carol, campaign=campaign, region=county, today=LATE_OCTOBER)
    assert (total.total, rows) == (0, [])
    certification_progress(user=carol, campaign=campaign, region=county, total=total, rows=rows)
    assert total.certification.waiting == 0
    assert overdue_cases(user=carol, campaign=campaign, region=county, today=LATE_OCTOBER) == (0, [])
    assert deadline_burndown(user=carol, campaign=campaign, region=county, total=0, today=LATE_OCTOBER)
    total, rows, _breakdown = monitoring_progress(user=carol, region=county, today=LATE_OCTOBER)
    assert (total.total, rows) == (0, [])


# --- the longest overdue -----------------------------------------------------------------------


@pytest.fixture
def late_cases(campaign, alice):
    """Overdue on LATE_OCTOBER (past the village deadline): four cases at step 1 in
    village A2 and two in village A, three at step 2 in village A and one in B."""
    for village, step, n in ((VILLAGE_A2, 1, 4), (VILLAGE_A, 1, 2), (VILLAGE_A, 2, 3), (VILLAGE_B, 2, 1)):
        for _ in range(n):
            place(campaign, village, step, alice)


def every_late_case(user, campaign, code):
    """The whole list, sorted as the dashboard sorts it: what the first rows must be."""
    late = (
        ExitCase.objects.visible_to(user)
        .in_region(region(code).prefix)
        .filter(overdue_q([campaign], today=LATE_OCTOBER))
        .order_by("current_step", "village_id", "household__number")
    )
    return list(late.values_list("pk", flat=True))


@pytest.mark.parametrize("limit", [1, 2, 4, 6, 7, 9, 10, 50])
@pytest.mark.parametrize("code", [COUNTY, TOWN_A, VILLAGE_A])
def test_the_longest_overdue_are_the_first_of_every_late_case(carol, campaign, late_cases, limit, code):
    """Limits that end inside the first late step (only the villages up to the cut are
    sorted), past it (every case at step 1, then the start of step 2), and past the
    end."""
    count, rows = overdue_cases(user=carol, campaign=campaign, region=region(code), limit=limit, today=LATE_OCTOBER)
    everything = every_late_case(carol, campaign, code)
    assert count == len(everything)
    assert [row.pk for row in rows] == everything[:limit]


def test_the_longest_overdue_are_three_queries_whatever_their_number(carol, campaign, late_cases, alice):
    """Whether the list is cut (more late cases than shown) or not."""
    county = region(COUNTY)
    overdue_cases(user=carol, campaign=campaign, region=county, today=LATE_OCTOBER)  # the user's region, cached

    def queries():
        with CaptureQueriesContext(connection) as captured:
            count, _rows = overdue_cases(user=carol, campaign=campaign, region=county, limit=12, today=LATE_OCTOBER)
        return count, len(captured)

    few = queries()
    for _ in range(5):
        place(campaign, VILLAGE_A, 1, alice)
    assert few == (10, 3)
    assert queries() == (15, 3)


def test_the_overdue_list_reads_the_same_for_the_page(client, carol, campaign, late_cases):
    client.force_login(carol)
    page = client.get(f"/api/v1/dashboard/deadlines/?campaign={campaign.pk}&region={COUNTY}").json()
    expected_count, expected = overdue_cases(user=carol, campaign=campaign, region=region(COUNTY))
    assert page["overdue_count"] == expected_count
    assert [row["pk"] for row in page["overdue"]] == [case.pk for case in expected]
    assert [dataclasses.asdict(case)["number"] for case in expected] == [row["number"] for row in page["overdue"]]
