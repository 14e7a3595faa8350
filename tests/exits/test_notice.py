"""The public notice (公示公告, step 5): opened by the town or county, at least the
campaign's minimum days (on a controllable clock), objections recorded and resolved,
and an upheld objection sending the case back (DOMAIN.md §4)."""

import datetime

import pytest

from exits import services
from exits.models import ObjectionStatus, Step
from tests.exits.conftest import refusal
from tests.html import element, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_notice(flow):
    case = flow.enrol()
    flow.bring_to(case, Step.NOTICE)
    return case


def close(flow, case, **kwargs):
    return flow.complete(case, Step.NOTICE, **kwargs)


def close_refusal(flow, case) -> list[str]:
    with pytest.raises(services.ExitError) as caught:
        close(flow, case)
    return caught.value.messages


# --- opening --------------------------------------------------------------------------------


def test_the_notice_must_be_opened_before_it_can_close(flow, at_notice):
    assert close_refusal(flow, at_notice) == ["尚未开始公示，请先发布公示。"]


@pytest.mark.parametrize("who", ["tom", "carol"])
def test_the_town_or_the_county_opens_the_notice(request, flow, at_notice, who):
    user = request.getfixturevalue(who)
    case = services.notice_open(by=user, case=at_notice)
    assert case.notice_started_on == datetime.date(2020, 10, 12)
    assert case.history.first().history_change_reason == "发布公示"
    assert case.history.first().history_user == user


def test_the_village_cannot_open_the_notice(flow, at_notice, alice, sam):
    for user in (alice, sam):
        assert refusal(services.notice_open, by=user, case=at_notice).messages == ["公示由镇办干部或县级审批人员发布。"]


def test_the_notice_opens_only_at_step_5_and_only_once(flow, tom):
    case = flow.enrol()
    flow.bring_to(case, Step.REVIEW)
    assert refusal(services.notice_open, by=tom, case=case).messages == [
        "当前为第4步“审核审查”，完成前四步后才能公示。"
    ]
    flow.complete(case, Step.REVIEW)
    services.notice_open(by=tom, case=case)
    assert refusal(services.notice_open, by=tom, case=case).messages == ["公示已于2020-10-12开始。"]


def test_the_notice_cannot_start_in_the_future(flow, at_notice, tom):
    error = refusal(services.notice_open, by=tom, case=at_notice, start="2020-10-13")
    assert error.fields == {"start": ["公示开始日期不能晚于今天。"]}


def test_a_back_dated_notice_does_not_shorten_the_minimum_days(flow, at_notice, tom):
    """The review (step 4) was done today, 2020-10-12; a notice "started" on 10-01 cannot
    have run before it. Either the date is refused or the notice still runs 7 days."""
    try:
        services.notice_open(by=tom, case=at_notice, start="2020-10-01")
    except services.ExitError as error:
        assert "start" in error.fields
        return
    assert close_refusal(flow, at_notice)  # closing on the day it was published must be refused


# --- the minimum days -------------------------------------------------------------------------


def test_the_notice_cannot_close_before_its_minimum_days(flow, at_notice, tom):
    services.notice_open(by=tom, case=at_notice)
    assert close_refusal(flow, at_notice) == ["公示期至少7天，最早可于2020-10-19结束公示。"]
    flow.clock.shift(6)
    assert close_refusal(flow, at_notice) == ["公示期至少7天，最早可于2020-10-19结束公示。"]
    flow.clock.shift(1)
    close(flow, at_notice)
    at_notice.refresh_from_db()
    assert at_notice.current_step == Step.APPROVE


def test_the_minimum_days_are_the_campaigns(flow, campaign, at_notice, tom):
    campaign.notice_min_days = 10
    campaign.save()
    services.notice_open(by=tom, case=at_notice, start="2020-10-12")
    flow.clock.shift(9)  # 2020-10-21
    assert close_refusal(flow, at_notice) == ["公示期至少10天，最早可于2020-10-22结束公示。"]
    flow.clock.shift(1)
    close(flow, at_notice)


def test_the_case_page_shows_when_the_notice_may_end(client, flow, at_notice, tom, carol):
    services.notice_open(by=tom, case=at_notice)
    client.force_login(carol)
    page = client.get(f"/exits/{at_notice.pk}/")
    assert "公示自 2020-10-12 起，最早 2020-10-19 可结束" in text(page)
    assert "公示期至少7天，最早可于2020-10-19结束公示。" in element(page, "div", data_testid="refusals").text


