"""Confirming a relapse (返贫, monitoring/services.py ``relapse_confirm``; DOMAIN.md §4–5,
issue 14): 脱贫状态 is the workflow's outcome, and the one path that sets 返贫 is the
county's confirmation, on a monitoring case it has confirmed (精准帮扶), that the exited
household has fallen back into poverty. The household keeps its 脱贫年度; the decision
is a record (who, when, why, the income and line that stood then) and a line in the
household's and the case's history.

carol (county official of 汉滨区) may; alice (village), tom (town), sam (sector), root
(administrator) may not; sue (city) reads only; zed (汉阴县) does not see the case.
"""

from decimal import Decimal

import pytest

from households.models import ExitStatus, Household, IncomeRecord
from monitoring import services
from monitoring.models import RelapseRecord, Stage
from tests.html import element, elements, text
from tests.monitoring.conftest import (
    D,
    assisted,
    exited,
    income,
    poor,
    refusal,
    report,
    submitted,
)

pytestmark = pytest.mark.django_db

REASON = "户主患大病丧失劳动能力，2020年人均纯收入低于扶贫标准，经入户核实确已返贫"
COUNTY_ONLY = "此操作由县级审批办理。"


@pytest.fixture(autouse=True)
def _clock(clock):
    """Every test starts on 2020-10-12."""


@pytest.fixture
def helped(alice, carol):
    """An exited (2019) household whose 2020 income fell to 3,000 per person, its risk
    confirmed by the county and in targeted assistance (精准帮扶)."""
    household = exited()
    income(household, 3000)
    return assisted(household, cadre=alice, county=carol)


def household_history(case):
    """The household's newest history row (the clock is frozen: the id orders them)."""
    return Household.history.filter(id=case.household_id).order_by("-history_id").first()


def relapse(by, case, reason=REASON):
    return services.relapse_confirm(by=by, case=case, reason=reason)


def unchanged(case) -> bool:
    """The household is still 已脱贫 (2019) and no relapse was recorded."""
    household = Household.objects.get(pk=case.household_id)
    return (household.exit_status, household.exit_year, RelapseRecord.objects.count()) == (
        ExitStatus.EXITED,
        2019,
        0,
    )


# --- who may -----------------------------------------------------------------------------------


def test_the_county_confirms_a_relapse_and_the_household_becomes_returned(helped, carol):
    version = helped.household.version

    record = relapse(carol, helped)

    household = Household.objects.get(pk=helped.household_id)
    assert (household.exit_status, household.exit_year) == (ExitStatus.RETURNED, 2019)  # the year it exited stays
    assert household.version == version + 1
    assert (record.household_id, record.case_id, record.confirmed_by, record.exit_year) == (
        household.pk,
        helped.pk,
        carol,
        2019,
    )
    assert record.reason == REASON
    # The income that justified it: 2020, 3,000 per person against the 4,000 line.
    assert (record.income_year, record.per_capita_income, record.income_line) == (
        2020,
        Decimal("3000.00"),
        Decimal("4000.00"),
    )
    assert record.below_line is True
    assert record.confirmed_at is not None


def test_the_case_stays_in_targeted_assistance(helped, carol):
    relapse(carol, helped)
    helped.refresh_from_db()
    assert helped.stage == Stage.ASSISTANCE  # the help goes on; closing still needs the risk gone


@pytest.mark.parametrize("who", ["alice", "tom", "sam", "root"])
def test_nobody_but_the_county_confirms_a_relapse(helped, everyone, who):
    error = refusal(relapse, everyone[who], helped)
    assert error.messages == [COUNTY_ONLY]
    assert unchanged(helped)


def test_the_city_supervisor_reads_only(helped, sue):
    assert refusal(relapse, sue, helped).messages == ["市级督查账号为只读账号，不能修改数据。"]
    assert unchanged(helped)


def test_another_county_cannot_confirm_a_relapse_here(helped, zed):
    assert refusal(relapse, zed, helped).messages == ["该户不在您的管辖范围内。"]
    assert unchanged(helped)


# --- when ----------------------------------------------------------------------------------------


def test_not_before_the_county_has_confirmed_the_risk(alice, carol):
    screening = report(alice, exited())
    assessment = submitted(report(alice, exited()), alice)
    for case in (screening, assessment):
        assert refusal(relapse, carol, case).messages == ["县级综合研判确认为监测对象后，才能认定返贫。"]
    assert RelapseRecord.objects.count() == 0
    assert set(Household.objects.values_list("exit_status", flat=True)) == {ExitStatus.EXITED}


