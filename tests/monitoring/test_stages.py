"""The stages of a monitoring case (monitoring/services.py, DOMAIN.md §5): 全面排查 (reported
by a cadre or the town, or opened by the scan) → 综合研判 (submitted by the village or
town) → the county confirms (精准帮扶) or dismisses with a reason → 动态销号 by the town or
county, recording date, method and who. Each transition by the wrong person or from the
wrong stage is refused with its Chinese message and changes nothing; a case not decided
by its response deadline raises an alert to the county, cleared once it decides.
"""

import contextlib
import datetime

import pytest
from django.utils import timezone

from monitoring import services
from monitoring.models import Finding, MonitoringCase, Stage
from monitoring.scans import response_overdue_scan
from notifications.models import Alert, AlertKind, Notification
from tests.conftest import OTHER_COUNTY_VILLAGE, make_user
from tests.html import text
from tests.monitoring.conftest import (
    D,
    assisted,
    confirmed,
    exited,
    go_to,
    income,
    open_case,
    poor,
    refusal,
    report,
    submitted,
)

pytestmark = pytest.mark.django_db

CADRE_OR_TOWN = "此操作由村级录入员、镇办干部办理。"
COUNTY_ONLY = "此操作由县级审批办理。"
TOWN_OR_COUNTY = "此操作由镇办干部、县级审批办理。"
MEASURE = {"type": "employment", "content": "推荐务工", "responsible_person": "张三", "due_on": "2020-11-30"}


@pytest.fixture(autouse=True)
def _clock(clock):
    """Every test starts on 2020-10-12."""


def stage_of(case) -> str:
    case.refresh_from_db()
    return case.stage


# --- 全面排查: reporting ----------------------------------------------------------------------------


def test_a_cadre_records_a_self_declaration_which_opens_a_candidate(alice):
    household = poor()

    case = report(alice, household, risk_types=["illness", "accident"], description="  户主车祸住院  ")

    assert (case.stage, case.channel, case.category) == (Stage.SCREENING, "self", "marginal")
    assert (case.discovered_on, case.response_due) == (D(2020, 10, 12), D(2020, 10, 27))
    assert case.risk_types == ["illness", "accident"]
    assert case.created_by == alice
    findings = list(case.findings.order_by("risk_type"))
    assert [(f.risk_type, f.channel, f.recorded_by, f.detail) for f in findings] == [
        ("accident", "self", alice, "户主车祸住院"),
        ("illness", "self", alice, "户主车祸住院"),
    ]


def test_a_report_of_several_risk_types_keeps_its_description_once(alice):
    case = report(alice, poor(), risk_types=["illness", "accident"], description="户主车祸住院")
    assert case.description == "户主车祸住院"


def test_the_town_records_its_assessment(tom):
    case = report(tom, exited(), channel="assessment", risk_types=["unstable_work"])
    assert (case.channel, case.category, case.created_by) == ("assessment", "unstable", tom)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"channel": "system"}, "channel", "请选择发现渠道：自我申报或镇村研判。"),
        ({"channel": "sector"}, "channel", "请选择发现渠道：自我申报或镇村研判。"),
        ({"risk_types": []}, "risk_types", "请选择风险类型。"),
        ({"risk_types": ["illness", "flood"]}, "risk_types", "请选择风险类型。"),
        (
            {"risk_types": ["illness", "disability", "schooling", "disaster", "accident", "epidemic"]},
            "risk_types",
            "风险类型最多选择5项。",
        ),
        ({"description": "   "}, "description", "请填写风险情况说明。"),
    ],
)
def test_a_report_is_refused_field_by_field(alice, changes, field, message):
    error = refusal(report, alice, poor(), **changes)
    assert error.fields == {field: [message]}
    assert not MonitoringCase.objects.exists() and not Finding.objects.exists()


def test_the_county_does_not_report_a_household(carol):
    error = refusal(report, carol, poor())
    assert error.messages == [CADRE_OR_TOWN]
    assert not MonitoringCase.objects.exists()


def test_a_report_on_a_household_with_an_open_case_joins_it(alice, tom):
    household = exited()
    first = report(alice, household, risk_types=["illness"])
    again = report(tom, household, channel="assessment", risk_types=["illness", "disaster"])

    assert again.pk == first.pk
    assert again.channel == "self"
    assert again.risk_types == ["illness", "disaster"]
    assert again.findings.count() == 3
    assert MonitoringCase.objects.count() == 1


