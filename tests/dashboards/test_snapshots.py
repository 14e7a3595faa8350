"""The dashboards' precomputed numbers (issue 17): the every-minute job counts the city's
and each county's deadline and monitoring dashboards once; the pages, the API, the export
and the supervisor's home read them with the time they were counted, and count live —
and say so — when the snapshot is missing, too old, from another day or for a town or a
village."""

import dataclasses
import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards.models import DashboardSnapshot
from dashboards.snapshots import count_deadlines, deadline_numbers, monitoring_numbers, snapshots_refresh
from dashboards.tasks import snapshots_refresh_task
from exits.models import DONE, Step
from monitoring.models import Stage
from regions.models import Region
from tests.conftest import CITY, COUNTY, OTHER_COUNTY_VILLAGE, TOWN_A, VILLAGE_A
from tests.dashboards.test_deadline_progress import cases, place  # noqa: F401 - fixture
from tests.dashboards.test_monitoring_dashboard import monitored  # noqa: F401 - fixture
from tests.html import element, text

pytestmark = pytest.mark.django_db


def region(code):
    return Region.objects.get(code=code)


def plain(numbers):
    """A dashboard's numbers as plain data, without when they were counted."""
    return {k: v for k, v in dataclasses.asdict(numbers).items() if k != "counted_at"}


@pytest.mark.parametrize("code", [CITY, COUNTY])
def test_the_snapshot_holds_the_numbers_counted_live(sue, campaign, cases, clock, code):  # noqa: F811
    clock.shift(13)  # 2020-10-25: the village deadline has passed, so cases are overdue
    live = count_deadlines(user=sue, campaign=campaign, region=region(code), today=timezone.localdate())
    assert live.overdue_count and live.burndown
    snapshots_refresh()
    stored = deadline_numbers(user=sue, campaign=campaign, region=region(code))
    assert stored.counted_at == DashboardSnapshot.objects.get(region=code, kind="deadlines").counted_at
    assert plain(stored) == plain(live)


@pytest.mark.parametrize("code", [CITY, COUNTY])
def test_the_monitoring_snapshot_holds_the_numbers_counted_live(sue, monitored, code):  # noqa: F811
    live = monitoring_numbers(user=sue, region=region(code))
    assert live.counted_at is None and live.total.total
    snapshots_refresh()
    stored = monitoring_numbers(user=sue, region=region(code))
    assert stored.counted_at is not None
    assert plain(stored) == plain(live)
    assert stored.total.stages[Stage.SCREENING] == live.total.stages[Stage.SCREENING]


def test_pages_read_the_snapshot_until_the_next_count(client, carol, campaign, cases, alice):  # noqa: F811
    client.force_login(carol)
    snapshots_refresh()
    page = client.get(f"/dashboard/deadlines/?region={COUNTY}")
    assert "统计于" in element(page, "p", data_testid="dashboard-counted-at").text
    assert element(page, "tr", class_name="table-light").text.split()[1] == "8"  # 汉滨区's 8 cases
    place(campaign, VILLAGE_A, 2, alice)  # a ninth case: not counted until the job runs again
    assert element(client.get("/dashboard/deadlines/"), "tr", class_name="table-light").text.split()[1] == "8"
    snapshots_refresh()
    assert element(client.get("/dashboard/deadlines/"), "tr", class_name="table-light").text.split()[1] == "9"
    api = client.get(f"/api/v1/dashboard/deadlines/?region={COUNTY}").json()
    assert api["total"]["total"] == 9 and api["counted_at"].endswith("+08:00")


def test_an_old_snapshot_is_not_shown(client, carol, campaign, cases, alice, settings):  # noqa: F811
    settings.REGION_TALLY_MAX_AGE = 600
    snapshots_refresh()
    place(campaign, VILLAGE_A, 2, alice)
    DashboardSnapshot.objects.update(counted_at=timezone.now() - datetime.timedelta(seconds=601))
    client.force_login(carol)
    page = client.get("/dashboard/deadlines/")
    assert "实时统计" in element(page, "p", data_testid="dashboard-counted-at").text
    assert element(page, "tr", class_name="table-light").text.split()[1] == "9"
    assert client.get("/api/v1/dashboard/deadlines/").json()["counted_at"] is None


