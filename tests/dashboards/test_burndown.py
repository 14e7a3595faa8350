"""The deadline dashboard's burn-down (issue 7, DOMAIN.md §4): for each level, the cases
not yet past it, day by day, against the straight line to the level's deadline.

Cases are moved through the steps by the people of each level on the days below
(``worked``), so the lines are read from real completions:

=====  ==========================  ===========================================================
day    who                         what
=====  ==========================  ===========================================================
10-12  alice                       a1 and a2: steps 1-2 (village level done)
10-13  bob                         c1 (village B): steps 1-2
10-14  alice, amy                  a3 (village A) and b1 (village A2): steps 1-2
10-15  tom, tina                   a1 and c1: steps 3-4 (town level done); a1's notice opens
10-16  tom                         a2: step 3, then returned to step 1 (its steps 1-3 reset)
10-22  carol                       a1: steps 5-7 (county level done)
10-23  carol                       a1: step 8 (system marking done)
=====  ==========================  ===========================================================

d1 (village A) is enrolled and never moves. In 汉阴县 a case's village steps are done on
10-13, and a 2019 campaign has completions in village A on 10-13: neither is 汉滨区's
2020 work. Today is 10-26.
"""

import datetime
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from dashboards.deadlines import LEVELS, deadline_burndown, deadline_progress
from exits import services
from exits.models import DEFAULT_STEP_LEVELS, DONE, Campaign, CaseStatus, ExitCase, Step, StepRecord
from regions.models import Region
from tests.conftest import (
    CITY,
    COUNTY,
    OTHER_COUNTY_VILLAGE,
    TOWN_A,
    TOWN_B,
    VILLAGE_A,
    VILLAGE_A2,
    VILLAGE_B,
    make_user,
)
from tests.exits.conftest import AUTUMN_2020, Flow, amy, carol2, ready_household, tom2  # noqa: F401 - fixtures
from tests.html import element, elements

pytestmark = pytest.mark.django_db

SHANGHAI = AUTUMN_2020.tzinfo


def d(month_day: str) -> datetime.date:
    month, day = month_day.split("-")
    return datetime.date(2020, int(month), int(day))


def go_to(clock, day: datetime.date) -> None:
    """Move the frozen clock to 10:00 on ``day``."""
    clock.shift((day - timezone.localdate()).days)


def dated(series) -> list[tuple[str, int]]:
    """[(MM-DD, n)] of a burn-down line, easier to read against the table above."""
    return [(day.strftime("%m-%d"), n) for day, n in series]


@pytest.fixture
def flows(clock, campaign, certifiers, alice, amy, bob, tom, carol, tom2, carol2):  # noqa: F811
    """A Flow per village: its cadre, its town's officials, the county officials (a
    second official of the town and of the county does the steps that review the
    first's: separation of duties, DOMAIN.md §4)."""
    tina = make_user("tina", Role.TOWN_OFFICIAL, TOWN_B, full_name="唐娜")
    tina2 = make_user("tina2", Role.TOWN_OFFICIAL, TOWN_B, full_name="唐二")

    def flow(cadre, town_official, town_reviewer):
        doers = {Role.VILLAGE_CADRE: cadre, Role.TOWN_OFFICIAL: town_official, Role.COUNTY_OFFICIAL: carol}
        reviewers = {Role.TOWN_OFFICIAL: town_reviewer, Role.COUNTY_OFFICIAL: carol2}
        return Flow(clock=clock, campaign=campaign, certifiers=certifiers, doers=doers, reviewers=reviewers)

    return {VILLAGE_A: flow(alice, tom, tom2), VILLAGE_A2: flow(amy, tom, tom2), VILLAGE_B: flow(bob, tina, tina2)}