def test_not_on_a_dismissed_case(alice, carol):
    case = submitted(report(alice, exited()), alice)
    services.case_decide(by=carol, case=case, confirm=False, reason="经核实收入稳定")
    assert refusal(relapse, carol, case).messages == ["该监测对象已研判排除，不能认定返贫。"]
    assert unchanged(case)


def test_not_on_a_closed_case(alice, carol):
    case = assisted(exited(), cadre=alice, county=carol, done=True)
    services.case_close(by=carol, case=case, closed_on=D(2020, 10, 12), method="务工收入稳定")
    assert refusal(relapse, carol, case).messages == ["该监测对象已销号，不能认定返贫。"]
    assert unchanged(case)


def test_only_an_exited_household_can_relapse(alice, carol):
    """A marginal household (一般农户, never poor-registered as exited) is monitored too,
    but it has no exit to fall back from."""
    case = assisted(poor(), cadre=alice, county=carol)
    error = refusal(relapse, carol, case)
    assert error.messages == ["只有已脱贫户可以认定返贫；该户脱贫状态为“未脱贫”。"]
    assert Household.objects.get(pk=case.household_id).exit_status == ExitStatus.NOT_EXITED
    assert RelapseRecord.objects.count() == 0


def test_a_relapse_is_confirmed_once(helped, carol):
    relapse(carol, helped)
    again = refusal(relapse, carol, helped)
    assert again.messages == ["只有已脱贫户可以认定返贫；该户脱贫状态为“返贫”。"]
    assert RelapseRecord.objects.count() == 1


def test_a_reason_is_required(helped, carol):
    error = refusal(relapse, carol, helped, reason="   ")
    assert (error.messages, error.fields) == ([], {"reason": ["请填写返贫认定理由。"]})
    assert unchanged(helped)


def test_every_refusal_is_said_at_once(alice, carol):
    case = submitted(report(alice, exited()), alice)
    error = refusal(relapse, carol, case, reason="")
    assert error.all_messages == ["县级综合研判确认为监测对象后，才能认定返贫。", "请填写返贫认定理由。"]


# --- the record ----------------------------------------------------------------------------------


def test_without_an_income_record_the_record_has_no_income(helped, carol):
    IncomeRecord.objects.filter(household=helped.household).delete()
    record = relapse(carol, helped)
    assert (record.income_year, record.per_capita_income, record.income_line, record.below_line) == (
        None,
        None,
        None,
        None,
    )


def test_the_latest_income_year_is_the_one_recorded(helped, carol):
    income(helped.household, 2500, year=2019)  # an older year does not count
    record = relapse(carol, helped)
    assert (record.income_year, record.per_capita_income) == (2020, Decimal("3000.00"))


def test_the_household_history_names_the_relapse_and_who_confirmed_it(helped, carol):
    relapse(carol, helped)

    last = household_history(helped)
    assert (last.exit_status, last.exit_year, last.history_user) == (ExitStatus.RETURNED, 2019, carol)
    assert last.history_change_reason.startswith("防返贫监测确认返贫（2020-10-12）：户主患大病")
    before = Household.history.filter(id=helped.household_id, history_id__lt=last.history_id).order_by("-history_id")
    assert before.first().exit_status == ExitStatus.EXITED


def test_the_household_s_change_panel_shows_exited_to_returned_with_the_reason(helped, carol, clock):
    from core.audit import history_entries

    clock.shift(1)
    relapse(carol, helped)
    newest = history_entries(Household.objects.get(pk=helped.household_id))[0]
    assert [(c.field, c.old, c.new) for c in newest.changes] == [("脱贫状态", "已脱贫", "返贫")]
    assert (newest.who, newest.reason) == (str(carol), f"防返贫监测确认返贫（2020-10-13）：{REASON}")


def test_a_long_reason_is_kept_whole_in_the_record_and_shortened_in_the_history(helped, carol):
    """simple-history keeps 100 characters of a change reason (a longer one is an error
    on PostgreSQL); the record keeps every word."""
    reason = "经入户核实，" + "户主因病丧失劳动能力、家庭医疗支出大幅增加，" * 10
    record = relapse(carol, helped, reason=reason)
    assert record.reason == reason.strip()
    last = household_history(helped)
    assert len(last.history_change_reason) == 100
    assert len(record.history.get().history_change_reason) == 100


def test_the_record_has_its_own_history(helped, carol):
    record = relapse(carol, helped)
    [created] = record.history.all()
    assert (created.history_type, created.history_user, created.history_change_reason) == (
        "+",
        carol,
        f"确认返贫：{REASON}",
    )


def test_the_record_is_scoped_like_its_case(helped, carol, alice, zed, bob):
    relapse(carol, helped)
    assert RelapseRecord.objects.visible_to(carol).count() == 1
    assert RelapseRecord.objects.visible_to(alice).count() == 1
    assert RelapseRecord.objects.visible_to(bob).count() == 0
    assert RelapseRecord.objects.visible_to(zed).count() == 0