# --- 综合研判: submit and decide ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "tom"])
def test_the_village_or_town_submits_the_screening_for_the_countys_decision(alice, tom, who):
    by = {"alice": alice, "tom": tom}[who]
    case = report(alice, poor())

    submitted(case, by, note="  入户核实：务工收入下降  ")

    case.refresh_from_db()
    assert case.stage == Stage.ASSESSMENT
    assert case.screening_note == "入户核实：务工收入下降"
    assert (case.assessed_by, case.assessed_at) == (by, timezone.now())


def test_submitting_is_refused_without_a_note_by_the_county_and_twice(alice, carol):
    case = report(alice, poor())

    assert refusal(submitted, case, alice, note=" ").fields == {"note": ["请填写排查情况。"]}
    assert refusal(submitted, case, carol).messages == [CADRE_OR_TOWN]
    assert stage_of(case) == Stage.SCREENING

    submitted(case, alice)
    assert refusal(submitted, case, alice).messages == ["只有“全面排查”阶段的对象可以提交研判。"]
    assert stage_of(case) == Stage.ASSESSMENT


def test_the_county_confirms_the_risk_which_starts_targeted_assistance(alice, carol):
    case = submitted(report(alice, poor(), risk_types=["illness"]), alice)

    services.case_decide(by=carol, case=case, confirm=True, reason="  确认为边缘易致贫户  ")

    case.refresh_from_db()
    assert case.stage == Stage.ASSISTANCE
    assert case.decision_reason == "确认为边缘易致贫户"
    assert (case.decided_by, case.decided_at) == (carol, timezone.now())
    assert case.risk_types == ["illness"]


def test_the_county_may_correct_the_risk_types_and_category_when_confirming(alice, carol):
    case = submitted(report(alice, poor(), risk_types=["illness"]), alice)

    services.case_decide(
        by=carol, case=case, confirm=True, reason="确认", risk_types=["disability", "lack_labour"], category="unstable"
    )

    case.refresh_from_db()
    assert (case.risk_types, case.category) == (["disability", "lack_labour"], "unstable")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"reason": "  "}, "reason", "请填写研判意见。"),
        ({"risk_types": []}, "risk_types", "请选择风险类型。"),
        ({"risk_types": ["a", "b"]}, "risk_types", "请选择风险类型。"),
        ({"category": "poor"}, "category", "请选择监测对象类别。"),
    ],
)
def test_a_decision_is_refused_field_by_field_and_changes_nothing(alice, carol, changes, field, message):
    case = submitted(report(alice, poor(), risk_types=["illness"]), alice)
    kwargs = {"confirm": True, "reason": "确认", **changes}

    error = refusal(services.case_decide, by=carol, case=case, **kwargs)

    assert error.fields == {field: [message]}
    case.refresh_from_db()
    assert (case.stage, case.risk_types, case.category, case.decided_by) == (
        Stage.ASSESSMENT,
        ["illness"],
        "marginal",
        None,
    )


@pytest.mark.parametrize("who", ["alice", "tom"])
def test_only_the_county_decides(alice, tom, carol, who):
    case = submitted(report(alice, poor()), alice)
    by = {"alice": alice, "tom": tom}[who]
    assert refusal(services.case_decide, by=by, case=case, confirm=True, reason="确认").messages == [COUNTY_ONLY]
    assert stage_of(case) == Stage.ASSESSMENT


def test_the_county_dismisses_with_a_reason_and_decides_only_once(alice, carol):
    case = submitted(report(alice, poor(), risk_types=["illness"]), alice)

    services.case_decide(by=carol, case=case, confirm=False, reason="收入稳定，不属于监测对象", risk_types=["water"])

    case.refresh_from_db()
    assert (case.stage, case.decision_reason, case.decided_by) == (Stage.DISMISSED, "收入稳定，不属于监测对象", carol)
    assert case.risk_types == ["illness"]  # a dismissal does not rewrite the risk
    again = refusal(services.case_decide, by=carol, case=case, confirm=True, reason="改为确认")
    assert again.messages == ["该对象已作出研判决定。"]
    assert stage_of(case) == Stage.DISMISSED


def test_the_county_may_decide_a_case_still_in_screening(alice, carol):
    case = confirmed(report(alice, poor()), carol)
    assert case.stage == Stage.ASSISTANCE and case.assessed_by is None


