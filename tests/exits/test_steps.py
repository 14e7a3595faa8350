"""The eight steps (DOMAIN.md §4): strict order, the role of each step's level, what each
step must record (refused field by field), separation of duties, and what step 8 does."""

import datetime

import pytest

from accounts.models import Role
from exits import services
from exits.models import CaseStatus, Step, StepRecord
from households.models import ExitStatus
from tests.conftest import COUNTY, TOWN_A, TOWN_B, VILLAGE_A, VILLAGE_A2, VILLAGE_B, make_user
from tests.html import element, text

pytestmark = pytest.mark.django_db


def refused(flow, case, step, *, by=None, **changes) -> services.ExitError:
    with pytest.raises(services.ExitError) as caught:
        flow.complete(case, step, by=by, **changes)
    return caught.value


# --- order and roles ----------------------------------------------------------------------


def test_steps_run_in_order(flow):
    case = flow.enrol()
    for later in (2, 3, 6, 8):
        assert refused(flow, case, later).messages == [f"当前应完成第1步“信息核实”，不能办理第{later}步。"]
    flow.bring_to(case, Step.REVIEW)
    # Nor can a done step be done again.
    assert refused(flow, case, Step.CROSS_CHECK).messages == ["当前应完成第4步“审核审查”，不能办理第3步。"]
    assert StepRecord.objects.filter(case=case).count() == 3


def test_a_finished_case_takes_no_more_steps(flow):
    case = flow.enrol()
    flow.bring_to(case, 9)
    assert case.is_done
    assert refused(flow, case, Step.MARK).messages == ["该户已完成全部退出程序。"]


@pytest.mark.parametrize(
    ("step", "who", "message"),
    [
        (1, "tom", "第1步“信息核实”由村级录入员办理。"),
        (2, "carol", "第2步“民主评议”由村级录入员办理。"),
        (3, "alice", "第3步“交叉检查”由镇办干部办理。"),
        (4, "carol", "第4步“审核审查”由镇办干部办理。"),
        (5, "tom", "第5步“公示公告”由县级审批办理。"),
        (6, "tom", "第6步“核查批准”由县级审批办理。"),
        (7, "sam", "第7步“资料备案”由县级审批办理。"),
        (8, "tom", "第8步“系统标注”由县级审批办理。"),
    ],
)
def test_each_step_is_done_by_the_role_of_its_level(request, flow, step, who, message):
    case = flow.enrol()
    flow.bring_to(case, step)
    if step == Step.NOTICE:
        services.notice_open(by=request.getfixturevalue("tom"), case=case)
        flow.clock.shift(7)
    error = refused(flow, case, step, by=request.getfixturevalue(who))
    # (alice at step 3 and tom at step 6 also did the steps being checked: that reason follows.)
    assert error.messages[0] == message
    case.refresh_from_db()
    assert case.current_step == step


def test_the_campaigns_step_levels_decide_the_role(flow, campaign, tom):
    campaign.step_levels = {**campaign.step_levels, "2": "town"}
    campaign.save()
    case = flow.enrol()
    flow.complete(case, Step.VERIFY)
    assert refused(flow, case, Step.APPRAISE, by=flow.doers["village_cadre"]).messages == [
        "第2步“民主评议”由镇办干部办理。"
    ]
    flow.complete(case, Step.APPRAISE, by=tom)
    case.refresh_from_db()
    assert case.current_step == Step.CROSS_CHECK


def test_people_outside_the_case_are_refused(flow, bob, zed, sue):
    case = flow.enrol()
    assert refused(flow, case, 1, by=bob).messages == ["该退出案件不在您的管辖范围内。"]
    assert refused(flow, case, 1, by=sue).messages == ["市级督查账号为只读账号，不能修改数据。"]
    flow.bring_to(case, Step.APPROVE)
    assert refused(flow, case, 6, by=zed).messages == ["该退出案件不在您的管辖范围内。"]