def test_yesterday_s_snapshot_is_not_today_s(sue, campaign, cases, clock):  # noqa: F811
    """Overdue is a matter of the day: a count from before midnight is not shown after it."""
    clock.shift(8)  # 2020-10-20, the village deadline
    snapshots_refresh()
    assert deadline_numbers(user=sue, campaign=campaign, region=region(CITY)).counted_at is not None
    clock.shift(1)  # 2020-10-21: the village level is now overdue
    numbers = deadline_numbers(user=sue, campaign=campaign, region=region(CITY))
    assert numbers.counted_at is None and numbers.total.levels[0].overdue


def test_towns_and_villages_are_counted_live(sue, campaign, cases):  # noqa: F811
    snapshots_refresh()
    assert set(DashboardSnapshot.objects.values_list("region__level", flat=True)) == {"city", "county"}
    for code in (TOWN_A, VILLAGE_A):
        assert deadline_numbers(user=sue, campaign=campaign, region=region(code)).counted_at is None
        assert monitoring_numbers(user=sue, region=region(code)).counted_at is None


def test_a_snapshot_counts_what_anyone_in_the_region_sees(client, carol, zed, campaign, cases):  # noqa: F811
    """One snapshot per region serves everyone who may see the region, and nobody sees
    a region outside their own through it."""
    snapshots_refresh()
    client.force_login(zed)  # the other county's official
    assert client.get(f"/dashboard/deadlines/?region={COUNTY}").status_code == 404
    own = client.get("/api/v1/dashboard/deadlines/").json()
    assert own["counted_at"] and own["total"]["total"] == 1  # his county's one case
    assert own["region"][:6] == OTHER_COUNTY_VILLAGE[:6]


def test_the_overdue_list_speaks_the_reader_s_language(client, carol, campaign, cases, clock):  # noqa: F811
    clock.shift(13)
    snapshots_refresh()
    client.force_login(carol)
    overdue = client.get("/api/v1/dashboard/deadlines/", HTTP_ACCEPT_LANGUAGE="en").json()["overdue"]
    assert overdue and all(row["step_label"].isascii() for row in overdue)
    chinese = client.get("/api/v1/dashboard/deadlines/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["overdue"]
    assert {row["step_label"] for row in chinese} <= {str(label) for label in Step.labels}


def test_the_supervisor_s_home_reads_the_city_s_snapshot(client, sue, campaign, cases, alice):  # noqa: F811
    snapshots_refresh()
    place(campaign, VILLAGE_A, DONE, alice)
    client.force_login(sue)
    home = client.get("/")
    progress = element(home, "section", data_testid="home-progress")
    assert "统计于" in progress.text and "/ 9" in progress.text  # the snapshot's 9 cases, not 10
    DashboardSnapshot.objects.all().delete()
    assert "/ 10" in element(client.get("/"), "section", data_testid="home-progress").text
    assert "实时统计" in text(client.get("/"))


def test_a_snapshot_page_takes_the_same_queries_whatever_the_cases(client, sue, campaign, alice):
    client.force_login(sue)

    def queries():
        snapshots_refresh()
        client.get("/dashboard/deadlines/")
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/dashboard/deadlines/").status_code == 200
        return len(captured)

    place(campaign, VILLAGE_A, 1, alice)
    few = queries()
    for step in (1, 2, 3, 5, 7, DONE):
        place(campaign, VILLAGE_A, step, alice)
        place(campaign, OTHER_COUNTY_VILLAGE, step, alice)
    assert queries() == few


def test_the_job_replaces_the_snapshots_and_skips_while_another_runs(campaign, cases):  # noqa: F811
    assert snapshots_refresh_task.apply().get() == {
        "snapshots": 2 * Region.objects.filter(level__in=["city", "county"]).count()
    }
    first = set(DashboardSnapshot.objects.values_list("pk", flat=True))
    snapshots_refresh_task.apply().get()
    assert first.isdisjoint(DashboardSnapshot.objects.values_list("pk", flat=True))
    from core.locks import single_run

    with single_run("dashboards.snapshots_refresh") as acquired:
        assert acquired
        assert snapshots_refresh_task.apply().get().get("skipped")
