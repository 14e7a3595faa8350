"""The deadline dashboard's certification numbers (DOMAIN.md §3, issue 14): per region,
the criteria of cases in progress still waiting for their sector's certification
(measured as met, not certified) and how many of those are overdue against the
campaign's certification deadline (default: the village deadline, 10-20) — against
counts worked out by hand; the same on the page, the API and the export; one query
whatever the number of cases. And the sector's 我的待办 runs against that deadline.
"""

import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from dashboards.deadlines import certification_progress, deadline_progress
from dashboards.todo import todo_for
from exits.models import DONE, Campaign, Criterion, CriterionCheck, CriterionResult
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
from tests.dashboards.test_deadline_progress import place
from tests.html import element

pytestmark = pytest.mark.django_db

D = datetime.date
LATE_OCTOBER = D(2020, 10, 25)  # the village deadline (10-20), hence certification's, has passed
MID_OCTOBER = D(2020, 10, 15)
MET, NOT_MET = CriterionResult.MET, CriterionResult.NOT_MET
AT = datetime.datetime(2020, 10, 1, 10, 0, tzinfo=datetime.UTC)


def criteria(case, *rows):
    """``(criterion, result, certified)`` rows on ``case``."""
    for criterion, result, certified in rows:
        CriterionCheck.objects.create(
            case=case, criterion=criterion, result=result, certified_at=AT if certified else None
        )


@pytest.fixture
def waiting(campaign, alice):
    """Criteria waiting for certification (✓ counted):

    - village A, case at step 1: 义务教育 ✓, 住房 ✓, 收入 certified;
    - village A, case at step 3: 饮水 ✓, 基本医疗 not met (nothing to certify);
    - village A, an exited case: 义务教育 met, uncertified (not in progress);
    - village A2, case at step 2: 收入 ✓;
    - village B, case at step 4: 住房 ✓, 义务教育 certified;
    - 汉阴县, case at step 1: 义务教育 ✓;
    - village A, a case of the 2019 campaign: 义务教育 met, uncertified (another campaign).

    So village A 3, A2 1 (town A 4), village B 1 (town B 1), 汉滨区 5, 汉阴县 1.
    """
    a1, a3, done = (place(campaign, VILLAGE_A, step, alice) for step in (1, 3, DONE))
    criteria(a1, (Criterion.EDUCATION, MET, False), (Criterion.HOUSING, MET, False), (Criterion.INCOME, MET, True))
    criteria(a3, (Criterion.WATER, MET, False), (Criterion.MEDICAL, NOT_MET, False))
    criteria(done, (Criterion.EDUCATION, MET, False))
    criteria(place(campaign, VILLAGE_A2, 2, alice), (Criterion.INCOME, MET, False))
    criteria(place(campaign, VILLAGE_B, 4, alice), (Criterion.HOUSING, MET, False), (Criterion.EDUCATION, MET, True))
    criteria(place(campaign, OTHER_COUNTY_VILLAGE, 1, alice), (Criterion.EDUCATION, MET, False))
    last_year = Campaign.objects.create(
        year=2019,
        name="2019年度贫困户退出",
        income_line=3218,
        village_deadline=D(2019, 10, 20),
        town_deadline=D(2019, 10, 31),
        county_deadline=D(2019, 11, 10),
        marking_deadline=D(2019, 11, 20),
        step_levels=dict(campaign.step_levels),
        is_active=False,
    )
    criteria(place(last_year, VILLAGE_A, 1, alice), (Criterion.EDUCATION, MET, False))


def numbers(user, campaign, code, today=LATE_OCTOBER):
    """({child code: (waiting, overdue)}, (waiting, overdue) of the region, its certification)."""
    region = Region.objects.get(code=code)
    total, rows = deadline_progress(user=user, campaign=campaign, region=region, today=today)
    certification_progress(user=user, campaign=campaign, region=region, total=total, rows=rows, today=today)
    by_child = {row.code: (row.certification.waiting, row.certification.overdue) for row in rows}
    return by_child, (total.certification.waiting, total.certification.overdue), total.certification


def test_a_county_sees_each_town_s_waiting_criteria_all_overdue_after_the_village_deadline(carol, campaign, waiting):
    by_town, total, certification = numbers(carol, campaign, COUNTY)
    assert (by_town[TOWN_A], by_town[TOWN_B]) == ((4, 4), (1, 1))
    assert sum(w for w, _o in by_town.values()) == 5
    assert total == (5, 5)  # 汉阴县's is not here
    assert (certification.deadline, certification.days_left, certification.days_overdue) == (D(2020, 10, 20), -5, 5)


def test_before_the_deadline_nothing_is_overdue(carol, campaign, waiting):
    by_town, total, certification = numbers(carol, campaign, COUNTY, today=MID_OCTOBER)
    assert (by_town[TOWN_A], total) == ((4, 0), (5, 0))
    assert certification.days_left == 5


def test_the_campaign_s_own_certification_deadline_counts(carol, campaign, waiting):
    campaign.certification_deadline = D(2020, 10, 30)
    campaign.save()
    _by_town, total, certification = numbers(carol, campaign, COUNTY)
    assert total == (5, 0)
    assert (certification.deadline, certification.days_left) == (D(2020, 10, 30), 5)

    _by_town, total, _c = numbers(carol, campaign, COUNTY, today=D(2020, 10, 31))
    assert total == (5, 5)