# --- 精准帮扶 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["screening", "assessment", "dismissed", "closed"])
def test_measures_are_added_only_in_targeted_assistance(alice, tom, carol, stage):
    household = poor()
    if stage == "closed":
        case = assisted(household, cadre=alice, county=carol, done=True)
        services.case_close(by=tom, case=case, closed_on="2020-10-12", method="务工收入稳定")
    else:
        case = report(alice, household)
        if stage == "assessment":
            submitted(case, alice)
        if stage == "dismissed":
            services.case_decide(by=carol, case=case, confirm=False, reason="不属于")
    case.refresh_from_db()
    before = case.measures.count()

    error = refusal(services.measure_add, by=alice, case=case, data=MEASURE)

    assert error.messages == ["县级确认为监测对象后才能制定帮扶措施。"]
    assert case.measures.count() == before


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"type": "cash"}, "type", "请选择帮扶措施类型。"),
        ({"content": " "}, "content", "请填写措施内容。"),
        ({"responsible_person": ""}, "responsible_person", "请填写责任人。"),
        ({"due_on": "2020-13-01"}, "due_on", "请填写完成时限。"),
        ({"due_on": ""}, "due_on", "请填写完成时限。"),
    ],
)
def test_a_measure_is_refused_field_by_field(alice, carol, changes, field, message):
    case = assisted(poor(), cadre=alice, county=carol, measure=None)
    error = refusal(services.measure_add, by=alice, case=case, data={**MEASURE, **changes})
    assert error.fields == {field: [message]}
    assert not case.measures.exists()


def test_a_measure_is_recorded_and_marked_done(alice, carol, clock):
    case = assisted(poor(), cadre=alice, county=carol, measure=None)
    measure = services.measure_add(by=alice, case=case, data=MEASURE)
    assert (measure.type, measure.due_on, measure.done_on) == ("employment", D(2020, 11, 30), None)

    clock.shift(3)
    services.measure_done(by=carol, measure=measure)

    measure.refresh_from_db()
    assert measure.done_on == D(2020, 10, 15)


def test_marking_a_done_measure_again_keeps_its_completion_date(alice, carol, clock):
    case = assisted(poor(), cadre=alice, county=carol, done=True)
    measure = case.measures.get()
    clock.shift(10)
    with contextlib.suppress(services.MonitoringError):
        services.measure_done(by=alice, measure=measure)
    measure.refresh_from_db()
    assert measure.done_on == D(2020, 10, 12)


# --- 动态销号 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["tom", "carol"])
def test_the_town_or_county_closes_a_case_recording_date_method_and_who(alice, tom, carol, clock, who):
    case = assisted(poor(), cadre=alice, county=carol, done=True)
    clock.shift(5)
    by = {"tom": tom, "carol": carol}[who]

    services.case_close(by=by, case=case, closed_on="2020-10-16", method="  公益岗位收入稳定  ")

    case.refresh_from_db()
    assert (case.stage, case.closed_on, case.close_method, case.closed_by) == (
        Stage.CLOSED,
        D(2020, 10, 16),
        "公益岗位收入稳定",
        by,
    )


@pytest.mark.parametrize(
    ("closed_on", "method", "fields"),
    [
        ("2020-10-13", "收入稳定", {"closed_on": ["销号日期不能晚于今天。"]}),
        ("2020/10/12", "收入稳定", {"closed_on": ["请填写销号日期。"]}),
        ("", "收入稳定", {"closed_on": ["请填写销号日期。"]}),
        ("2020-10-12", "  ", {"method": ["请填写风险消除方式。"]}),
    ],
)
def test_closing_is_refused_without_a_valid_date_or_method(alice, tom, carol, closed_on, method, fields):
    case = assisted(poor(), cadre=alice, county=carol, done=True)
    error = refusal(services.case_close, by=tom, case=case, closed_on=closed_on, method=method)
    assert (error.messages, error.fields) == ([], fields)
    assert stage_of(case) == Stage.ASSISTANCE


def test_a_village_cadre_does_not_close(alice, carol):
    case = assisted(poor(), cadre=alice, county=carol, done=True)
    error = refusal(services.case_close, by=alice, case=case, closed_on="2020-10-12", method="收入稳定")
    assert error.messages == [TOWN_OR_COUNTY]
    assert stage_of(case) == Stage.ASSISTANCE


