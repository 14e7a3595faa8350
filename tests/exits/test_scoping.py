"""Scope on every exit page: a user never sees or changes a case outside their region
(404, as if it did not exist), lists hold only in-scope cases, and the city supervisor
reads everything but every POST is refused (DOMAIN.md §1)."""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from exits import services
from exits.models import Criterion, ExitCase, Objection, SituationKind, SpecialSituation, Step, StepRecord
from households.models import IncomeRecord
from tests.exits.conftest import PDF, ready_household, upload
from tests.html import element, elements, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(flow, media, alice, amy, bob, olga, tom):
    """alice's case in notice with an objection and an attachment, a 失联 household of
    village A under investigation, and one just-enrolled case in each of villages A2
    (same town), B (other town) and 汉阴县."""
    case = flow.enrol()
    case.household.members.filter(relationship="head").update(name="李四海")
    flow.bring_to(case, Step.NOTICE)
    services.notice_open(by=tom, case=case)
    objection = services.objection_add(by=alice, case=case, content="收入有误")
    attachment = services.attachment_add(by=alice, case=case, upload=upload("核实表.pdf", PDF), step=1)
    lost = ready_household(lost_contact=True)
    situation = services.situation_investigate(
        by=alice, campaign=flow.campaign, household=lost, kind=SituationKind.LOST_CONTACT, investigation="在外务工"
    )
    others = {
        "A2": flow.enrol(ready_household("610902101202"), by=amy, certify=False),
        "B": flow.enrol(ready_household("610902102201"), by=bob, certify=False),
        "Z": flow.enrol(ready_household("610921101201"), by=olga, certify=False),
    }
    return {
        "case": case,
        "objection": objection,
        "attachment": attachment,
        "check": case.criteria.get(criterion=Criterion.HOUSING),
        "lost": lost,
        "situation": situation,
        "others": others,
    }


def get_urls(w):
    return [f"/exits/{w['case'].pk}/", f"/exits/attachments/{w['attachment'].pk}/"]


def post_urls(w):
    """Every page that writes, with a body that would succeed for the right person."""
    case, check = w["case"], w["check"]
    return [
        (f"/exits/{case.pk}/advance/", {}),
        (f"/exits/{case.pk}/return/", {"to_step": "1", "reason": "重做"}),
        (f"/exits/{case.pk}/notice/", {}),
        (f"/exits/{case.pk}/objections/", {"content": "又一条异议"}),
        (f"/exits/{case.pk}/attachments/", {"file": upload("x.pdf", PDF), "target": "step:1"}),
        (f"/exits/objections/{w['objection'].pk}/resolve/", {"upheld": "1", "resolution": "属实"}),
        (f"/exits/criteria/{check.pk}/certify/", {"note": "同意"}),
        (f"/exits/criteria/{check.pk}/assess/", {"assessment": "met", "note": "看过"}),
        (f"/exits/situations/{w['lost'].pk}/investigate/", {"kind": "lost_contact", "investigation": "改"}),
        (f"/exits/situations/{w['situation'].pk}/decide/", {"decision": "proceed", "note": "可以"}),
    ]


def snapshot(w):
    case = ExitCase.objects.get(pk=w["case"].pk)
    return (
        case.current_step,
        case.version,
        case.notice_started_on,
        StepRecord.objects.filter(is_reset=True).count(),
        list(Objection.objects.values_list("status", flat=True)),
        w["case"].attachments.count(),
        list(case.criteria.values_list("assessment", "certified_at")),
        list(SpecialSituation.objects.values_list("investigation", "decision")),
    )


@pytest.mark.parametrize("who", ["bob", "zed"])
def test_every_page_of_a_case_is_404_outside_scope(request, client, world, who):
    before = snapshot(world)
    client.force_login(request.getfixturevalue(who))
    for url in get_urls(world):
        assert client.get(url).status_code == 404, url
    for url, body in [*post_urls(world), (f"/exits/{world['case'].pk}/criteria/refresh/", {})]:
        assert client.post(url, body).status_code == 404, url
    assert snapshot(world) == before


def test_the_supervisor_reads_every_page(client, world, sue):
    client.force_login(sue)
    for url in get_urls(world):
        assert client.get(url).status_code == 200, url
    for url in ["/exits/", "/exits/approvals/", "/exits/situations/", "/exits/notice-list/"]:
        assert client.get(url).status_code == 200, url


def test_the_supervisor_cannot_post_anything(client, world, sue):
    before = snapshot(world)
    client.force_login(sue)
    batch = ("/exits/batch/", {"step": "5", "cases": [world["case"].pk]})
    enrol = ("/exits/enrol/", {"households": [world["lost"].pk]})
    for url, body in [*post_urls(world), batch, enrol]:
        response = client.post(url, body)
        assert response.status_code == 403, url
        assert "市级督查账号为只读账号，不能修改数据。" in response.content.decode(), url
    assert snapshot(world) == before


def test_the_supervisor_cannot_post_a_refresh(client, world, sue):
    case = world["case"]
    IncomeRecord.objects.filter(household=case.household).update(wage_income=Decimal("1000"))
    client.force_login(sue)
    assert client.post(f"/exits/{case.pk}/criteria/refresh/").status_code == 403
    assert case.criteria.get(criterion=Criterion.INCOME).is_certified  # nothing re-measured


EXPECTED_COUNTS = {"alice": 1, "amy": 1, "tom": 2, "bob": 1, "carol": 3, "sam": 3, "zed": 1, "sue": 4, "root": 4}


@pytest.mark.parametrize("who", list(EXPECTED_COUNTS))
def test_the_case_list_holds_only_cases_in_scope(request, client, world, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = client.get("/exits/")
    visible = set(ExitCase.objects.visible_to(user).values_list("household__number", flat=True))
    assert len(visible) == EXPECTED_COUNTS[who]
    assert element(response, "span", data_testid="result-count").text == f"共 {len(visible)} 户"
    page = text(response)
    for case in ExitCase.objects.all():
        assert (case.household.number in page) == (case.household.number in visible), (who, case)


@pytest.mark.parametrize("who", ["bob", "zed", "tom"])
def test_the_notice_list_approvals_situations_and_export_stay_in_scope(request, client, world, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    number = world["case"].household.number
    in_scope = who == "tom"
    assert ("李四海" in text(client.get("/exits/notice-list/"))) == in_scope  # the notice shows names only
    assert (number in text(client.get("/exits/approvals/"))) == in_scope  # its open objection is listed
    assert (world["lost"].number in text(client.get("/exits/situations/"))) == in_scope

    response = client.get("/exits/export/cases.xlsx")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cells = {str(c) for row in sheet.iter_rows(values_only=True) for c in row}
    assert (number in cells) == in_scope
    visible = ExitCase.objects.visible_to(user).values_list("household__number", flat=True)
    assert {n for n in ExitCase.objects.values_list("household__number", flat=True) if n in cells} == set(visible)


def test_the_notice_lists_each_household_of_the_village_once(client, world, flow, tom):
    second = flow.enrol()
    flow.bring_to(second, Step.NOTICE)
    services.notice_open(by=tom, case=second)
    client.force_login(tom)
    rows = [row.text for row in elements(client.get("/exits/notice-list/"), "tr")[1:]]
    assert [row.split()[:2] for row in rows] == [["1", "西关村"], ["2", "西关村"]]


def test_the_case_page_shows_a_supervisor_no_forms(client, world, sue):
    client.force_login(sue)
    page = client.get(f"/exits/{world['case'].pk}/").content.decode()
    for testid in ("complete-step", "return-case", "add-objection", "open-notice"):
        assert f'data-testid="{testid}"' not in page