def test_a_town_a_village_and_the_city(tom, alice, sue, campaign, waiting):
    by_village, total, _c = numbers(tom, campaign, TOWN_A)
    assert (by_village[VILLAGE_A], by_village[VILLAGE_A2], total) == ((3, 3), (1, 1), (4, 4))
    only, total, _c = numbers(alice, campaign, VILLAGE_A)
    assert (only, total) == ({VILLAGE_A: (3, 3)}, (3, 3))
    by_county, total, _c = numbers(sue, campaign, CITY)
    assert (by_county[COUNTY], by_county[OTHER_COUNTY], total) == ((5, 5), (1, 1), (6, 6))


def test_a_sector_account_counts_its_county(sam, campaign, waiting):
    """The dashboard counts every sector's criteria: it is the county's picture."""
    _by_town, total, _c = numbers(sam, campaign, COUNTY)
    assert total == (5, 5)


def test_one_query_whatever_the_number_of_cases(carol, campaign, waiting, alice):
    county = Region.objects.get(code=COUNTY)
    total, rows = deadline_progress(user=carol, campaign=campaign, region=county, today=LATE_OCTOBER)

    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            certification_progress(
                user=carol, campaign=campaign, region=county, total=total, rows=rows, today=LATE_OCTOBER
            )
        return len(captured)

    few = count_queries()
    for step in (1, 2, 3):
        criteria(place(campaign, VILLAGE_B, step, alice), (Criterion.WATER, MET, False), (Criterion.INCOME, MET, False))
    assert count_queries() == few == 1
    assert total.certification.waiting == 11


# --- the page, the API, the export ---------------------------------------------------------------


def test_the_page_shows_the_certification_deadline_with_the_level_deadlines(client, carol, campaign, waiting, clock):
    client.force_login(carol)
    page = client.get(f"/dashboard/deadlines/?campaign={campaign.pk}&region={COUNTY}")
    card = element(page, "div", data_testid="certification-card")
    # The clock stands on 10-12: eight days to 10-20, nothing overdue yet.
    assert "时限 2020-10-20" in card.text and "待认定 5 项" in card.text and "还剩 8 天" in card.text
    assert "逾期" not in card.text
    table = element(page, "table", data_testid="dashboard-table")
    assert "达标认定" in table.text and "待认定" in table.text


def test_once_overdue_the_page_says_so(client, carol, campaign, waiting, clock):
    clock.shift(13)  # 10-25
    client.force_login(carol)
    card = element(client.get(f"/dashboard/deadlines/?region={COUNTY}"), "div", data_testid="certification-card")
    assert "已过时限 5 天" in card.text and "逾期 5" in card.text
    assert "border-danger" in card.attrs["class"]


def test_the_api_and_the_export_give_the_page_s_numbers(client, carol, campaign, waiting, clock):
    clock.shift(13)  # 10-25
    client.force_login(carol)
    data = client.get(f"/api/v1/dashboard/deadlines/?campaign={campaign.pk}&region={COUNTY}").json()
    assert data["total"]["certification"] == {"deadline": "2020-10-20", "days_left": -5, "waiting": 5, "overdue": 5}
    town_a = next(row for row in data["children"] if row["code"] == TOWN_A)
    assert (town_a["certification"]["waiting"], town_a["certification"]["overdue"]) == (4, 4)

    sheet = load_workbook(
        io.BytesIO(b"".join(client.get(f"/dashboard/deadlines/export.xlsx?region={COUNTY}").streaming_content))
    ).active
    header = [cell.value for cell in sheet[1]]
    waiting_at, overdue_at = header.index("待达标认定（项）"), header.index("达标认定逾期（项）")
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert (rows["合计"][waiting_at], rows["合计"][overdue_at]) == (5, 5)
    town_a_name = Region.objects.get(code=TOWN_A).name
    assert (rows[town_a_name][waiting_at], rows[town_a_name][overdue_at]) == (4, 4)


# --- the sector's 我的待办 -----------------------------------------------------------------------


def certify_group(user, campaign, today):
    return next(g for g in todo_for(user=user, campaign=campaign, today=today) if g.key == "certify")


def test_the_sector_s_todo_runs_against_the_certification_deadline(sam, campaign, waiting):
    campaign.certification_deadline = D(2020, 10, 23)
    campaign.save()
    # sam certifies 义务教育: village A's first case waits (B's is certified, 汉阴县 is not sam's).
    group = certify_group(sam, campaign, D(2020, 10, 22))
    assert (group.count, group.deadline, group.days_left, group.overdue, group.late) == (
        1,
        D(2020, 10, 23),
        1,
        False,
        0,
    )
    group = certify_group(sam, campaign, D(2020, 10, 24))
    assert (group.overdue, group.days_overdue, group.late) == (True, 1, 1)


def test_without_its_own_deadline_the_sector_s_todo_uses_the_village_deadline(sam, campaign, waiting):
    group = certify_group(sam, campaign, LATE_OCTOBER)
    assert (group.deadline, group.overdue) == (D(2020, 10, 20), True)


def test_the_home_page_shows_the_sector_s_deadline_in_red_once_passed(client, sam, campaign, waiting, clock):
    campaign.certification_deadline = D(2020, 10, 14)
    campaign.save()
    client.force_login(sam)
    card = element(client.get("/"), "div", data_testid="todo-certify")
    assert "时限 2020-10-14" in card.text and "还剩 2 天" in card.text
    assert "border-danger" not in card.attrs["class"]
    clock.shift(3)  # 10-15
    client.force_login(sam)  # the session has timed out meanwhile
    card = element(client.get("/"), "div", data_testid="todo-certify")
    assert "时限 2020-10-14" in card.text and "已过 1 天" in card.text
    assert "border-danger" in card.attrs["class"]
