"""Batch actions: a town or county official completes one step for many cases; each case
succeeds or fails on its own, and every failure carries its reason."""

import re
from decimal import Decimal

import pytest

from exits import services
from exits.models import Step, StepRecord
from households.models import IncomeRecord
from tests.html import element, elements, text

pytestmark = pytest.mark.django_db


def test_a_batch_approval_approves_the_ready_cases_and_says_why_the_others_failed(flow, carol):
    ready_1, ready_2, failing, behind = (flow.enrol() for _ in range(4))
    uncertified = flow.enrol()
    flow.bring_to([ready_1, ready_2, failing, uncertified], Step.APPROVE)
    flow.bring_to(behind, Step.CROSS_CHECK)
    # Certifications gone by approval (by hand: the notice could not open without them).
    uncertified.criteria.update(certified_at=None, certified_by=None, certified_measured=None)
    IncomeRecord.objects.filter(household=failing.household).update(wage_income=Decimal("7000"))

    outcomes = services.steps_complete(
        by=carol, cases=[ready_1, failing, behind, ready_2, uncertified], step=Step.APPROVE, data={"opinion": "同意"}
    )

    assert [(o.label, o.ok) for o in outcomes] == [
        (ready_1.household.number, True),
        (failing.household.number, False),
        (behind.household.number, False),
        (ready_2.household.number, True),
        (uncertified.household.number, False),
    ]
    assert outcomes[1].error == "“收入达标”未达标：2020年家庭人均纯收入3500.00元，未超过当年标准4000.00元。"
    assert outcomes[2].error == "当前应完成第3步“交叉检查”，不能办理第6步。"
    assert outcomes[4].error == "；".join(
        f"“{label}”尚未经{sector}部门认定。"
        for label, sector in [
            ("收入达标", "扶贫/统计"),
            ("住房安全", "住建"),
            ("义务教育", "教育"),
            ("基本医疗", "卫健/医保"),
            ("饮水安全", "水利"),
        ]
    )
    for case, step in [(ready_1, 7), (ready_2, 7), (failing, 6), (behind, 3), (uncertified, 6)]:
        case.refresh_from_db()
        assert case.current_step == step
    assert StepRecord.objects.filter(step=Step.APPROVE).count() == 2


def test_a_batch_reports_field_errors_for_each_case(flow, tom):
    a, b = flow.enrol(), flow.enrol()
    flow.bring_to([a, b], Step.CROSS_CHECK)
    outcomes = services.steps_complete(by=tom, cases=[a, b], step=Step.CROSS_CHECK, data={"checking_unit": ""})
    assert [o.error for o in outcomes] == ["请选择交叉检查组所在的村或镇。；请填写检查发现的问题。"] * 2


def test_the_batch_page_lists_each_result(client, flow, tom):
    ready, behind = flow.enrol(), flow.enrol()
    flow.bring_to(ready, Step.CROSS_CHECK)
    client.force_login(tom)
    assert "batch-panel" in client.get("/exits/").content.decode()

    response = client.post(
        "/exits/batch/",
        {"step": "3", "cases": [ready.pk, behind.pk], "checking_unit": "610902102201", "findings": "无问题"},
    )

    assert response.status_code == 200
    assert "成功 1 户，未通过 1 户" in text(response)
    rows = elements(response, "tr", "table-danger")
    assert len(rows) == 1
    assert behind.household.number in rows[0].text
    assert "当前应完成第1步“信息核实”，不能办理第3步。" in rows[0].text
    assert ready.household.number in element(response, "table", data_testid="batch-results").text
    ready.refresh_from_db()
    assert ready.current_step == Step.REVIEW


def test_the_batch_page_needs_cases_and_a_step(client, flow, tom):
    case = flow.enrol()
    client.force_login(tom)
    response = client.post("/exits/batch/", {"step": "3"}, follow=True)
    assert "请勾选案件并选择要办理的步骤。" in text(response)
    response = client.post("/exits/batch/", {"step": "x", "cases": [case.pk]}, follow=True)
    assert "请勾选案件并选择要办理的步骤。" in text(response)


@pytest.mark.parametrize("who", ["alice", "sam"])
def test_the_batch_page_is_for_town_and_county_officials(request, client, flow, who):
    case = flow.enrol()
    client.force_login(request.getfixturevalue(who))
    assert client.post("/exits/batch/", {"step": "1", "cases": [case.pk]}).status_code == 403
    case.refresh_from_db()
    assert case.current_step == 1


def test_the_batch_page_skips_cases_outside_the_officials_scope(client, flow, zed):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    client.force_login(zed)
    response = client.post("/exits/batch/", {"step": "6", "cases": [case.pk], "opinion": "同意"})
    assert response.status_code == 200
    assert "成功 0 户，未通过 0 户" in text(response)
    assert case.household.number not in text(response)
    case.refresh_from_db()
    assert case.current_step == Step.APPROVE


# --- Work in bulk (issue 18): 全选 across pages, batch certification, the region picker,
# result tables that name the 户主 ----------------------------------------------------------