@pytest.mark.parametrize("stage", ["screening", "assessment", "dismissed", "closed"])
def test_only_a_case_in_targeted_assistance_is_closed(alice, tom, carol, stage):
    household = poor()
    if stage == "closed":
        case = assisted(household, cadre=alice, county=carol, done=True)
        services.case_close(by=tom, case=case, closed_on="2020-10-12", method="收入稳定")
    else:
        case = report(alice, household)
        if stage == "assessment":
            submitted(case, alice)
        if stage == "dismissed":
            services.case_decide(by=carol, case=case, confirm=False, reason="不属于")

    error = refusal(services.case_close, by=tom, case=case, closed_on="2020-10-12", method="再次销号")

    assert error.messages == ["只有“精准帮扶”阶段的监测对象可以销号。"]
    assert stage_of(case) == stage


def test_a_case_is_not_closed_before_it_was_discovered(alice, tom, carol):
    case = assisted(poor(), cadre=alice, county=carol, done=True)
    error = refusal(services.case_close, by=tom, case=case, closed_on="2020-01-01", method="收入稳定")
    assert "closed_on" in error.fields


def test_the_history_records_each_transition_and_who_made_it(alice, tom, carol):
    case = assisted(poor(), cadre=alice, county=carol, units=False, measure="health", done=True)
    services.case_close(by=tom, case=case, closed_on="2020-10-12", method="健康帮扶后收入稳定")

    rows = case.history.order_by("history_id").values_list("stage", "history_user__username")
    assert list(rows) == [
        ("screening", "alice"),
        ("assessment", "alice"),
        ("assistance", "carol"),
        ("closed", "tom"),
    ]


def test_a_closed_household_found_again_gets_a_new_case(alice, tom, carol):
    from monitoring.scans import at_risk_scan
    from tests.monitoring.conftest import uninsured

    household = exited()
    case = assisted(household, cadre=alice, county=carol, done=True)
    services.case_close(by=tom, case=case, closed_on="2020-10-12", method="收入稳定")
    income(household, 4000)
    uninsured(household)

    assert at_risk_scan()["opened"] == 1

    assert stage_of(case) == Stage.CLOSED
    new = open_case(household)
    assert new.pk != case.pk and new.stage == Stage.SCREENING
    assert set(new.findings.values_list("key", flat=True)) == {
        f"income_low:{household.pk}:2020",
        f"uninsured:{household.members.get(name='王大妈').pk}:2020",
    }


# --- the response deadline ------------------------------------------------------------------------


def response_alerts(open_only=True):
    alerts = Alert.objects.filter(kind=AlertKind.MONITORING_RESPONSE)
    return alerts.filter(cleared_at__isnull=True) if open_only else alerts


def test_an_undecided_case_past_its_deadline_alerts_the_county_until_it_decides(clock, alice, tom, carol, zed):
    case = report(alice, poor())  # due 10-27
    go_to(D(2020, 10, 27), clock)
    assert response_overdue_scan()["raised"] == 0

    go_to(D(2020, 10, 28), clock)
    assert response_overdue_scan() == {"raised": 1, "reopened": 0, "cleared": 0, "open": 1}

    alert = response_alerts().get()
    assert alert.key == f"monitoring:{case.pk}:response"
    assert (alert.level, alert.region_id, alert.due_on) == ("county", case.village_id, D(2020, 10, 27))
    assert alert.link == f"/monitoring/{case.pk}/"
    assert alert.title == f"监测对象{case.household.number}已超过响应时限（2020-10-27）仍未研判"
    assert set(alert.notifications.values_list("user__username", flat=True)) == {"carol"}

    submitted(case, alice)  # submitted, still undecided: still late
    go_to(D(2020, 10, 29), clock)
    assert response_overdue_scan()["cleared"] == 0 and response_alerts().count() == 1

    confirmed(case, carol)
    assert response_overdue_scan() == {"raised": 0, "reopened": 0, "cleared": 1, "open": 0}
    assert not response_alerts().exists()
    assert response_alerts(open_only=False).get().cleared_at == timezone.now()


def test_a_dismissal_clears_the_alert_too(clock, alice, carol):
    case = report(alice, poor())
    go_to(D(2020, 11, 1), clock)
    response_overdue_scan()
    services.case_decide(by=carol, case=case, confirm=False, reason="不属于")
    assert response_overdue_scan()["cleared"] == 1