# --- objections -------------------------------------------------------------------------------


def test_objections_are_recorded_only_during_the_notice(flow, at_notice, alice, tom):
    assert refusal(services.objection_add, by=alice, case=at_notice, content="收入有误").messages == [
        "只有公示期间可以登记异议。"
    ]
    services.notice_open(by=tom, case=at_notice)
    error = refusal(services.objection_add, by=alice, case=at_notice, content=" ", raised_on="2020-10-13")
    assert error.fields == {"content": ["请填写异议内容。"], "raised_on": ["提出日期不能晚于今天。"]}

    objection = services.objection_add(by=alice, case=at_notice, content=" 收入有误 ", raised_by_name="匿名群众")
    assert (objection.status, objection.content, objection.recorded_by, objection.raised_on) == (
        ObjectionStatus.OPEN,
        "收入有误",
        alice,
        datetime.date(2020, 10, 12),
    )


def test_an_open_objection_keeps_the_notice_from_closing(flow, at_notice, alice, tom):
    services.notice_open(by=tom, case=at_notice)
    first = services.objection_add(by=alice, case=at_notice, content="收入有误")
    services.objection_add(by=alice, case=at_notice, content="房子是新盖的吗")
    flow.clock.shift(7)
    assert close_refusal(flow, at_notice) == ["有2条公示异议尚未处理完毕。"]

    services.objection_resolve(by=tom, objection=first, upheld=False, resolution="经核实收入属实")
    assert close_refusal(flow, at_notice) == ["有1条公示异议尚未处理完毕。"]


def test_early_close_with_an_objection_gives_both_reasons(flow, at_notice, alice, tom):
    services.notice_open(by=tom, case=at_notice)
    services.objection_add(by=alice, case=at_notice, content="收入有误")
    assert close_refusal(flow, at_notice) == [
        "公示期至少7天，最早可于2020-10-19结束公示。",
        "有1条公示异议尚未处理完毕。",
    ]


def test_a_dismissed_objection_lets_the_notice_close(flow, at_notice, alice, carol):
    services.notice_open(by=carol, case=at_notice)
    objection = services.objection_add(by=alice, case=at_notice, content="收入有误")
    resolved = services.objection_resolve(by=carol, objection=objection, upheld=False, resolution="经核实收入属实")
    assert (resolved.status, resolved.resolved_by, resolved.resolution) == (
        ObjectionStatus.DISMISSED,
        carol,
        "经核实收入属实",
    )
    flow.clock.shift(7)
    close(flow, at_notice)


def test_an_upheld_objection_sends_the_case_back_and_keeps_the_history(flow, at_notice, alice, tom):
    services.notice_open(by=tom, case=at_notice)
    objection = services.objection_add(by=alice, case=at_notice, content="家中有人在城里买了房")

    resolved = services.objection_resolve(by=tom, objection=objection, upheld=True, resolution="经核实情况属实")

    assert resolved.status == ObjectionStatus.UPHELD
    at_notice.refresh_from_db()
    assert (at_notice.current_step, at_notice.notice_started_on) == (Step.VERIFY, None)
    reset = at_notice.steps.order_by("step")
    assert [(r.step, r.is_reset, r.reset_reason) for r in reset] == [
        (step, True, "公示异议成立：经核实情况属实") for step in (1, 2, 3, 4)
    ]
    assert at_notice.history.first().history_change_reason == "退回第1步“信息核实”：公示异议成立：经核实情况属实"
    # The objection stays, resolved.
    assert list(at_notice.objections.values_list("status", flat=True)) == [ObjectionStatus.UPHELD]


def test_an_upheld_objection_may_send_the_case_back_to_a_chosen_step(flow, at_notice, alice, carol):
    services.notice_open(by=carol, case=at_notice)
    objection = services.objection_add(by=alice, case=at_notice, content="交叉检查走过场")
    services.objection_resolve(by=carol, objection=objection, upheld=True, resolution="重新检查", return_to=3)
    at_notice.refresh_from_db()
    assert at_notice.current_step == Step.CROSS_CHECK
    assert list(at_notice.steps.filter(is_reset=False).values_list("step", flat=True)) == [1, 2]