def elsewhere(campaign, village, *, steps, on, by):
    """A case of ``campaign`` in ``village`` whose ``steps`` were completed on ``on``
    (placed directly: nobody of 汉滨区 may act there)."""
    step = max(steps) + 1
    case = ExitCase.objects.create(
        campaign=campaign,
        household=ready_household(village=village),
        village_id=village,
        current_step=step,
        status=CaseStatus.EXITED if step == DONE else CaseStatus.IN_PROGRESS,
        exited_on=on if step == DONE else None,
        enrolled_by=by,
    )
    at = datetime.datetime.combine(on, datetime.time(10), tzinfo=SHANGHAI)
    for step in steps:
        StepRecord.objects.create(case=case, step=step, data={}, completed_by=by, completed_at=at)
    return case


def do(flow, case, *steps, **changes) -> None:
    for step in steps:
        flow.complete(case, step, **changes)


@pytest.fixture
def worked(clock, campaign, flows, tom, zed):
    a, a2, b = flows[VILLAGE_A], flows[VILLAGE_A2], flows[VILLAGE_B]
    cases = {
        "a1": a.enrol(ready_household(VILLAGE_A)),
        "a2": a.enrol(ready_household(VILLAGE_A)),
        "a3": a.enrol(ready_household(VILLAGE_A)),
        "d1": a.enrol(ready_household(VILLAGE_A)),
        "b1": a2.enrol(ready_household(VILLAGE_A2)),
        "c1": b.enrol(ready_household(VILLAGE_B)),
    }
    do(a, cases["a1"], 1, 2)
    do(a, cases["a2"], 1, 2)
    go_to(clock, d("10-13"))
    do(b, cases["c1"], 1, 2)
    go_to(clock, d("10-14"))
    do(a, cases["a3"], 1, 2)
    do(a2, cases["b1"], 1, 2)
    go_to(clock, d("10-15"))
    do(a, cases["a1"], 3, 4)
    do(b, cases["c1"], 3, 4, checking_unit=VILLAGE_A)  # a team from another town
    services.notice_open(by=tom, case=cases["a1"])
    go_to(clock, d("10-16"))
    do(a, cases["a2"], 3)
    services.case_return(by=tom, case=cases["a2"], to_step=Step.VERIFY, reason="户主签字与本人不符")
    go_to(clock, d("10-22"))  # the notice's seven days have passed
    do(a, cases["a1"], 5, 6, 7)
    go_to(clock, d("10-23"))
    do(a, cases["a1"], 8)

    # Not 汉滨区's 2020 work.
    elsewhere(campaign, OTHER_COUNTY_VILLAGE, steps=[1, 2], on=d("10-13"), by=zed)
    last_year = Campaign.objects.create(
        year=2019,
        name="2019年度贫困户退出",
        income_line=3218,
        village_deadline=datetime.date(2019, 10, 20),
        town_deadline=datetime.date(2019, 10, 31),
        county_deadline=datetime.date(2019, 11, 10),
        marking_deadline=datetime.date(2019, 11, 20),
        step_levels=dict(DEFAULT_STEP_LEVELS),
        is_active=False,
    )
    elsewhere(last_year, VILLAGE_A, steps=range(1, 9), on=d("10-13"), by=zed)

    go_to(clock, d("10-26"))
    return cases


def burndown_for(user, code):
    """(the region's progress, its burn-down by level) as the dashboard computes them."""
    from exits.selectors import current_campaign

    campaign = current_campaign()
    region = Region.objects.get(code=code)
    total, _rows = deadline_progress(user=user, campaign=campaign, region=region)
    return total, {
        b.level: b for b in deadline_burndown(user=user, campaign=campaign, region=region, total=total.total)
    }


def test_each_level_burns_down_on_the_days_its_last_step_was_done(carol, worked):
    total, lines = burndown_for(carol, COUNTY)

    assert total.total == 6
    assert list(lines) == LEVELS
    assert dated(lines["village"].remaining) == [("10-11", 6), ("10-12", 5), ("10-13", 4), ("10-14", 2), ("10-26", 2)]
    assert dated(lines["town"].remaining) == [("10-11", 6), ("10-15", 4), ("10-26", 4)]
    assert dated(lines["county"].remaining) == [("10-11", 6), ("10-22", 5), ("10-26", 5)]
    assert dated(lines["marking"].remaining) == [("10-11", 6), ("10-23", 5), ("10-26", 5)]


