"""The monitoring dashboard page, its export and its API (issue 7): the numbers of
``monitoring_progress`` for the cases of ``test_monitoring_dashboard``, drill-down to
regions with cases, breadcrumb back up to the person's own region, and nobody opening
a region outside their own."""

import io
import json

import pytest
from openpyxl import load_workbook

from dashboards.monitoring import monitoring_progress
from regions.models import Region
from tests.conftest import CITY, COUNTY, OTHER_COUNTY, TOWN_A, TOWN_B, VILLAGE_A, VILLAGE_A2
from tests.dashboards.test_monitoring_dashboard import COMMUNITY_A, monitored  # noqa: F401 - fixture
from tests.html import breadcrumb, element, elements, text

pytestmark = pytest.mark.django_db


def page(client, region=None):
    response = client.get("/dashboard/monitoring/" + (f"?region={region}" if region else ""))
    assert response.status_code == 200
    return response


def table_body(response) -> str:
    return response.content.decode().split('data-testid="monitoring-table"')[1].split("<tbody>")[1].split("</tbody>")[0]


def table_rows(response) -> list[list[str]]:
    """The cells of each row of the table (the total last), as a person reads them."""
    return [row.text.split(" ") for row in elements(table_body(response), "tr")]


def table_links(response) -> list[str]:
    """The drill-down links of the table, in order."""
    return [href for a in elements(table_body(response), "a") for href in a.hrefs]


def card(response, name) -> str:
    return element(response, "div", data_testid=f"card-{name}").text


def crumbs(response) -> list[tuple[str, str | None]]:
    """[(name, link or None)] of the breadcrumb."""
    items = elements(response, "li", "breadcrumb-item")
    return [(item.text, item.hrefs[0] if item.hrefs else None) for item in items]


def test_the_supervisor_drills_down_from_the_city_to_a_village(client, sue, monitored):  # noqa: F811
    client.force_login(sue)

    city = page(client)
    assert (card(city, "total"), card(city, "response-overdue"), card(city, "measures-overdue")) == ("15", "4", "6")
    assert card(city, "closure-rate") == "37.5%"
    assert "已销号 3 / 已认定 8" in text(city) and "未销号 11" in text(city)
    assert crumbs(city) == [("安康市", None)]
    # Only the two counties with cases can be opened; the eight without are plain rows.
    assert table_links(city) == [f"?region={COUNTY}", f"?region={OTHER_COUNTY}"]
    assert len(table_rows(city)) == 10 + 1

    county = page(client, COUNTY)
    assert card(county, "total") == "13"
    assert table_links(county) == [f"?region={TOWN_A}", f"?region={TOWN_B}"]  # not the two 街道
    assert crumbs(county) == [("安康市", f"?region={CITY}"), ("汉滨区", None)]

    town = page(client, TOWN_A)
    assert table_links(town) == [f"?region={VILLAGE_A}", f"?region={VILLAGE_A2}"]  # not the empty community
    assert crumbs(town) == [("安康市", f"?region={CITY}"), ("汉滨区", f"?region={COUNTY}"), ("银滩镇", None)]

    village = page(client, VILLAGE_A)
    assert table_links(village) == []  # a village is the bottom
    assert table_rows(village) == [
        ["西关村", "7", "2", "1", "2", "1", "1", "2", "3", "33.3%"],
        ["合计", "7", "2", "1", "2", "1", "1", "2", "3", "33.3%"],
    ]
    assert [name for name, _link in crumbs(village)] == ["安康市", "汉滨区", "银滩镇", "西关村"]
    assert [bool(link) for _name, link in crumbs(village)] == [True, True, True, False]


def test_the_breadcrumb_starts_at_the_person_s_own_region(client, carol, tom, monitored):  # noqa: F811
    client.force_login(carol)
    assert breadcrumb(page(client, VILLAGE_A)) == [("汉滨区", True), ("银滩镇", True), ("西关村", False)]
    assert crumbs(page(client))[-1] == ("汉滨区", None)

    client.force_login(tom)
    village_a2 = Region.objects.get(code=VILLAGE_A2).name
    assert crumbs(page(client, VILLAGE_A2)) == [("银滩镇", f"?region={TOWN_A}"), (village_a2, None)]


