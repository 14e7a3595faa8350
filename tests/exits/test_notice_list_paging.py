"""The notice list at a county's size (issue 17): the page shows one village's notice at
a time (the first with a listed household unless one is asked for), and the printable
full version streams every listed household, one section per village — the same
households as the pages, never a personal number."""

import pytest

from exits import services, views
from exits.models import Objection, ObjectionStatus, Step
from tests.conftest import VILLAGE_A, VILLAGE_A2
from tests.exits.conftest import ready_household
from tests.html import element, elements, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_notice(flow, amy, tom):
    """Three households of village A and two of A2 in the notice."""
    cases = [flow.enrol(ready_household(VILLAGE_A, head=f"王甲{i}")) for i in range(3)]
    others = [flow.enrol(ready_household(VILLAGE_A2, head=f"李乙{i}"), by=amy) for i in range(2)]
    for case in others:  # village A2's own cadre does its village steps
        for step in (Step.VERIFY, Step.APPRAISE):
            flow.complete(case, step, by=amy)
    cases += others
    flow.bring_to(cases, Step.NOTICE)
    for case in cases:
        services.notice_open(by=tom, case=case)
    return cases


def numbers(response) -> list[int]:
    """The 序号 of the notice table's rows."""
    return [int(row.text.split()[0]) for row in elements(response, "tr")[1:] if row.text.split()[0].isdigit()]


def test_the_county_notice_opens_at_its_first_village_and_offers_the_others(client, in_notice, carol):
    client.force_login(carol)
    first = client.get("/exits/notice-list/")
    assert numbers(first) == [1, 2, 3]
    assert all(f"王甲{i}" in text(first) for i in range(3)) and "李乙0" not in text(first)
    assert element(first, "select", data_testid="notice-village-choice")
    choices = [o.attrs["value"] for o in elements(first, "option") if o.attrs.get("value") in (VILLAGE_A, VILLAGE_A2)]
    assert choices == [VILLAGE_A, VILLAGE_A2]
    other = client.get("/exits/notice-list/", {"village": VILLAGE_A2})
    assert numbers(other) == [1, 2] and "李乙1" in text(other) and "王甲0" not in text(other)


def test_a_village_notice_is_one_page(client, in_notice, carol):
    client.force_login(carol)
    response = client.get("/exits/notice-list/", {"village": VILLAGE_A})
    assert numbers(response) == [1, 2, 3]
    assert all(f"王甲{i}" in text(response) for i in range(3))


def test_a_village_whose_households_are_all_held_back_says_how_many(client, in_notice, carol):
    """A village listed to choose from though a gate holds back each of its households:
    the page names none and counts them."""
    for case in in_notice[3:]:
        case.household.lost_contact = True
        case.household.special_notes = "外出失联"
        case.household.save()
    client.force_login(carol)
    response = client.get("/exits/notice-list/", {"village": VILLAGE_A2})
    assert numbers(response) == [] and "李乙0" not in text(response)
    assert "另有 2 户" in element(response, "div", data_testid="notice-withheld").text


def test_the_printable_notice_streams_every_village_on_its_own_section(client, in_notice, carol):
    client.force_login(carol)
    response = client.get("/exits/notice-list/print/")
    assert response.status_code == 200 and response.streaming
    page = b"".join(response.streaming_content).decode()
    assert page.count('data-testid="notice-village"') == 2
    for i in range(3):
        assert f"王甲{i}" in page
    for i in range(2):
        assert f"李乙{i}" in page
    for case in in_notice:
        for member in case.household.members.all():
            assert member.id_number not in page
    assert 'data-testid="notice-print-end"' in page


def test_the_printable_notice_of_one_village_and_of_a_village_scope(client, in_notice, alice):
    client.force_login(alice)  # village A's cadre sees her own village only
    page = b"".join(client.get("/exits/notice-list/print/").streaming_content).decode()
    assert page.count('data-testid="notice-village"') == 1
    assert "王甲0" in page and "李乙0" not in page


def test_an_empty_printable_notice_says_so(client, flow, carol):
    client.force_login(carol)
    page = b"".join(client.get("/exits/notice-list/print/").streaming_content).decode()
    assert "暂无公示中的户" in page


def test_the_approval_queue_counts_its_cases_and_bounds_the_objections(client, monkeypatch, in_notice, tom, carol):
    monkeypatch.setattr(views, "OBJECTIONS_SHOWN", 2)
    for case in in_notice:
        services.objection_add(by=tom, case=case, content="该户收入不实", raised_by_name="群众")
    client.force_login(carol)
    response = client.get("/exits/approvals/")
    assert "待处理的公示异议 5" in text(response)
    assert text(response).count("该户收入不实") == 2
    more = [a for a in elements(response, "a") if a.attrs.get("data-testid") == "objections-more"]
    assert more and "notice=objected" in more[0].attrs["href"]
    assert Objection.objects.filter(status=ObjectionStatus.OPEN).count() == 5


def test_the_approval_queue_counts_objections_up_to_its_cap(client, monkeypatch, in_notice, tom, carol):
    monkeypatch.setattr(views, "OBJECTIONS_SHOWN", 2)
    monkeypatch.setattr(views, "OBJECTION_COUNT_CAP", 3)
    for case in in_notice:
        services.objection_add(by=tom, case=case, content="该户收入不实", raised_by_name="群众")
    client.force_login(carol)
    response = client.get("/exits/approvals/")
    assert element(response, "span", data_testid="objection-count").text == "3+"
    assert "查看全部异议所在的案件" in element(response, "a", data_testid="objections-more").text