# --- the page ------------------------------------------------------------------------------------


def page(client, user, case):
    client.force_login(user)
    response = client.get(f"/monitoring/{case.pk}/")
    assert response.status_code == 200
    return response


def test_the_county_sees_the_form_with_the_income_that_stands(client, helped, carol):
    form = element(page(client, carol, helped), "form", data_testid="relapse-form")
    assert "2020年人均纯收入 3000.00 元，扶贫标准 4000.00 元。" in form.text
    assert "该户2019年已脱贫" in form.text


@pytest.mark.parametrize("who", ["alice", "tom", "sue"])
def test_others_see_no_relapse_form(client, helped, everyone, who):
    assert elements(page(client, everyone[who], helped), "form", data_testid="relapse-form") == []


def test_no_form_before_the_county_confirmed_the_risk(client, alice, carol):
    case = submitted(report(alice, exited()), alice)
    assert elements(page(client, carol, case), "form", data_testid="relapse-form") == []


def test_confirming_on_the_page_shows_it_in_the_case_s_course_and_history(client, helped, carol):
    client.force_login(carol)
    response = client.post(f"/monitoring/{helped.pk}/relapse/", {"reason": REASON}, follow=True)

    assert "已认定返贫，该户脱贫状态已改为“返贫”。" in text(response)
    assert Household.objects.get(pk=helped.household_id).exit_status == ExitStatus.RETURNED
    [line] = elements(response, "li", data_testid="relapse")
    assert REASON in line.text and "2020年人均纯收入3000.00元，扶贫标准4000.00元" in line.text
    assert carol.full_name in line.text
    history = element(response, "section", "history-panel").text
    assert "返贫认定" in history and f"确认返贫：{REASON}" in history
    assert element(response, "span", data_testid="household-returned").text == "返贫"
    # Done once: the form is gone.
    assert elements(response, "form", data_testid="relapse-form") == []


def test_a_refusal_on_the_page_changes_nothing(client, helped, carol):
    client.force_login(carol)
    response = client.post(f"/monitoring/{helped.pk}/relapse/", {"reason": ""}, follow=True)
    assert "请填写返贫认定理由。" in text(response)
    assert unchanged(helped)


def test_a_village_cadre_posting_the_form_is_refused(client, helped, alice):
    client.force_login(alice)
    response = client.post(f"/monitoring/{helped.pk}/relapse/", {"reason": REASON}, follow=True)
    assert COUNTY_ONLY in text(response)
    assert unchanged(helped)


def test_another_county_gets_404_on_the_page(client, helped, zed):
    client.force_login(zed)
    assert client.post(f"/monitoring/{helped.pk}/relapse/", {"reason": REASON}).status_code == 404
    assert unchanged(helped)


# --- the API -------------------------------------------------------------------------------------


def post(client, user, case, payload):
    client.force_login(user)
    return client.post(f"/api/v1/monitoring-cases/{case.pk}/relapse/", payload, content_type="application/json")


def test_the_api_confirms_a_relapse(client, helped, carol):
    response = post(client, carol, helped, {"reason": REASON})

    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["stage"], data["household_exit_status"]) == ("assistance", "returned")
    [record] = data["relapses"]
    assert {k: record[k] for k in ("exit_year", "reason", "income_year", "per_capita_income", "income_line")} == {
        "exit_year": 2019,
        "reason": REASON,
        "income_year": 2020,
        "per_capita_income": "3000.00",
        "income_line": "4000.00",
    }
    assert record["confirmed_by"] == "carol"


def test_the_api_refuses_with_the_service_s_words(client, helped, alice, carol):
    response = post(client, alice, helped, {"reason": REASON})
    assert (response.status_code, response.json()["reasons"]) == (400, [COUNTY_ONLY])
    response = post(client, carol, helped, {"reason": ""})
    assert (response.status_code, response.json()["fields"]) == (400, {"reason": ["请填写返贫认定理由。"]})
    assert unchanged(helped)


def test_the_api_is_read_only_for_the_city_and_404_out_of_scope(client, helped, sue, zed):
    assert post(client, sue, helped, {"reason": REASON}).status_code == 403
    assert post(client, zed, helped, {"reason": REASON}).status_code == 404
    assert unchanged(helped)


def test_the_case_detail_lists_its_relapses(client, helped, carol, alice):
    relapse(carol, helped)
    client.force_login(alice)  # the village sees the decision on its household
    data = client.get(f"/api/v1/monitoring-cases/{helped.pk}/").json()
    assert [r["reason"] for r in data["relapses"]] == [REASON]