def test_the_table_shows_each_town_s_numbers_and_the_county_s_total(client, carol, monitored):  # noqa: F811
    client.force_login(carol)
    rows = table_rows(page(client, COUNTY))
    # region, cases, screening, assessment, assistance, closed, dismissed, late responses, late measures, rate
    assert rows == [
        ["黄湖街道", "0", "0", "0", "0", "0", "0", "0", "0", "—"],
        ["松河街道", "0", "0", "0", "0", "0", "0", "0", "0", "—"],
        ["银滩镇", "10", "2", "2", "3", "2", "1", "2", "4", "40.0%"],
        [Region.objects.get(code=TOWN_B).name, "3", "1", "0", "1", "1", "0", "1", "1", "50.0%"],
        ["合计", "13", "3", "2", "4", "3", "1", "3", "5", "42.9%"],
    ]


def test_the_breakdown_shows_the_county_s_cases_by_category_channel_and_risk(client, carol, monitored):  # noqa: F811
    client.force_login(carol)
    response = page(client, COUNTY)

    category = element(response, "ul", data_testid="breakdown-category").text
    assert category == "脱贫不稳定户 6 边缘易致贫户 5 其他 2"
    channel = element(response, "ul", data_testid="breakdown-channel").text
    assert channel == "自我申报 5 镇村研判 3 行业比对 2 系统监测 3"
    risks = element(response, "ul", data_testid="breakdown-risk_type")
    # Only the risk types some case has, each linking to its cases in the list.
    assert risks.text == (
        "因病 3 因残 1 因学 2 因灾 1 因意外事故 1 因产业项目失败 1 因务工就业不稳 1 "
        "因缺劳动力 1 因安全住房 1 因安全饮水 1 因疫情 1 其他 3"
    )
    assert f"/monitoring/?region={COUNTY}&risk_type=business_failure" in risks.hrefs
    # In village A's town nobody is at risk from an epidemic, an accident or a disaster.
    town_risks = element(page(client, TOWN_A), "ul", data_testid="breakdown-risk_type").text
    assert town_risks == (
        "因病 3 因残 1 因学 2 因产业项目失败 1 因务工就业不稳 1 因缺劳动力 1 因安全住房 1 因安全饮水 1 其他 2"
    )

    chart = json.loads(
        response.content.decode().split('id="monitoring-data" type="application/json">')[1].split("</script>")[0]
    )
    # The bars leave out the towns without cases (黄湖街道, 松河街道); the table lists them.
    assert chart["regions"] == ["银滩镇", Region.objects.get(code=TOWN_B).name]
    assert [s["values"] for s in chart["stages"]] == [[2, 1], [2, 0], [3, 1], [2, 1], [1, 0]]
    assert {item["name"]: item["value"] for item in chart["breakdown"]["risk_type"]}["其他"] == 3


def listed(client, href) -> str:
    return element(client.get(href), "span", data_testid="result-count").text


def test_each_count_links_to_a_list_of_as_many_cases(client, carol, monitored):  # noqa: F811
    client.force_login(carol)
    response = page(client, COUNTY)

    late = element(response, "div", data_testid="card-response-overdue")
    assert (late.text, listed(client, late.hrefs[0])) == ("3", "共 3 户")
    section = response.content.decode().split('data-testid="breakdown"')[1].split('id="monitoring-data"')[0]
    items = [(li.hrefs[0], li.text.rsplit(" ", 1)[1]) for li in elements(section, "li")]
    assert len(items) == 3 + 4 + 12  # every category and channel, the risk types some case has
    for href, n in items:
        assert listed(client, href) == f"共 {n} 户", href


def test_a_town_official_sees_the_town_s_villages_and_nothing_else(client, tom, monitored):  # noqa: F811
    client.force_login(tom)
    own = page(client)
    assert [row[0] for row in table_rows(own)] == [
        Region.objects.get(code=code).name for code in (COMMUNITY_A, VILLAGE_A, VILLAGE_A2)
    ] + ["合计"]
    assert card(own, "total") == "10"
    assert crumbs(own) == [("银滩镇", None)]

    for outside in (TOWN_B, COUNTY, CITY, OTHER_COUNTY, "610902102201", "not-a-code"):
        assert client.get(f"/dashboard/monitoring/?region={outside}").status_code == 404
        assert client.get(f"/dashboard/monitoring/export.xlsx?region={outside}").status_code == 404
        assert client.get(f"/api/v1/dashboard/monitoring/?region={outside}").status_code == 404