def test_refusals_and_field_errors_come_together(flow, tom):
    case = flow.enrol()
    error = refused(flow, case, 1, by=tom, head_signed=False)
    assert error.messages == ["第1步“信息核实”由村级录入员办理。"]
    assert error.fields == {"head_signed": ["信息核实须经户主签字认可。"]}
    assert str(error) == "第1步“信息核实”由村级录入员办理。；信息核实须经户主签字认可。"


# --- what each step records ------------------------------------------------------------------


def test_step_1_needs_the_heads_signature_food_and_clothing_and_a_date(flow):
    case = flow.enrol()
    error = refused(flow, case, 1, head_signed=None, food_clothing_secure=False, signed_on=None)
    assert error.messages == []
    assert error.fields == {
        "head_signed": ["信息核实须经户主签字认可。"],
        "food_clothing_secure": ["请入户确认吃穿不愁。"],
        "signed_on": ["请填写签字日期（如 2020-10-13）。"],
    }
    assert refused(flow, case, 1, signed_on="2020-10-13").fields == {"signed_on": ["签字日期不能晚于今天。"]}
    assert refused(flow, case, 1, signed_on="10/12/2020").fields == {"signed_on": ["请填写签字日期（如 2020-10-13）。"]}

    record = flow.complete(case, 1, note=" 入户核实 ")
    assert record.data == {
        "head_signed": True,
        "food_clothing_secure": True,
        "signed_on": "2020-10-12",
        "note": "入户核实",
    }


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"votes_for": 15, "votes_against": 0}, {"votes_for": ["赞成票未超过参会人数的半数，民主评议未通过。"]}),
        ({"votes_for": 20, "votes_against": 11}, {"votes_for": ["赞成票与反对票之和不能超过参会人数。"]}),
        ({"attendance": 0, "votes_for": 0, "votes_against": 0}, {"attendance": ["参会人数至少为1人。"]}),
        ({"attendance": -3}, {"attendance": ["参会人数不能为负数。"]}),
        ({"votes_against": "许多"}, {"votes_against": ["请填写反对票（整数）。"]}),
        ({"minutes": "  "}, {"minutes": ["请填写会议记录。"]}),
        ({"meeting_date": None}, {"meeting_date": ["请填写评议会议日期（如 2020-10-13）。"]}),
        ({"meeting_date": "2020-11-01"}, {"meeting_date": ["评议会议日期不能晚于今天。"]}),
    ],
)
def test_step_2_needs_a_meeting_with_more_than_half_in_favour(flow, changes, fields):
    case = flow.enrol()
    flow.bring_to(case, 2)
    assert refused(flow, case, 2, **changes).fields == fields


def test_step_2_passes_with_one_vote_over_half(flow):
    case = flow.enrol()
    flow.bring_to(case, 2)
    record = flow.complete(case, 2, attendance=30, votes_for=16, votes_against=14)
    assert record.data["votes_for"] == 16


@pytest.mark.parametrize(
    ("unit", "message"),
    [
        (VILLAGE_A, "交叉检查组必须来自其他村（不能是该户所在村或其所属的镇）。"),
        (TOWN_A, "交叉检查组必须来自其他村（不能是该户所在村或其所属的镇）。"),
        ("610902000000", "请选择交叉检查组所在的村或镇。"),
        ("999999999999", "请选择交叉检查组所在的村或镇。"),
        ("", "请选择交叉检查组所在的村或镇。"),
    ],
)
def test_step_3_needs_a_team_from_elsewhere(flow, unit, message):
    case = flow.enrol()
    flow.bring_to(case, 3)
    error = refused(flow, case, 3, checking_unit=unit, findings="")
    assert error.fields == {"checking_unit": [message], "findings": ["请填写检查发现的问题。"]}


@pytest.mark.parametrize("unit", [VILLAGE_A2, VILLAGE_B, TOWN_B])
def test_step_3_accepts_another_village_or_town(flow, unit):
    case = flow.enrol()
    flow.bring_to(case, 3)
    record = flow.complete(case, 3, checking_unit=unit)
    assert record.data["checking_unit"] == unit
    assert record.data["checking_unit_name"]