def test_each_line_ends_at_the_cases_not_yet_past_the_level(carol, worked):
    total, lines = burndown_for(carol, COUNTY)
    for progress in total.levels:
        assert lines[progress.level].remaining[-1] == (d("10-26"), progress.total - progress.done)
    assert [total.total - p.done for p in total.levels] == [2, 4, 5, 5]


def test_the_ideal_line_runs_from_everyone_on_the_first_day_to_none_at_the_deadline(carol, worked):
    _total, lines = burndown_for(carol, COUNTY)
    assert {level: dated(b.ideal) for level, b in lines.items()} == {
        "village": [("10-11", 6), ("10-20", 0)],
        "town": [("10-11", 6), ("10-31", 0)],
        "county": [("10-11", 6), ("11-10", 0)],
        "marking": [("10-11", 6), ("11-20", 0)],
    }
    assert [(b.start, b.deadline, b.total) for b in lines.values()] == [
        (d("10-11"), d("10-20"), 6),
        (d("10-11"), d("10-31"), 6),
        (d("10-11"), d("11-10"), 6),
        (d("10-11"), d("11-20"), 6),
    ]


def test_a_town_official_s_lines_count_only_the_town(tom, worked):
    total, lines = burndown_for(tom, TOWN_A)
    assert total.total == 5  # a1, a2, a3, d1, b1
    assert dated(lines["village"].remaining) == [
        ("10-11", 5),
        ("10-12", 4),
        ("10-14", 2),
        ("10-26", 2),
    ]  # not c1 on 10-13
    assert dated(lines["town"].remaining) == [("10-11", 5), ("10-15", 4), ("10-26", 4)]  # not c1
    assert dated(lines["marking"].remaining) == [("10-11", 5), ("10-23", 4), ("10-26", 4)]


def test_a_village_cadre_s_lines_count_only_the_village(alice, worked):
    total, lines = burndown_for(alice, VILLAGE_A)
    assert total.total == 4  # a1, a2, a3, d1
    assert dated(lines["village"].remaining) == [("10-11", 4), ("10-12", 3), ("10-14", 2), ("10-26", 2)]  # not b1 of A2
    assert dated(lines["town"].remaining) == [("10-11", 4), ("10-15", 3), ("10-26", 3)]
    # Asked about her town, she still gets only her village's completions (not b1's).
    total, lines = burndown_for(alice, TOWN_A)
    assert total.total == 4
    assert dated(lines["village"].remaining) == [("10-11", 4), ("10-12", 3), ("10-14", 2), ("10-26", 2)]


def test_the_supervisor_s_lines_count_the_whole_city(sue, worked):
    total, lines = burndown_for(sue, CITY)
    assert total.total == 7  # and 汉阴县's case, its village steps done on 10-13
    assert dated(lines["village"].remaining) == [("10-11", 7), ("10-12", 6), ("10-13", 4), ("10-14", 2), ("10-26", 2)]
    assert dated(lines["town"].remaining) == [("10-11", 7), ("10-15", 5), ("10-26", 5)]


def test_before_anything_is_done_the_lines_start_a_month_before_the_village_deadline(flows, carol):
    flows[VILLAGE_A].enrol(ready_household(VILLAGE_A))
    flows[VILLAGE_B].enrol(ready_household(VILLAGE_B))

    _total, lines = burndown_for(carol, COUNTY)

    for b in lines.values():
        assert dated(b.remaining) == [("09-20", 2), ("10-12", 2)]  # flat until today
        assert dated(b.ideal) == [("09-20", 2), (b.deadline.strftime("%m-%d"), 0)]


def test_a_village_that_started_late_is_not_shown_an_ideal_line_running_backwards(clock, flows, carol):
    a = flows[VILLAGE_A]
    cases = [a.enrol(ready_household(VILLAGE_A)) for _ in range(2)]
    go_to(clock, d("10-22"))  # two days past the village deadline
    do(a, cases[0], 1, 2)

    _total, lines = burndown_for(carol, VILLAGE_A)

    village = lines["village"]
    assert dated(village.remaining)[-1] == ("10-22", 1)
    # The dashed line "按时限应剩" must reach none at the deadline going forwards in time:
    # by 10-22 nothing should be left to do at the village level.
    (first_day, everyone), (deadline, none) = village.ideal
    assert (deadline, none) == (d("10-20"), 0)
    assert first_day <= deadline and everyone == 2