def test_a_village_cadre_sees_only_the_village(client, alice, monitored):  # noqa: F811
    client.force_login(alice)
    own = page(client)
    assert [row[0] for row in table_rows(own)] == ["西关村", "合计"]
    assert table_links(own) == []
    assert client.get(f"/dashboard/monitoring/?region={VILLAGE_A2}").status_code == 404
    assert client.get(f"/api/v1/dashboard/monitoring/?region={VILLAGE_A2}").status_code == 404
    assert client.get("/api/v1/dashboard/monitoring/").json()["total"]["total"] == 7


def test_nobody_signed_out_sees_the_numbers(client, monitored):  # noqa: F811
    assert client.get("/dashboard/monitoring/").status_code == 302
    assert client.get("/dashboard/monitoring/export.xlsx").status_code == 302
    assert client.get("/api/v1/dashboard/monitoring/").status_code in (401, 403)


def export(client, region) -> list[list]:
    """The rows of the workbook behind the page's "导出本表" button."""
    button = element(page(client, region), "a", data_testid="export-monitoring")
    response = client.get(button.hrefs[0])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def as_on_screen(row) -> list[str]:
    """An exported row as the table prints it (the rate last, with one decimal and %)."""
    *counts, rate = row
    return [str(value) for value in counts] + ["—" if rate is None else f"{float(rate)}%"]


@pytest.mark.parametrize("where", [COUNTY, TOWN_A, VILLAGE_A])
def test_the_export_holds_the_table_s_rows(client, carol, monitored, where):  # noqa: F811
    client.force_login(carol)
    sheet = export(client, where)
    assert sheet[0] == [
        "区划", "发现风险户", "全面排查", "综合研判", "精准帮扶", "动态销号", "研判排除",
        "响应逾期", "帮扶措施逾期", "销号率（%）",
    ]  # fmt: skip
    assert [as_on_screen(row) for row in sheet[1:]] == table_rows(page(client, where))


def test_the_export_has_numbers_not_text(client, carol, monitored):  # noqa: F811
    client.force_login(carol)
    rows = {row[0]: row for row in export(client, TOWN_A)[1:]}
    assert rows["合计"] == ["合计", 10, 2, 2, 3, 2, 1, 2, 4, 40.0]
    assert rows[Region.objects.get(code=COMMUNITY_A).name][-1] is None  # no confirmed risk: no rate


def serialised(progress) -> dict:
    return {
        "code": progress.code,
        "name": progress.name,
        "total": progress.total,
        "open": progress.open,
        "stages": {str(stage): n for stage, n in progress.stages.items()},
        "response_overdue": progress.response_overdue,
        "measures_overdue": progress.measures_overdue,
        "confirmed": progress.confirmed,
        "closure_rate": progress.closure_rate,
    }


@pytest.mark.parametrize(("who", "where"), [("sue", CITY), ("carol", COUNTY), ("carol", TOWN_A), ("tom", None)])
def test_the_api_gives_the_service_s_numbers(request, client, monitored, who, where):  # noqa: F811
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = client.get("/api/v1/dashboard/monitoring/" + (f"?region={where}" if where else ""))
    assert response.status_code == 200
    data = response.json()

    region = Region.objects.get(code=where or user.region_id)
    total, rows, breakdown = monitoring_progress(user=user, region=region)
    assert data["region"] == region.code
    assert data["total"] == serialised(total)
    assert data["children"] == [serialised(row) for row in rows]
    for name in ("category", "channel", "risk_type"):
        assert data[name] == [{"value": v, "label": label, "count": n} for v, label, n in breakdown[name]]


def test_the_api_numbers_are_the_county_s(client, carol, monitored):  # noqa: F811
    client.force_login(carol)
    data = client.get(f"/api/v1/dashboard/monitoring/?region={COUNTY}").json()
    assert data["total"]["total"] == 13 and data["total"]["closure_rate"] == 42.9
    assert data["total"]["stages"] == {"screening": 3, "assessment": 2, "assistance": 4, "closed": 3, "dismissed": 1}
    town_a = next(row for row in data["children"] if row["code"] == TOWN_A)
    assert (town_a["open"], town_a["response_overdue"], town_a["measures_overdue"], town_a["confirmed"]) == (7, 2, 4, 5)
    assert {row["value"]: row["count"] for row in data["risk_type"]}["other"] == 3
    assert OTHER_COUNTY not in json.dumps(data)
