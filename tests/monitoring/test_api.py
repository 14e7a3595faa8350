"""/api/v1/monitoring-cases/ and /api/v1/alerts/ (monitoring/api.py): scoped like the
pages, ruled by the same services, refusing with the same Chinese messages as
``{"detail": …, "reasons": [...], "fields": {...}}`` (400); the city supervisor reads but
every POST is 403; a case out of scope is 404. The alerts endpoint is the caller's own
inbox. Neither the list page nor the API list runs a query per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring import services
from monitoring.models import MonitoringCase, Stage
from monitoring.scans import at_risk_scan, response_overdue_scan
from notifications.models import Notification
from tests.conftest import (
    COUNTY,
    OTHER_COUNTY,
    OTHER_COUNTY_VILLAGE,
    TOWN_A,
    VILLAGE_A,
    VILLAGE_A2,
    VILLAGE_B,
    make_user,
)
from tests.monitoring.conftest import D, assisted, exited, go_to, low_income, poor, report, submitted

pytestmark = pytest.mark.django_db

URL = "/api/v1/monitoring-cases/"
READ_ONLY = {"detail": "市级督查账号为只读账号，不能修改数据。"}
CADRE_OR_TOWN = "此操作由村级录入员、镇办干部办理。"
MEASURE = {"type": "health", "content": "家庭医生签约", "responsible_person": "王医生", "due_on": "2020-12-01"}


def post(client, url, payload=None):
    return client.post(url, payload or {}, content_type="application/json")


def numbers(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {row["household_number"] for row in response.json()["results"]}


def named(household, name):
    household.members.filter(relationship="head").update(name=name)
    return household


@pytest.fixture
def cases(clock, alice, carol):
    """found: alice's exited household found by the scan (system, unstable, 其他) in
    screening; declared: a self-declared (因病) marginal household submitted for the
    county; helped: a marginal household in targeted assistance; and one case found by
    the scan in each of villages A2, B and 汉阴县."""
    found = named(exited(), "赵有才")
    low_income(found)
    declared = submitted(report(alice, named(poor(), "钱多多"), risk_types=["illness"]), alice)
    helped = assisted(named(poor(), "孙小美"), cadre=alice, county=carol)
    others = {}
    for village in (VILLAGE_A2, VILLAGE_B, OTHER_COUNTY_VILLAGE):
        household = named(exited(village), f"李{village[-4:]}")
        low_income(household)
        others[village] = household
    at_risk_scan()
    made = {
        "found": MonitoringCase.objects.get(household=found),
        "declared": declared,
        "helped": helped,
        "a2": MonitoringCase.objects.get(household=others[VILLAGE_A2]),
        "b": MonitoringCase.objects.get(household=others[VILLAGE_B]),
        "x": MonitoringCase.objects.get(household=others[OTHER_COUNTY_VILLAGE]),
    }
    for case in made.values():
        case.refresh_from_db()
    return made


def n(cases, *names) -> set[str]:
    return {cases[name].household.number for name in names}


# --- list, scope and filters --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("alice", ["found", "declared", "helped"]),
        ("bob", ["b"]),
        ("tom", ["found", "declared", "helped", "a2"]),
        ("carol", ["found", "declared", "helped", "a2", "b"]),
        ("zed", ["x"]),
        ("sue", ["found", "declared", "helped", "a2", "b", "x"]),
    ],
)
def test_the_list_holds_the_cases_in_scope(request, client, cases, who, visible):
    client.force_login(request.getfixturevalue(who))
    response = client.get(URL)
    assert numbers(response) == n(cases, *visible)
    assert response.json()["count"] == len(visible)


def test_a_row_says_what_the_case_is(client, cases, carol):
    client.force_login(carol)
    rows = {r["id"]: r for r in client.get(URL).json()["results"]}
    row = rows[cases["found"].pk]
    assert row["household_number"] == cases["found"].household.number
    assert (row["head_name"], row["village"], row["village_name"]) == ("赵有才", VILLAGE_A, cases["found"].village.name)
    assert (row["category"], row["category_display"]) == ("unstable", "脱贫不稳定户")
    assert (row["channel"], row["channel_display"]) == ("system", "系统监测")
    assert (row["stage"], row["stage_display"]) == ("screening", "全面排查")
    assert row["risk_types"] == ["other"]
    assert (row["discovered_on"], row["response_due"]) == ("2020-10-12", "2020-10-27")
    assert "findings" not in row
    assert rows[cases["declared"].pk]["stage_display"] == "综合研判"
    assert rows[cases["helped"].pk]["stage_display"] == "精准帮扶"


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ({"stage": "screening"}, ["found", "a2", "b"]),
        ({"stage": "assessment"}, ["declared"]),
        ({"stage": "assistance"}, ["helped"]),
        ({"stage": "closed"}, []),
        ({"category": "marginal"}, ["declared", "helped"]),
        ({"category": "unstable"}, ["found", "a2", "b"]),
        ({"channel": "self"}, ["declared", "helped"]),
        ({"channel": "system"}, ["found", "a2", "b"]),
        ({"channel": "assessment"}, []),
        ({"risk_type": "illness"}, ["declared", "helped"]),
        ({"risk_type": "other"}, ["found", "a2", "b"]),
        ({"risk_type": "ill"}, None),
        ({"q": "赵有"}, ["found"]),
        ({"q": "孙小美"}, ["helped"]),
        ({"q": "周"}, []),
        ({"region": VILLAGE_A}, ["found", "declared", "helped"]),
        ({"region": VILLAGE_A2}, ["a2"]),
        ({"region": TOWN_A}, ["found", "declared", "helped", "a2"]),
        ({"region": COUNTY}, ["found", "declared", "helped", "a2", "b"]),
        ({"region": OTHER_COUNTY}, []),
        ({"region": "nonsense"}, []),
        ({"stage": "screening", "region": TOWN_A}, ["found", "a2"]),
    ],
)
def test_the_list_filters(client, cases, carol, query, wanted):
    client.force_login(carol)
    response = client.get(URL, query)
    if wanted is None:  # not one of the choices
        assert response.status_code == 400
    else:
        assert numbers(response) == n(cases, *wanted)


def test_the_number_filter_takes_a_prefix(client, cases, carol):
    client.force_login(carol)
    number = cases["declared"].household.number
    assert numbers(client.get(URL, {"q": number})) == {number}


def test_the_response_overdue_filter_follows_the_clock(client, clock, cases, carol):
    client.force_login(carol)
    assert numbers(client.get(URL, {"response_overdue": "true"})) == set()
    go_to(D(2020, 10, 28), clock)
    client.force_login(carol)  # the session of 10-12 has expired
    assert numbers(client.get(URL, {"response_overdue": "true"})) == n(cases, "found", "declared", "a2", "b")
    assert numbers(client.get(URL, {"response_overdue": "false"})) == n(cases, "helped")


def test_the_page_list_uses_the_same_filters(client, cases, carol):
    from tests.html import element, elements

    client.force_login(carol)
    page = client.get("/monitoring/", {"channel": "self", "region": VILLAGE_A})
    assert element(page, "span", data_testid="result-count").text == "共 2 户"
    rows = elements(page, "a", data_testid="monitoring-row")
    assert {r.text.split()[0] for r in rows} == {"钱多多", "孙小美"}
    htmx = client.get("/monitoring/", {"risk_type": "other"}, headers={"HX-Request": "true"})
    assert element(htmx, "span", data_testid="result-count").text == "共 3 户"


# --- retrieve -----------------------------------------------------------------------------------


def test_a_case_comes_with_its_findings_units_and_measures(client, cases, alice):
    client.force_login(alice)
    body = client.get(f"{URL}{cases['helped'].pk}/").json()
    assert [f["channel"] for f in body["findings"]] == ["self"]
    assert body["responsible_units"] == [{"unit": "镇人社站", "person": "张三", "phone": "", "is_lead": True}]
    [measure] = body["measures"]
    assert (measure["type"], measure["type_display"], measure["due_on"], measure["done_on"]) == (
        "employment",
        "就业帮扶",
        "2020-11-30",
        None,
    )
    found = client.get(f"{URL}{cases['found'].pk}/").json()
    assert found["findings"][0]["key"] == f"income_low:{cases['found'].household_id}:2020"


@pytest.mark.parametrize("who", ["bob", "zed"])
def test_a_case_out_of_scope_is_404_and_so_is_every_post_on_it(request, client, cases, who):
    client.force_login(request.getfixturevalue(who))
    helped, declared = cases["helped"].pk, cases["declared"].pk
    assert client.get(f"{URL}{helped}/").status_code == 404
    for url, payload in [
        (f"{URL}{declared}/submit/", {"note": "核实"}),
        (f"{URL}{declared}/decide/", {"confirm": False, "reason": "不属于"}),
        (f"{URL}{helped}/units/", {"units": [{"unit": "村委会", "person": "李四", "is_lead": True}]}),
        (
            f"{URL}{helped}/measures/",
            {"type": "health", "content": "签约", "responsible_person": "王", "due_on": "2020-12-01"},
        ),
        (f"{URL}{helped}/close/", {"closed_on": "2020-10-12", "method": "收入稳定"}),
    ]:
        assert post(client, url, payload).status_code == 404, url
    for case in (cases["helped"], cases["declared"]):
        before = case.stage
        case.refresh_from_db()
        assert case.stage == before
    assert cases["helped"].responsible_units.get().unit == "镇人社站"


# --- create (report) ------------------------------------------------------------------------------


def test_a_cadre_reports_a_household(client, clock, alice):
    household = poor()
    client.force_login(alice)
    response = post(
        client,
        URL,
        {"household": household.pk, "channel": "assessment", "risk_types": ["disaster"], "description": "洪灾"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["stage"], body["channel"], body["category"], body["risk_types"]) == (
        "screening",
        "assessment",
        "marginal",
        ["disaster"],
    )
    assert [(f["channel"], f["risk_type"], f["detail"]) for f in body["findings"]] == [
        ("assessment", "disaster", "洪灾")
    ]
    assert MonitoringCase.objects.get().pk == body["id"]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"channel": "system"}, {"channel": ["请选择发现渠道：自我申报或镇村研判。"]}),
        ({"risk_types": []}, {"risk_types": ["请选择风险类型。"]}),
        ({"risk_types": ["illness"] * 2 + ["disability", "schooling", "disaster", "accident", "water"]},
         {"risk_types": ["风险类型最多选择5项。"]}),
        ({"description": ""}, {"description": ["请填写风险情况说明。"]}),
    ],
)  # fmt: skip
def test_a_refused_report_is_400_with_the_fields(client, clock, alice, changes, fields):
    household = poor()
    client.force_login(alice)
    payload = {"household": household.pk, "channel": "self", "risk_types": ["illness"], "description": "病", **changes}
    response = post(client, URL, payload)
    assert response.status_code == 400
    [message] = next(iter(fields.values()))
    assert response.json() == {"detail": message, "reasons": [], "fields": fields}
    assert not MonitoringCase.objects.exists()


def test_the_county_reporting_is_refused_with_the_reason(client, clock, carol):
    household = poor()
    client.force_login(carol)
    payload = {"household": household.pk, "channel": "self", "risk_types": ["illness"], "description": "病"}
    response = post(client, URL, payload)
    assert response.status_code == 400
    assert response.json() == {"detail": CADRE_OR_TOWN, "reasons": [CADRE_OR_TOWN], "fields": {}}


def test_a_household_out_of_scope_is_refused(client, clock, bob):
    household = poor()  # village A
    client.force_login(bob)
    payload = {"household": household.pk, "channel": "self", "risk_types": ["illness"], "description": "病"}
    response = post(client, URL, payload)
    assert response.status_code == 400
    assert response.json() == {"household": ["户不存在或不在您的管辖范围内。"]}
    assert not MonitoringCase.objects.exists()


def test_the_supervisor_reads_but_every_post_is_403(client, cases, sue):
    client.force_login(sue)
    assert client.get(f"{URL}{cases['helped'].pk}/").status_code == 200
    helped, declared = cases["helped"].pk, cases["declared"].pk
    for url, payload in [
        (URL, {"household": cases["found"].household_id, "channel": "self", "risk_types": ["illness"],
               "description": "病"}),
        (f"{URL}{declared}/submit/", {"note": "核实"}),
        (f"{URL}{declared}/decide/", {"confirm": True, "reason": "确认"}),
        (f"{URL}{helped}/units/", {"units": [{"unit": "村委会", "person": "李四", "is_lead": True}]}),
        (f"{URL}{helped}/measures/", MEASURE),
        (f"{URL}{helped}/close/", {"closed_on": "2020-10-12", "method": "收入稳定"}),
    ]:  # fmt: skip
        response = post(client, url, payload)
        assert (response.status_code, response.json()) == (403, READ_ONLY), url
    assert MonitoringCase.objects.get(pk=declared).stage == Stage.ASSESSMENT


# --- the stages over the API -------------------------------------------------------------------------


def test_the_stages_over_the_api(client, clock, alice, tom, carol):
    household = exited()
    client.force_login(alice)
    created = post(
        client, URL, {"household": household.pk, "channel": "self", "risk_types": ["illness"], "description": "重病"}
    ).json()
    url = f"{URL}{created['id']}/"

    refused = post(client, f"{url}submit/", {"note": " "})
    assert (refused.status_code, refused.json()) == (
        400,
        {"detail": "请填写排查情况。", "reasons": [], "fields": {"note": ["请填写排查情况。"]}},
    )
    assert post(client, f"{url}submit/", {"note": "入户核实"}).json()["stage"] == "assessment"

    refused = post(client, f"{url}decide/", {"confirm": True, "reason": "确认"})
    assert refused.json()["reasons"] == ["此操作由县级审批办理。"]
    client.force_login(carol)
    decided = post(client, f"{url}decide/", {"confirm": True, "reason": "确认", "risk_types": ["illness", "accident"]})
    assert decided.status_code == 200
    assert (decided.json()["stage"], decided.json()["risk_types"]) == ("assistance", ["illness", "accident"])

    refused = post(client, f"{url}units/", {"units": [{"unit": "镇人社站", "person": "张三", "is_lead": False}]})
    assert refused.json()["reasons"] == ["多个责任单位时必须有且只有一个牵头单位（当前0个）。"]
    units = post(
        client,
        f"{url}units/",
        {"units": [{"unit": "镇人社站", "person": "张三", "is_lead": True}, {"unit": "村委会", "person": "李四"}]},
    )
    assert [u["is_lead"] for u in units.json()["responsible_units"]] == [True, False]

    measure = {"type": "public_post", "content": "护林员", "responsible_person": "张三", "due_on": "2020-11-30"}
    refused = post(client, f"{url}measures/", {**measure, "type": "cash"})
    assert refused.json()["fields"] == {"type": ["请选择帮扶措施类型。"]}
    body = post(client, f"{url}measures/", measure).json()
    assert [m["type_display"] for m in body["measures"]] == ["公益岗位"]

    client.force_login(tom)
    refused = post(client, f"{url}close/", {"closed_on": "2020-10-12", "method": ""})
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "还有帮扶措施未完成。；请填写风险消除方式。",
        "reasons": ["还有帮扶措施未完成。"],
        "fields": {"method": ["请填写风险消除方式。"]},
    }
    services.measure_done(by=tom, measure=MonitoringCase.objects.get(pk=created["id"]).measures.get())
    closed = post(client, f"{url}close/", {"closed_on": "2020-10-12", "method": "公益岗位收入稳定"})
    assert closed.status_code == 200
    assert (closed.json()["stage"], closed.json()["closed_on"], closed.json()["close_method"]) == (
        "closed",
        "2020-10-12",
        "公益岗位收入稳定",
    )
    case = MonitoringCase.objects.get(pk=created["id"])
    assert case.closed_by == tom


def test_a_dismissal_over_the_api(client, clock, alice, carol):
    case = report(alice, poor())
    client.force_login(carol)
    response = post(client, f"{URL}{case.pk}/decide/", {"confirm": False, "reason": "收入稳定"})
    assert (response.json()["stage"], response.json()["decision_reason"]) == ("dismissed", "收入稳定")
    again = post(client, f"{URL}{case.pk}/decide/", {"confirm": True, "reason": "确认"})
    assert (again.status_code, again.json()["reasons"]) == (400, ["该对象已作出研判决定。"])


# --- alerts: the caller's own inbox ------------------------------------------------------------------


@pytest.fixture
def late(clock, cases, carol, zed):
    """On 10-28 every undecided case is one day past its deadline: alerts to the counties."""
    go_to(D(2020, 10, 28), clock)
    response_overdue_scan()
    return cases


def alerts(client, user, **query):
    client.force_login(user)
    response = client.get("/api/v1/alerts/", query)
    assert response.status_code == 200
    return response.json()["results"]


def test_the_alerts_endpoint_shows_only_the_callers_own_notifications(client, late, alice, carol, zed, sue):
    carol2 = make_user("carol2", "county_official", COUNTY, full_name="陈二")  # joined after the scan
    mine = alerts(client, carol)
    assert {row["link"] for row in mine} == {
        f"/monitoring/{late[name].pk}/" for name in ("found", "declared", "a2", "b")
    }
    assert {row["kind"] for row in mine} == {"monitoring_response"}
    row = next(r for r in mine if r["link"] == f"/monitoring/{late['found'].pk}/")
    assert row["title"] == f"监测对象{late['found'].household.number}已超过响应时限（2020-10-27）仍未研判"
    assert (row["region"], row["due_on"], row["cleared_at"], row["read_at"]) == (VILLAGE_A, "2020-10-27", None, None)

    assert [r["link"] for r in alerts(client, zed)] == [f"/monitoring/{late['x'].pk}/"]
    assert alerts(client, alice) == []
    assert alerts(client, sue) == []
    assert alerts(client, carol2) == []


def test_nobody_reads_or_marks_another_persons_notification(client, late, carol, zed):
    theirs = Notification.objects.get(user=zed)
    client.force_login(carol)
    assert client.get(f"/api/v1/alerts/{theirs.pk}/").status_code == 404
    assert post(client, f"/api/v1/alerts/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None

    client.force_login(zed)
    read = post(client, f"/api/v1/alerts/{theirs.pk}/read/")
    assert read.status_code == 200 and read.json()["read_at"] is not None


def test_a_decided_case_clears_its_alert_in_the_inbox(client, late, carol, alice):
    services.case_decide(by=carol, case=late["declared"], confirm=True, reason="确认")
    response_overdue_scan()
    everything = alerts(client, carol)
    assert len(everything) == 4
    cleared = [r["link"] for r in everything if r["cleared_at"]]
    assert cleared == [f"/monitoring/{late['declared'].pk}/"]
    assert len(alerts(client, carol, open="1")) == 3


# --- no N+1 ---------------------------------------------------------------------------------------


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [
        "/monitoring/",
        "/monitoring/?stage=screening&risk_type=other",
        "/monitoring/?q=%E7%8E%8B",
        URL,
        f"{URL}?response_overdue=false&region={TOWN_A}",
        "/monitoring/export/cases.xlsx",
    ],
)
def test_the_lists_do_not_grow_with_the_number_of_cases(client, clock, alice, carol, url):
    def found(count):
        for i in range(count):
            household = exited(VILLAGE_A if i % 2 else VILLAGE_A2)
            low_income(household)
        at_risk_scan()

    found(2)
    client.force_login(carol)
    client.get(url)  # warm up: session, content types
    with_two = queries_for(client, url)

    found(8)
    assert MonitoringCase.objects.count() == 10
    with_ten = queries_for(client, url)

    assert with_ten == with_two