def test_a_campaign_whose_county_does_the_marking_still_shows_its_burndown(client, clock, campaign, flows, carol):
    from exits.admin import CampaignForm

    # The administrator's form accepts step 8 at the county level (the levels still run upwards).
    mapping = {**DEFAULT_STEP_LEVELS, "8": "county"}
    fields = {f: getattr(campaign, f) for f in CampaignForm._meta.fields if f != "step_levels"}
    form = CampaignForm(data={**fields, "step_levels": json.dumps(mapping)}, instance=campaign)
    assert form.is_valid(), form.errors
    form.save()
    case = flows[VILLAGE_A].enrol(ready_household(VILLAGE_A))
    do(flows[VILLAGE_A], case, 1, 2)

    lines = deadline_burndown(user=carol, campaign=campaign, region=Region.objects.get(code=COUNTY), total=1)
    assert dated(lines[0].remaining) == [("10-11", 1), ("10-12", 0)]
    client.force_login(carol)
    response = client.get(f"/dashboard/deadlines/?region={COUNTY}")

    assert response.status_code == 200
    assert chart_data(response)["burndown"][0]["remaining"] == [["2020-10-11", 1], ["2020-10-12", 0]]


def test_a_returned_case_is_no_longer_done_and_counts_again_when_redone(clock, flows, tom, carol):
    a = flows[VILLAGE_A]
    first, second = a.enrol(ready_household(VILLAGE_A)), a.enrol(ready_household(VILLAGE_A))
    a.bring_to([first, second], Step.CROSS_CHECK)  # village level done on 10-12
    do(a, second, 3, 4)  # town level done on 10-12
    go_to(clock, d("10-13"))
    _total, lines = burndown_for(carol, VILLAGE_A)
    assert dated(lines["village"].remaining) == [("10-11", 2), ("10-12", 0), ("10-13", 0)]
    assert dated(lines["town"].remaining) == [("10-11", 2), ("10-12", 1), ("10-13", 1)]

    services.case_return(by=tom, case=first, to_step=Step.APPRAISE, reason="评议参会人数不足")
    services.case_return(by=carol, case=second, to_step=Step.CROSS_CHECK, reason="交叉检查表缺签字")

    _total, lines = burndown_for(carol, VILLAGE_A)
    assert dated(lines["village"].remaining) == [("10-11", 2), ("10-12", 1), ("10-13", 1)]  # the first is to do again
    assert dated(lines["town"].remaining) == [("10-11", 2), ("10-13", 2)]  # the second's village work stands

    go_to(clock, d("10-14"))
    a.complete(first, 2)
    _total, lines = burndown_for(carol, VILLAGE_A)
    assert dated(lines["village"].remaining) == [("10-11", 2), ("10-12", 1), ("10-14", 0)]


def test_a_step_done_early_in_the_morning_counts_on_that_day_in_beijing_time(clock, flows, carol):
    a = flows[VILLAGE_A]
    case = a.enrol(ready_household(VILLAGE_A))
    a.complete(case, 1)
    # 07:30 in Beijing on the 14th is still the 13th in UTC.
    with time_machine.travel(datetime.datetime(2020, 10, 14, 7, 30, tzinfo=SHANGHAI), tick=False):
        a.complete(case, 2)
    go_to(clock, d("10-15"))

    _total, lines = burndown_for(carol, VILLAGE_A)

    assert dated(lines["village"].remaining) == [("10-13", 1), ("10-14", 0), ("10-15", 0)]


def test_the_burndown_is_one_query_whatever_the_number_of_cases(carol, worked):
    campaign = Campaign.objects.get(year=2020)
    county = Region.objects.get(code=COUNTY)
    deadline_burndown(user=carol, campaign=campaign, region=county, total=6)  # the user's region, cached
    with CaptureQueriesContext(connection) as queries:
        lines = deadline_burndown(user=carol, campaign=campaign, region=county, total=6)
    assert len(queries) == 1
    assert lines[0].remaining[-1] == (d("10-26"), 2)


