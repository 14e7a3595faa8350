"""Approval (核查批准, step 6) needs all five criteria passed and certified, steps 1–5
done, no open objection and no unresolved special situation (DOMAIN.md §4)."""

from decimal import Decimal

import pytest

from exits import services
from exits.models import Criterion, ExitCase, SituationDecision, SituationKind, Step
from households.models import IncomeRecord, WaterAssessment
from tests.html import element

pytestmark = pytest.mark.django_db


def approval_refused(flow, case) -> list[str]:
    with pytest.raises(services.ExitError) as caught:
        flow.complete(case, Step.APPROVE)
    return caught.value.messages


def test_a_ready_case_is_approved(flow, carol):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    assert services.approval_refusals(case) == []
    record = flow.complete(case, Step.APPROVE)
    assert (record.completed_by, record.data) == (carol, {"opinion": "批准退出"})


def uncertify(case, *criteria) -> None:
    """A certification gone by the time of approval (set by hand: the notice could not
    have opened without it)."""
    case.criteria.filter(criterion__in=criteria).update(certified_at=None, certified_by=None, certified_measured=None)


def test_every_criterion_must_be_certified(flow):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    uncertify(case, Criterion.HOUSING, Criterion.MEDICAL)
    assert approval_refused(flow, case) == [
        "“住房安全”尚未经住建部门认定。",
        "“基本医疗”尚未经卫健/医保部门认定。",
    ]


def test_a_criterion_that_fails_after_certification_blocks_approval(flow):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    # The registry changed after the sectors certified: approval measures again.
    IncomeRecord.objects.filter(household=case.household).update(wage_income=Decimal("5000"))
    WaterAssessment.objects.filter(household=case.household).update(quality_ok=False)
    assert approval_refused(flow, case) == [
        "“收入达标”未达标：2020年家庭人均纯收入2500.00元，未超过当年标准4000.00元。",
        "“饮水安全”未达标：水质不达标。",
    ]
    # The refused approval wrote nothing; measuring again drops the certification for good.
    services.criteria_refresh([case])
    assert not case.criteria.get(criterion=Criterion.INCOME).is_certified
    assert "人均纯收入 6000.00 → 2500.00" in case.criteria.get(criterion=Criterion.INCOME).lapse_note


def test_steps_1_to_5_must_be_done(flow):
    """Order makes this hard to reach; a case put at step 6 by hand shows the rule."""
    case = flow.enrol()
    flow.bring_to(case, Step.CROSS_CHECK)
    ExitCase.objects.filter(pk=case.pk).update(current_step=Step.APPROVE)
    case.refresh_from_db()
    assert services.approval_refusals(case) == ["第3（交叉检查）、4（审核审查）、5（公示公告）步尚未完成。"]
    assert approval_refused(flow, case) == ["第3（交叉检查）、4（审核审查）、5（公示公告）步尚未完成。"]


def test_an_open_objection_blocks_approval(flow, alice):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    # An objection that reached the case after the notice closed (recorded by hand).
    case.objections.create(raised_on=case.notice_started_on, content="收入有误", recorded_by=alice)
    assert approval_refused(flow, case) == ["有1条公示异议尚未处理完毕。"]


@pytest.mark.parametrize(
    ("flag", "kind", "label"),
    [
        ("lost_contact", SituationKind.LOST_CONTACT, "失联人员"),
        ("released_prisoner", SituationKind.RELEASED_PRISONER, "刑满释放人员"),
    ],
)
def test_a_special_situation_arising_after_enrolment_blocks_approval_until_decided(
    flow, campaign, alice, carol, carol2, flag, kind, label
):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    setattr(case.household, flag, True)
    case.household.save()
    assert approval_refused(flow, case) == [f"该户标记为{label}，须先登记调查核实情况并由县级审批人员作出处理决定。"]

    situation = services.situation_investigate(
        by=alice, campaign=campaign, household=case.household, kind=kind, investigation="本人已返乡，核实无误"
    )
    assert approval_refused(flow, case) == [f"该户为{label}，尚无县级处理决定。"]
    services.situation_decide(by=carol2, situation=situation, decision=SituationDecision.NOT_THIS_YEAR, note="")
    assert approval_refused(flow, case) == [f"该户为{label}，县级已决定“本年度不退出”。"]
    services.situation_decide(by=carol2, situation=situation, decision=SituationDecision.PROCEED, note="正常退出")
    flow.complete(case, Step.APPROVE)


def test_every_blocker_is_listed_at_once(flow, alice):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    uncertify(case, *Criterion.values)
    case.objections.create(raised_on=case.notice_started_on, content="收入有误", recorded_by=alice)
    case.household.lost_contact = True
    case.household.save()
    messages = approval_refused(flow, case)
    assert len(messages) == 7
    assert messages[5:] == [
        "该户标记为失联人员，须先登记调查核实情况并由县级审批人员作出处理决定。",
        "有1条公示异议尚未处理完毕。",
    ]


def test_the_approval_queue_shows_what_blocks_each_case(client, flow, carol):
    ready, blocked = flow.enrol(), flow.enrol()
    flow.bring_to([ready, blocked], Step.APPROVE)
    uncertify(blocked, *Criterion.values)
    client.force_login(carol)
    rows = element(client.get("/exits/approvals/"), "div", data_testid="approval-rows").text
    assert ready.household.number in rows and blocked.household.number in rows
    assert "“收入达标”尚未经扶贫/统计部门认定。" in rows