def test_the_alert_goes_to_the_county_of_the_case(clock, alice, carol, zed):
    ours = report(alice, poor())
    olga = make_user("olga", "village_cadre", OTHER_COUNTY_VILLAGE, full_name="欧佳")
    theirs = report(olga, poor(OTHER_COUNTY_VILLAGE))
    go_to(D(2020, 10, 28), clock)

    response_overdue_scan()

    assert set(Notification.objects.values_list("user__username", "alert__key")) == {
        ("carol", f"monitoring:{ours.pk}:response"),
        ("zed", f"monitoring:{theirs.pk}:response"),
    }


def test_the_response_deadline_follows_the_settings_when_the_case_is_opened(clock, alice):
    from tests.monitoring.conftest import rules

    rules(response_days=5)
    case = report(alice, poor())
    assert case.response_due == D(2020, 10, 17)
    go_to(D(2020, 10, 18), clock)
    assert response_overdue_scan()["raised"] == 1


def test_an_open_response_alert_does_not_keep_a_stale_number_of_days(clock, alice, carol):
    report(alice, poor())
    go_to(D(2020, 10, 28), clock)
    response_overdue_scan()
    go_to(D(2020, 11, 11), clock)
    response_overdue_scan()
    assert response_alerts().get().title.endswith("已超过响应时限（2020-10-27）仍未研判")


# --- the same through the pages -------------------------------------------------------------------


def page(client, case) -> str:
    return text(client.get(f"/monitoring/{case.pk}/"))


def test_the_stages_on_the_pages_with_their_refusals_shown(client, alice, tom, carol):
    household = exited()
    income(household, 4000)
    case = report(alice, household)

    client.force_login(alice)
    response = client.post(f"/monitoring/{case.pk}/submit/", {"note": ""}, follow=True)
    assert response.redirect_chain == [(f"/monitoring/{case.pk}/", 302)]
    assert "请填写排查情况。" in text(response)
    client.post(f"/monitoring/{case.pk}/submit/", {"note": "入户核实"})
    assert stage_of(case) == Stage.ASSESSMENT
    assert "已提交县级研判" not in page(client, case)  # the message was shown once

    client.force_login(carol)
    assert "请填写研判意见。" in text(
        client.post(f"/monitoring/{case.pk}/decide/", {"decision": "confirm", "reason": ""}, follow=True)
    )
    response = client.post(
        f"/monitoring/{case.pk}/decide/",
        {"decision": "confirm", "reason": "确认", "risk_types": ["illness"]},
        follow=True,
    )
    assert "已确认为监测对象，进入精准帮扶。" in text(response)
    case.refresh_from_db()
    assert (case.stage, case.risk_types) == (Stage.ASSISTANCE, ["illness"])

    client.force_login(tom)
    response = client.post(
        f"/monitoring/{case.pk}/close/", {"closed_on": "2020-10-12", "method": "收入稳定"}, follow=True
    )
    shown = text(response)
    assert "收入尚未稳定超过监测线：2020年人均纯收入4000.00元，低于监测线6000.00元。" in shown
    assert "尚未落实帮扶措施。" in shown
    assert stage_of(case) == Stage.ASSISTANCE


def test_a_closed_case_page_shows_when_how_and_by_whom(client, alice, tom, carol):
    case = assisted(poor(), cadre=alice, county=carol, done=True)
    services.case_close(by=tom, case=case, closed_on="2020-10-12", method="务工收入稳定")
    client.force_login(carol)
    shown = page(client, case)
    assert "动态销号：2020-10-12，务工收入稳定（张涛）" in shown
    assert "保存研判" not in shown and "添加措施" not in shown


def test_a_dismissal_on_the_page_needs_the_dismiss_choice(client, alice, carol):
    case = report(alice, poor())
    client.force_login(carol)
    client.post(f"/monitoring/{case.pk}/decide/", {"decision": "dismiss", "reason": "不属于"})
    assert stage_of(case) == Stage.DISMISSED


def test_a_decision_post_without_a_choice_dismisses_nothing(client, alice, carol):
    case = report(alice, poor())
    client.force_login(carol)
    client.post(f"/monitoring/{case.pk}/decide/", {"reason": "确认"})
    assert stage_of(case) == Stage.SCREENING


def test_the_deadline_badge_on_the_page(client, clock, alice):
    case = report(alice, poor())
    client.force_login(alice)
    assert "响应逾期" not in page(client, case)
    go_to(D(2020, 10, 28), clock)
    client.force_login(alice)
    assert "响应逾期（时限 2020-10-27）" in page(client, case)


def test_dates_are_today_in_shanghai():
    assert timezone.localdate() == datetime.date(2020, 10, 12)
