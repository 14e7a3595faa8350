"""The deadline dashboard page, its export and its API: the same numbers, each person's
own region only, drill-down and breadcrumb."""

import io

import pytest
from openpyxl import load_workbook

from tests.conftest import COUNTY, OTHER_COUNTY_VILLAGE, TOWN_A, TOWN_B, VILLAGE_A
from tests.dashboards.test_deadline_progress import cases  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_the_supervisor_drills_down_from_the_city(client, sue, campaign, cases):  # noqa: F811
    client.force_login(sue)
    page = client.get("/dashboard/deadlines/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"region={COUNTY}" in html and "汉阴县" in html  # both counties are rows, 汉滨区 drillable
    page = client.get(f"/dashboard/deadlines/?region={TOWN_A}")
    assert page.status_code == 200
    crumbs = page.content.decode().split('data-testid="dashboard-breadcrumb"')[1].split("</ol>")[0]
    assert "安康市" in crumbs and f"region={COUNTY}" in crumbs
    assert f"region={VILLAGE_A}" in page.content.decode()


def test_a_town_official_cannot_open_another_town(client, tom, campaign, cases):  # noqa: F811
    client.force_login(tom)
    assert client.get(f"/dashboard/deadlines/?region={TOWN_A}").status_code == 200
    assert client.get(f"/dashboard/deadlines/?region={TOWN_B}").status_code == 404
    assert client.get(f"/api/v1/dashboard/deadlines/?region={TOWN_B}").status_code == 404


def test_the_api_and_the_export_give_the_page_s_numbers(client, carol, campaign, cases):  # noqa: F811
    client.force_login(carol)
    data = client.get(f"/api/v1/dashboard/deadlines/?campaign={campaign.pk}&region={COUNTY}").json()
    assert data["total"]["total"] == 8
    town_a = next(row for row in data["children"] if row["code"] == TOWN_A)
    assert [(level["level"], level["done"]) for level in town_a["levels"]] == [
        ("village", 4), ("town", 3), ("county", 1), ("marking", 1),
    ]  # fmt: skip
    sheet = load_workbook(
        io.BytesIO(b"".join(client.get(f"/dashboard/deadlines/export.xlsx?region={COUNTY}").streaming_content))
    ).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["合计"][1] == 8
    assert OTHER_COUNTY_VILLAGE not in str(data)


def test_once_no_campaign_runs_the_dashboard_shows_the_latest(client, sue, campaign, cases):  # noqa: F811
    campaign.is_active = False
    campaign.save()
    client.force_login(sue)
    response = client.get("/dashboard/deadlines/")
    assert response.status_code == 200
    assert campaign.name in response.content.decode()