def test_steps_4_and_6_need_an_opinion(flow):
    case = flow.enrol()
    flow.bring_to(case, 4)
    assert refused(flow, case, 4, opinion=" ").fields == {"opinion": ["请填写审核审查意见。"]}
    flow.bring_to(case, 6)
    assert refused(flow, case, 6, opinion="").fields == {"opinion": ["请填写批准意见。"]}


def test_step_7_needs_the_complete_archive_checklist(flow):
    case = flow.enrol()
    flow.bring_to(case, 7)
    error = refused(
        flow, case, 7, checklist=[i for i in services.ARCHIVE_ITEMS if i not in ("交叉检查表", "核查批准文件")]
    )
    assert error.fields == {"checklist": ["备案资料不全，缺少：交叉检查表、核查批准文件。"]}
    assert (
        refused(flow, case, 7, checklist=None).fields["checklist"][0].startswith("备案资料不全，缺少：五项标准核查表、")
    )


def test_step_8_marks_the_household_exited_with_the_campaign_year(flow, carol):
    case = flow.enrol()
    flow.bring_to(case, 8)
    assert refused(flow, case, 8, marked_on="").fields == {"marked_on": ["请填写系统标注日期（如 2020-10-13）。"]}
    household = case.household
    household.refresh_from_db()
    assert household.exit_status == ExitStatus.NOT_EXITED

    record = flow.complete(case, 8)

    case.refresh_from_db()
    household.refresh_from_db()
    today = datetime.date(2020, 10, 19)  # after the 7-day notice
    assert record.data == {"marked_on": today.isoformat(), "operator": "陈卡"}
    assert (case.status, case.current_step, case.exited_on) == (CaseStatus.EXITED, 9, today)
    assert (household.exit_status, household.exit_year) == (ExitStatus.EXITED, 2020)
    latest = household.history.first()
    assert (latest.history_user, latest.history_change_reason) == (carol, "系统标注：2020年度贫困户退出")
    assert list(case.steps.filter(is_reset=False).values_list("step", flat=True)) == list(range(1, 9))


def test_each_completion_is_in_the_cases_history(flow, alice, tom2):
    case = flow.enrol()
    flow.bring_to(case, 4)
    reasons = list(
        case.history.exclude(history_change_reason=None)
        .order_by("history_id")
        .values_list("history_change_reason", "history_user__username")
    )
    assert reasons == [
        ("完成第1步“信息核实”", "alice"),
        ("完成第2步“民主评议”", "alice"),
        ("完成第3步“交叉检查”", "tom2"),
    ]


# --- separation of duties ----------------------------------------------------------------------


def test_the_county_official_who_reviewed_cannot_approve(flow, campaign, carol, carol2):
    """With step 4 mapped to the county, carol does the review; approval (which checks it)
    must be someone else's."""
    campaign.step_levels = {**campaign.step_levels, "4": "county"}
    campaign.save()
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    assert case.steps.get(step=Step.REVIEW).completed_by == carol

    error = refused(flow, case, Step.APPROVE, by=carol)
    assert error.messages == ["您办理了第4步“审核审查”，不能再办理复核它的第6步“核查批准”。"]

    flow.complete(case, Step.APPROVE, by=make_user("carol3", Role.COUNTY_OFFICIAL, COUNTY))
    case.refresh_from_db()
    assert case.current_step == Step.ARCHIVE


def test_the_county_official_who_cross_checked_cannot_approve(flow, campaign, carol, carol2):
    campaign.step_levels = {**campaign.step_levels, "3": "county"}
    campaign.save()
    case = flow.enrol()
    flow.bring_to(case, Step.CROSS_CHECK)
    flow.complete(case, Step.CROSS_CHECK, by=carol)
    flow.bring_to(case, Step.APPROVE)
    assert refused(flow, case, Step.APPROVE, by=carol).messages == [
        "您办理了第3步“交叉检查”，不能再办理复核它的第6步“核查批准”。"
    ]
    flow.complete(case, Step.APPROVE, by=make_user("carol3", Role.COUNTY_OFFICIAL, COUNTY))