def test_select_all_matching_takes_every_case_the_filters_match_across_pages(client, flow, tom, settings):
    """25 cases at 交叉检查 fill two pages of the list; 全选 sends the filters, not ticks,
    and the batch takes all 25 — and nothing the filters leave out."""
    cases = [flow.enrol() for _ in range(25)]
    flow.bring_to(cases, Step.CROSS_CHECK)
    elsewhere = flow.enrol()  # at step 1: the filter (step=3) leaves it out
    client.force_login(tom)
    page = client.get("/exits/", {"step": "3"})
    bar = element(page, "div", data_testid="select-bar")
    assert "选择全部符合条件的 25 户" in bar.text
    query = element(page, "input", name="filter_query").attrs["value"]

    response = client.post(
        "/exits/batch/",
        {"step": "3", "all_matching": "1", "filter_query": query, "cases": [cases[0].pk],
         "checking_unit": "610902102201", "findings": "无问题"},
    )  # fmt: skip

    assert "成功 25 户，未通过 0 户" in text(response)
    assert all(c.current_step == Step.REVIEW for c in (c.refresh_from_db() or c for c in cases))
    elsewhere.refresh_from_db()
    assert elsewhere.current_step == Step.VERIFY


def test_select_all_matching_refuses_more_than_the_batch_limit(client, flow, tom, monkeypatch):
    from exits import views

    monkeypatch.setattr(views, "BATCH_LIMIT", 2)
    cases = [flow.enrol() for _ in range(3)]
    client.force_login(tom)
    response = client.post("/exits/batch/", {"step": "3", "all_matching": "1", "filter_query": ""}, follow=True)
    assert "符合条件的案件有 3 个，一次最多办理 2 个，请缩小筛选范围后再办理。" in text(response)
    assert {c.current_step for c in (c.refresh_from_db() or c for c in cases)} == {Step.VERIFY}


def test_select_all_matching_stays_in_the_officials_scope(client, flow, zed):
    case = flow.enrol()
    client.force_login(zed)
    response = client.post("/exits/batch/", {"step": "1", "all_matching": "1", "filter_query": ""}, follow=True)
    assert "没有符合条件的退出案件。" in text(response)
    case.refresh_from_db()
    assert case.current_step == Step.VERIFY


def test_the_batch_cross_check_offers_the_county_s_other_towns_and_villages(client, flow, tom):
    flow.enrol()
    client.force_login(tom)
    html = client.get("/exits/").content.decode()
    picker = re.search(r'<select name="checking_unit"[^>]*>(.*?)</select>', html, re.S).group(1)
    codes = [code for code in re.findall(r'<option value="(\d*)"', picker) if code]
    assert "610902102201" in codes and "610902102000" in codes
    # Not tom's own town, not another county.
    assert not [code for code in codes if code.startswith(tom.region_id[:9]) or not code.startswith("610902")]


def test_batch_certification_certifies_the_sector_s_criterion_and_says_why_not(client, flow, certifiers):
    from exits.models import Criterion, CriterionCheck

    met = [flow.enrol(certify=False) for _ in range(2)]
    poor = flow.enrol(certify=False)
    IncomeRecord.objects.filter(household=poor.household).update(wage_income=Decimal("7000"))
    statistics = certifiers[Criterion.INCOME]
    client.force_login(statistics)
    listing = client.get("/exits/")
    assert "认定勾选案件的“收入达标”达标" in element(listing, "div", data_testid="certify-panel").text

    response = client.post("/exits/certify/", {"cases": [c.pk for c in (*met, poor)], "note": "统计数据比对一致"})

    assert "成功 2 户，未通过 1 户" in text(response)
    failed = elements(response, "tr", "table-danger")
    assert len(failed) == 1 and poor.household.number in failed[0].text
    assert "“收入达标”尚未达标，不能认定" in failed[0].text
    certified = CriterionCheck.objects.filter(certified_at__isnull=False)
    assert {(c.case_id, c.criterion) for c in certified} == {(c.pk, Criterion.INCOME) for c in met}
    assert set(certified.values_list("certification_note", flat=True)) == {"统计数据比对一致"}


@pytest.mark.parametrize("who", ["alice", "tom", "carol"])
def test_batch_certification_is_for_sector_departments(request, client, flow, who):
    case = flow.enrol(certify=False)
    client.force_login(request.getfixturevalue(who))
    assert client.post("/exits/certify/", {"cases": [case.pk]}).status_code == 403
    assert not case.criteria.filter(certified_at__isnull=False).exists()


def test_result_tables_name_the_head_of_household(client, flow, tom):
    case = flow.enrol()
    client.force_login(tom)
    response = client.post("/exits/batch/", {"step": "3", "cases": [case.pk], "checking_unit": "610902102201"})
    table = element(response, "table", data_testid="batch-results").text
    assert table.startswith("户编号 户主 结果")
    assert f"{case.household.number} 王建国" in table


def test_batch_certification_needs_ticked_cases(client, flow, certifiers):
    from exits.models import Criterion

    flow.enrol(certify=False)
    client.force_login(certifiers[Criterion.INCOME])
    response = client.post("/exits/certify/", {"note": "x"}, follow=True)
    assert "请勾选要认定的案件。" in text(response)