# --- the page and the API -----------------------------------------------------------------

EXPECTED_COUNTY = [
    {
        "name": "村级",
        "deadline": "2020-10-20",
        "ideal": [["2020-10-11", 6], ["2020-10-20", 0]],
        "remaining": [["2020-10-11", 6], ["2020-10-12", 5], ["2020-10-13", 4], ["2020-10-14", 2], ["2020-10-26", 2]],
    },
    {
        "name": "镇级",
        "deadline": "2020-10-31",
        "ideal": [["2020-10-11", 6], ["2020-10-31", 0]],
        "remaining": [["2020-10-11", 6], ["2020-10-15", 4], ["2020-10-26", 4]],
    },
    {
        "name": "县级",
        "deadline": "2020-11-10",
        "ideal": [["2020-10-11", 6], ["2020-11-10", 0]],
        "remaining": [["2020-10-11", 6], ["2020-10-22", 5], ["2020-10-26", 5]],
    },
    {
        "name": "系统标注",
        "deadline": "2020-11-20",
        "ideal": [["2020-10-11", 6], ["2020-11-20", 0]],
        "remaining": [["2020-10-11", 6], ["2020-10-23", 5], ["2020-10-26", 5]],
    },
]


def chart_data(response) -> dict:
    return json.loads(
        response.content.decode().split('id="chart-data" type="application/json">')[1].split("</script>")[0]
    )


def test_the_page_draws_one_burndown_per_level(client, carol, worked):
    client.force_login(carol)
    response = client.get(f"/dashboard/deadlines/?region={COUNTY}")
    assert response.status_code == 200

    box = element(response, "div", data_testid="burndown")
    assert "各层级燃尽图" in box.text
    charts = [
        el.attrs["aria-label"] for el in elements(response, "div", role="img") if el.attrs["id"].startswith("burndown-")
    ]
    assert charts == ["村级燃尽图", "镇级燃尽图", "县级燃尽图", "系统标注燃尽图"]
    assert chart_data(response)["burndown"] == EXPECTED_COUNTY


def test_each_person_s_page_burns_down_their_own_region(client, tom, alice, worked):
    client.force_login(tom)
    village = chart_data(client.get("/dashboard/deadlines/"))["burndown"][0]
    assert village["remaining"] == [["2020-10-11", 5], ["2020-10-12", 4], ["2020-10-14", 2], ["2020-10-26", 2]]
    assert village["ideal"] == [["2020-10-11", 5], ["2020-10-20", 0]]
    assert client.get(f"/dashboard/deadlines/?region={COUNTY}").status_code == 404
    assert client.get(f"/api/v1/dashboard/deadlines/?region={COUNTY}").status_code == 404

    client.force_login(alice)
    village = chart_data(client.get("/dashboard/deadlines/"))["burndown"][0]
    assert village["remaining"] == [["2020-10-11", 4], ["2020-10-12", 3], ["2020-10-14", 2], ["2020-10-26", 2]]
    assert client.get(f"/dashboard/deadlines/?region={VILLAGE_A2}").status_code == 404


def test_the_api_gives_the_page_s_burndown(client, carol, worked):
    client.force_login(carol)
    data = client.get(f"/api/v1/dashboard/deadlines/?region={COUNTY}").json()
    assert data["burndown"] == [
        {
            "level": level,
            "deadline": expected["deadline"],
            "start": "2020-10-11",
            "total": 6,
            "remaining": [{"date": day, "remaining": n} for day, n in expected["remaining"]],
        }
        for level, expected in zip(LEVELS, EXPECTED_COUNTY, strict=True)
    ]
    town = client.get(f"/api/v1/dashboard/deadlines/?region={TOWN_A}").json()["burndown"][1]
    assert (town["total"], town["remaining"][-1]) == (5, {"date": "2020-10-26", "remaining": 4})