def test_objections_are_resolved_by_the_town_or_county_with_a_resolution(flow, at_notice, alice, tom, sam):
    services.notice_open(by=tom, case=at_notice)
    objection = services.objection_add(by=alice, case=at_notice, content="收入有误")
    for user in (alice, sam):
        assert refusal(
            services.objection_resolve, by=user, objection=objection, upheld=False, resolution="无"
        ).messages == ["公示异议由镇办干部或县级审批人员核实处理。"]
    error = refusal(services.objection_resolve, by=tom, objection=objection, upheld=False, resolution=" ")
    assert error.fields == {"resolution": ["请填写核实处理情况。"]}
    services.objection_resolve(by=tom, objection=objection, upheld=False, resolution="属实")
    assert refusal(
        services.objection_resolve, by=tom, objection=objection, upheld=True, resolution="再看"
    ).messages == ["该异议已处理。"]


def test_the_pages_record_and_resolve_an_objection(client, flow, at_notice, alice, tom):
    services.notice_open(by=tom, case=at_notice)
    client.force_login(alice)
    response = client.post(f"/exits/{at_notice.pk}/objections/", {"content": ""})
    assert response.status_code == 400
    assert "请填写异议内容。" in text(response)
    response = client.post(f"/exits/{at_notice.pk}/objections/", {"content": "收入有误", "raised_by_name": "村民甲"})
    assert response.status_code == 302
    objection = at_notice.objections.get()

    client.force_login(tom)
    response = client.post(f"/exits/objections/{objection.pk}/resolve/", {"upheld": "1", "resolution": "属实"})
    assert response.status_code == 302
    objection.refresh_from_db()
    at_notice.refresh_from_db()
    assert (objection.status, at_notice.current_step) == (ObjectionStatus.UPHELD, Step.VERIFY)


def test_the_page_opens_the_notice(client, flow, at_notice, tom):
    client.force_login(tom)
    response = client.post(f"/exits/{at_notice.pk}/notice/", {"start": "2020-10-12"}, follow=True)
    assert "公示已发布。" in text(response)
    at_notice.refresh_from_db()
    assert at_notice.notice_started_on == datetime.date(2020, 10, 12)


def test_the_notice_list_shows_names_but_no_personal_numbers(client, flow, at_notice, tom):
    services.notice_open(by=tom, case=at_notice)
    client.force_login(tom)
    page = text(client.get("/exits/notice-list/"))
    assert "王建国" in page
    for member in at_notice.household.members.all():
        assert member.id_number not in page


def test_a_second_upheld_objection_is_recorded_when_the_case_is_already_back(flow, at_notice, alice, tom):
    services.notice_open(by=tom, case=at_notice)
    first = services.objection_add(by=alice, case=at_notice, content="收入有误")
    second = services.objection_add(by=alice, case=at_notice, content="房子不安全")
    services.objection_resolve(by=tom, objection=first, upheld=True, resolution="收入核实有误")

    resolved = services.objection_resolve(by=tom, objection=second, upheld=True, resolution="房屋确有裂缝")

    assert resolved.status == ObjectionStatus.UPHELD
    at_notice.refresh_from_db()
    assert at_notice.current_step == Step.VERIFY


# --- the case list's 公示 filter ----------------------------------------------------------------


def listed(client, **params) -> set[int]:
    response = client.get("/exits/", params)
    return {case.pk for case in response.context["page"].object_list}


def test_the_case_list_filters_by_where_the_notice_stands(client, flow, tom, carol, alice):
    unpublished, running, ended, objected = (flow.enrol() for _ in range(4))
    flow.bring_to([unpublished, running, ended, objected], Step.NOTICE)
    services.notice_open(by=tom, case=ended)
    services.notice_open(by=tom, case=objected)
    flow.clock.shift(7)  # the minimum seven days of these two are over
    services.notice_open(by=tom, case=running)
    services.objection_add(by=tom, case=objected, content="收入核算有误")
    client.force_login(carol)

    assert listed(client, notice="unpublished") == {unpublished.pk}
    assert listed(client, notice="running") == {running.pk}
    assert listed(client, notice="closable") == {ended.pk}  # not the one held by an objection
    assert listed(client, notice="objected") == {objected.pk}
    assert listed(client) == {unpublished.pk, running.pk, ended.pk, objected.pk}
    assert client.get("/exits/", {"notice": "bogus"}).status_code == 200
