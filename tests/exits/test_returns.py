"""Returns (退回): a reviewing role sends a case back to an earlier step with a reason;
that step and the later ones are reset and done again, and nothing is lost from the
history (DOMAIN.md §4)."""

import pytest

from exits import selectors, services
from exits.models import Step, StepRecord
from tests.exits.conftest import refusal
from tests.html import elements, text

pytestmark = pytest.mark.django_db


def test_a_return_resets_that_step_and_the_later_ones_and_keeps_them(flow, carol):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    before = {r.pk: r.step for r in case.steps.all()}

    services.case_return(by=carol, case=case, to_step=Step.CROSS_CHECK, reason=" 交叉检查表缺签字 ")

    case.refresh_from_db()
    assert (case.current_step, case.notice_started_on) == (Step.CROSS_CHECK, None)
    records = {r.pk: r for r in case.steps.all()}
    assert set(records) == set(before)  # nothing deleted
    assert [(r.step, r.is_reset, r.reset_reason) for r in sorted(records.values(), key=lambda r: r.step)] == [
        (1, False, ""),
        (2, False, ""),
        (3, True, "交叉检查表缺签字"),
        (4, True, "交叉检查表缺签字"),
        (5, True, "交叉检查表缺签字"),
    ]
    assert all(r.reset_at for r in records.values() if r.is_reset)
    latest = case.history.first()
    assert (latest.history_user, latest.history_change_reason) == (carol, "退回第3步“交叉检查”：交叉检查表缺签字")
    reset_record = records[next(pk for pk, step in before.items() if step == 3)]
    assert reset_record.history.first().history_user == carol


def test_the_returned_steps_are_done_again_and_the_old_records_stay(flow, carol):
    case = flow.enrol()
    flow.bring_to(case, Step.NOTICE)
    services.case_return(by=carol, case=case, to_step=Step.APPRAISE, reason="评议人数不足")

    flow.bring_to(case, Step.APPROVE)

    assert list(case.steps.filter(is_reset=False).order_by("step").values_list("step", flat=True)) == [1, 2, 3, 4, 5]
    assert list(case.steps.filter(is_reset=True).order_by("step").values_list("step", flat=True)) == [2, 3, 4]
    timeline = {item["step"]: item for item in selectors.case_timeline(case)}
    assert [r.reset_reason for r in timeline[2]["returned"]] == ["评议人数不足"]
    assert timeline[2]["record"].is_reset is False
    assert timeline[6]["is_current"] and timeline[6]["record"] is None


def test_a_return_to_the_notice_or_before_clears_it_but_a_later_one_does_not(flow, carol):
    case = flow.enrol()
    flow.bring_to(case, Step.MARK)
    started = case.notice_started_on
    services.case_return(by=carol, case=case, to_step=Step.APPROVE, reason="批准文件缺盖章")
    case.refresh_from_db()
    assert (case.current_step, case.notice_started_on) == (Step.APPROVE, started)
    services.case_return(by=carol, case=case, to_step=Step.NOTICE, reason="公示照片不清")
    case.refresh_from_db()
    assert (case.current_step, case.notice_started_on) == (Step.NOTICE, None)


@pytest.mark.parametrize("who", ["alice", "sam"])
def test_only_reviewing_roles_return_a_case(request, flow, who):
    case = flow.enrol()
    flow.bring_to(case, Step.REVIEW)
    error = refusal(services.case_return, by=request.getfixturevalue(who), case=case, to_step=1, reason="重做")
    assert error.messages == ["只有镇办干部或县级审批人员可以退回案件。"]


def test_a_return_needs_an_earlier_step_and_a_reason(flow, tom):
    case = flow.enrol()
    flow.bring_to(case, Step.REVIEW)
    for to_step in (4, 5, 0, "x"):
        error = refusal(services.case_return, by=tom, case=case, to_step=to_step, reason="重做")
        assert error.fields == {"to_step": ["只能退回到当前步骤（第4步）之前的步骤。"]}
    assert refusal(services.case_return, by=tom, case=case, to_step=2, reason="  ").fields == {
        "reason": ["请填写退回原因。"]
    }
    case.refresh_from_db()
    assert case.current_step == Step.REVIEW
    assert not StepRecord.objects.filter(is_reset=True).exists()


def test_a_finished_case_cannot_be_returned(flow, carol):
    case = flow.enrol()
    flow.bring_to(case, 9)
    assert refusal(services.case_return, by=carol, case=case, to_step=7, reason="重做").messages == [
        "该户已完成退出，不能退回。"
    ]


def test_people_outside_the_case_cannot_return_it(flow, zed, sue):
    case = flow.enrol()
    flow.bring_to(case, Step.REVIEW)
    assert refusal(services.case_return, by=zed, case=case, to_step=1, reason="x").messages == [
        "该退出案件不在您的管辖范围内。"
    ]
    assert refusal(services.case_return, by=sue, case=case, to_step=1, reason="x").messages == [
        "市级督查账号为只读账号，不能修改数据。"
    ]


def test_the_return_page_shows_the_reason_on_the_timeline(client, flow, tom):
    case = flow.enrol()
    flow.bring_to(case, Step.REVIEW)
    client.force_login(tom)
    response = client.post(f"/exits/{case.pk}/return/", {"to_step": "2", "reason": ""})
    assert response.status_code == 400
    assert "请填写退回原因。" in text(response)

    response = client.post(f"/exits/{case.pk}/return/", {"to_step": "2", "reason": "评议人数不足"}, follow=True)
    assert "案件已退回。" in text(response)
    step_2 = next(li for li in elements(response, "li", data_step="2"))
    assert "已退回：评议人数不足" in step_2.text