def test_the_town_official_who_held_the_appraisal_cannot_cross_check_or_review_it(flow, campaign, tom, tom2):
    """With step 2 mapped to the town, tom runs the appraisal; the cross-check and the
    review (which check steps 1–2) must be done by another town official."""
    campaign.step_levels = {**campaign.step_levels, "2": "town"}
    campaign.save()
    case = flow.enrol()
    flow.bring_to(case, Step.CROSS_CHECK)
    assert case.steps.get(step=Step.APPRAISE).completed_by == tom

    assert refused(flow, case, Step.CROSS_CHECK, by=tom).messages == [
        "您办理了第2步“民主评议”，不能再办理复核它的第3步“交叉检查”。"
    ]
    flow.complete(case, Step.CROSS_CHECK, by=tom2)
    assert refused(flow, case, Step.REVIEW, by=tom).messages == [
        "您办理了第2步“民主评议”，不能再办理复核它的第4步“审核审查”。"
    ]
    # tom2 cross-checked: the review (4 ≠ 3) is a third official's.
    assert refused(flow, case, Step.REVIEW, by=tom2).messages == [
        "您办理了第3步“交叉检查”，不能再办理复核它的第4步“审核审查”。"
    ]
    flow.complete(case, Step.REVIEW, by=make_user("tom3", Role.TOWN_OFFICIAL, TOWN_A))
    case.refresh_from_db()
    assert case.current_step == Step.NOTICE


def test_separation_of_duties_looks_at_standing_records_only(flow, campaign, carol, carol2):
    """carol reviewed, the case went back to step 4 and carol2 reviewed again: now carol may approve."""
    campaign.step_levels = {**campaign.step_levels, "4": "county"}
    campaign.save()
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    services.case_return(by=carol, case=case, to_step=Step.REVIEW, reason="审核意见过于简单")
    flow.complete(case, Step.REVIEW, by=carol2)
    flow.bring_to(case, Step.APPROVE)
    flow.complete(case, Step.APPROVE, by=carol)


# --- the case page ------------------------------------------------------------------------------


def test_the_step_form_shows_each_refusal_next_to_its_field(client, flow, alice):
    case = flow.enrol()
    flow.bring_to(case, 2)
    client.force_login(alice)
    response = client.post(
        f"/exits/{case.pk}/advance/",
        {
            "step-meeting_date": "2020-10-12",
            "step-attendance": "30",
            "step-votes_for": "15",
            "step-votes_against": "0",
            "step-minutes": "",
        },
    )
    assert response.status_code == 400
    form = element(response, "form", data_testid="step-form").text
    assert "赞成票未超过参会人数的半数，民主评议未通过。" in form
    assert "请填写会议记录。" in form
    case.refresh_from_db()
    assert case.current_step == 2


def test_the_case_page_lists_what_blocks_the_step(client, flow, carol):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    case.criteria.update(certified_at=None, certified_by=None, certified_measured=None)
    client.force_login(carol)
    refusals = element(client.get(f"/exits/{case.pk}/"), "div", data_testid="refusals").text
    assert "“收入达标”尚未经扶贫/统计部门认定。" in refusals
    assert "“饮水安全”尚未经水利部门认定。" in refusals


def test_the_case_page_completes_a_step(client, flow, alice):
    case = flow.enrol()
    client.force_login(alice)
    response = client.post(
        f"/exits/{case.pk}/advance/",
        {"step-head_signed": "on", "step-food_clothing_secure": "on", "step-signed_on": "2020-10-12"},
        follow=True,
    )
    assert "已完成第1步“信息核实”。" in text(response)
    case.refresh_from_db()
    assert case.current_step == 2
