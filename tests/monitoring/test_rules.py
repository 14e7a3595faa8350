"""The rules of an open risk (monitoring/services.py, DOMAIN.md §5): responsible units with
exactly one lead ("涉及多方有人主责"); a household with working-age labour needs a
development-type measure (产业/就业/金融/公益岗位); closing (风险消除) is refused, with the
exact reasons, while income is below the monitoring line, a criterion fails, or measures
are missing or unfinished.
"""

import contextlib
import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from households.models import IncomeRecord, LabourSkill
from monitoring import services
from monitoring.models import DEVELOPMENT_MEASURES, MeasureType, ResponsibleUnit, Stage
from tests.factories import MemberFactory
from tests.html import element, text
from tests.monitoring.conftest import D, assisted, dangerous_house, exited, income, poor, refusal, uninsured

pytestmark = pytest.mark.django_db

NO_UNITS = "尚未落实责任单位和责任人。"
ONE_LEAD = "多个责任单位时必须有且只有一个牵头单位。"
DEVELOPMENT = "该户有劳动年龄内的劳动力，须有产业、就业、金融或公益岗位等开发式帮扶措施。"


@pytest.fixture(autouse=True)
def _clock(clock):
    """Every test runs on 2020-10-12."""


def unit(name="镇人社站", person="张三", lead=False, phone=""):
    return {"unit": name, "person": person, "phone": phone, "is_lead": lead}


# --- responsible units ----------------------------------------------------------------------------


def test_units_with_exactly_one_lead_are_saved_and_replace_the_old_ones(alice, tom, carol):
    case = assisted(poor(), cadre=alice, county=carol, units=False)
    services.units_set(by=alice, case=case, units=[unit("村委会", "李四", lead=True)])

    saved = services.units_set(
        by=tom,
        case=case,
        units=[unit("镇人社站", "张三"), unit(" 镇卫生院 ", " 王五 ", lead=True, phone="13800138000")],
    )

    assert len(saved) == 2
    rows = list(case.responsible_units.values_list("unit", "person", "phone", "is_lead"))
    assert rows == [("镇卫生院", "王五", "13800138000", True), ("镇人社站", "张三", "", False)]


@pytest.mark.parametrize(
    ("units", "message"),
    [
        ([unit("镇人社站"), unit("村委会")], "多个责任单位时必须有且只有一个牵头单位（当前0个）。"),
        (
            [unit("镇人社站", lead=True), unit("村委会", lead=True)],
            "多个责任单位时必须有且只有一个牵头单位（当前2个）。",
        ),
        ([unit("镇人社站")], "多个责任单位时必须有且只有一个牵头单位（当前0个）。"),
        ([], "请至少填写一个责任单位。"),
        ([unit("镇人社站", lead=True), unit("村委会", person=" ")], "第2行：请填写责任单位和责任人。"),
        ([unit("", lead=True)], "第1行：请填写责任单位和责任人。"),
    ],
)
def test_units_without_exactly_one_lead_or_incomplete_are_refused_and_the_old_ones_stay(alice, carol, units, message):
    case = assisted(poor(), cadre=alice, county=carol)  # one lead unit: 镇人社站 张三

    error = refusal(services.units_set, by=alice, case=case, units=units)

    assert error.messages == [message]
    assert list(case.responsible_units.values_list("unit", "is_lead")) == [("镇人社站", True)]


def test_the_database_holds_at_most_one_lead_per_case(alice, carol):
    case = assisted(poor(), cadre=alice, county=carol)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResponsibleUnit.objects.create(case=case, unit="村委会", person="李四", is_lead=True)


def test_the_units_form_on_the_page_picks_the_lead_by_row(client, alice, carol):
    case = assisted(poor(), cadre=alice, county=carol, units=False)
    client.force_login(alice)
    response = client.post(
        f"/monitoring/{case.pk}/units/",
        {"unit": ["镇人社站", "", "村委会"], "person": ["张三", "", "李四"], "phone": ["", "", ""], "lead": "2"},
        follow=True,
    )
    assert "责任单位已保存。" in text(response)
    assert list(case.responsible_units.values_list("unit", "is_lead")) == [("村委会", True), ("镇人社站", False)]


def test_the_units_form_without_a_lead_is_refused_on_the_page(client, alice, carol):
    case = assisted(poor(), cadre=alice, county=carol, units=False)
    client.force_login(alice)
    response = client.post(
        f"/monitoring/{case.pk}/units/",
        {"unit": ["镇人社站", "村委会", ""], "person": ["张三", "李四", ""], "phone": ["", "", ""]},
        follow=True,
    )
    assert "多个责任单位时必须有且只有一个牵头单位（当前0个）。" in text(response)
    assert not case.responsible_units.exists()


def test_a_too_long_phone_on_the_page_is_refused_not_a_server_error(client, alice, carol):
    case = assisted(poor(), cadre=alice, county=carol, units=False)
    client.force_login(alice)
    response = client.post(
        f"/monitoring/{case.pk}/units/",
        {"unit": ["镇人社站"], "person": ["张三"], "phone": ["0915-32123456789"], "lead": "0"},
    )
    assert response.status_code == 302
    assert not case.responsible_units.exists()


def test_the_units_of_a_closed_case_are_not_rewritten(alice, tom, carol):
    case = assisted(poor(), cadre=alice, county=carol, done=True)
    services.case_close(by=tom, case=case, closed_on="2020-10-12", method="收入稳定")
    with contextlib.suppress(services.MonitoringError):
        services.units_set(by=alice, case=case, units=[unit("别的单位", "别人", lead=True)])
    assert list(case.responsible_units.values_list("unit", flat=True)) == ["镇人社站"]


# --- what an open case still lacks ------------------------------------------------------------------


def test_a_confirmed_case_without_units_or_a_development_measure_shows_both_problems(alice, carol):
    case = assisted(exited(), cadre=alice, county=carol, units=False, measure="health")
    assert services.case_problems(case) == [NO_UNITS, DEVELOPMENT]


def test_a_case_not_yet_confirmed_has_no_problems_listed(alice, carol):
    from tests.monitoring.conftest import report

    case = report(alice, exited())
    assert services.case_problems(case) == []


def test_two_leads_in_the_data_are_a_problem(alice, carol):
    case = assisted(exited(), cadre=alice, county=carol, units=False)
    ResponsibleUnit.objects.create(case=case, unit="镇人社站", person="张三", is_lead=False)
    ResponsibleUnit.objects.create(case=case, unit="村委会", person="李四", is_lead=False)
    assert services.case_problems(case) == [ONE_LEAD]


@pytest.mark.parametrize("measure", sorted(DEVELOPMENT_MEASURES))
def test_each_development_measure_meets_the_rule(alice, carol, measure):
    case = assisted(exited(), cadre=alice, county=carol, measure=measure)
    assert services.case_problems(case) == []


@pytest.mark.parametrize("measure", sorted(set(MeasureType.values) - DEVELOPMENT_MEASURES))
def test_other_measures_do_not_meet_the_rule(alice, carol, measure):
    case = assisted(exited(), cadre=alice, county=carol, measure=measure)
    assert services.case_problems(case) == [DEVELOPMENT]


def test_a_development_measure_added_later_clears_the_problem(alice, carol):
    case = assisted(exited(), cadre=alice, county=carol, measure="safety_net")
    services.measure_add(
        by=carol,
        case=case,
        data={"type": "public_post", "content": "护林员", "responsible_person": "张三", "due_on": "2020-12-31"},
    )
    assert services.case_problems(case) == []


def household_with_head(born, skill=LabourSkill.ORDINARY):
    """A household whose only adult is its head, born ``born`` with labour ``skill``."""
    household = exited()
    household.members.filter(relationship="head").update(birth_date=born, labour_skill=skill)
    return household


@pytest.mark.parametrize(
    ("born", "skill", "needs"),
    [
        (D(1980, 5, 17), LabourSkill.ORDINARY, True),
        (D(1980, 5, 17), LabourSkill.SKILLED, True),
        (D(1980, 5, 17), LabourSkill.WEAK, False),
        (D(1980, 5, 17), LabourSkill.LOST, False),
        (D(1960, 10, 13), LabourSkill.ORDINARY, True),  # 59, 60 tomorrow
        (D(1960, 10, 12), LabourSkill.ORDINARY, False),  # 60 today
        (D(2004, 10, 12), LabourSkill.ORDINARY, True),  # 16 today
        (D(2004, 10, 13), LabourSkill.ORDINARY, False),  # 16 tomorrow
    ],
)
def test_working_age_labour_is_16_to_59_with_ordinary_or_skilled_labour(alice, carol, born, skill, needs):
    household = household_with_head(born, skill)
    assert services.has_working_age_labour(household, today=D(2020, 10, 12)) is needs
    case = assisted(household, cadre=alice, county=carol, measure="health")
    assert services.case_problems(case) == ([DEVELOPMENT] if needs else [])


def test_the_problems_are_shown_on_the_case_page(client, alice, carol):
    case = assisted(exited(), cadre=alice, county=carol, units=False, measure="health")
    client.force_login(alice)
    problems = element(client.get(f"/monitoring/{case.pk}/"), "div", data_testid="problems").text
    assert NO_UNITS in problems and DEVELOPMENT in problems


# --- closing refused, with the exact reasons ---------------------------------------------------------


def test_a_case_meeting_every_condition_closes(alice, tom, carol):
    case = assisted(exited(), cadre=alice, county=carol, done=True)
    assert services.close_refusals(case) == []
    services.case_close(by=tom, case=case, closed_on="2020-10-12", method="就业帮扶后收入稳定")
    case.refresh_from_db()
    assert case.stage == Stage.CLOSED


def test_closing_is_refused_while_income_is_below_the_line(alice, tom, carol):
    household = exited()
    income(household, Decimal("5999.99"))
    case = assisted(household, cadre=alice, county=carol, done=True)

    error = refusal(services.case_close, by=tom, case=case, closed_on="2020-10-12", method="收入稳定")

    assert error.messages == ["收入尚未稳定超过监测线：2020年人均纯收入5999.99元，低于监测线6000.00元。"]
    assert error.fields == {}
    case.refresh_from_db()
    assert (case.stage, case.closed_on, case.close_method, case.closed_by) == (Stage.ASSISTANCE, None, "", None)


def test_a_sharp_drop_alone_does_not_refuse_closing(alice, carol):
    household = exited()
    income(household, 10000, year=2019)
    income(household, 6000)
    case = assisted(household, cadre=alice, county=carol, done=True)
    assert services.close_refusals(case) == []


def test_closing_follows_the_line_in_the_settings(alice, carol):
    from tests.monitoring.conftest import rules

    case = assisted(exited(), cadre=alice, county=carol, done=True)  # 6,000 per person
    rules(line_factor=Decimal("1.6"))
    assert services.close_refusals(case) == ["收入尚未稳定超过监测线：2020年人均纯收入6000.00元，低于监测线6400.00元。"]


def test_closing_is_refused_while_a_criterion_fails(alice, tom, carol):
    household = exited()
    dangerous_house(household, "D")
    member = uninsured(household, name="王大妈")
    MemberFactory(
        household=household, relationship="daughter", name="王小花", birth_date=D(2008, 1, 1),
        education="", schooling="preschool_age", labour_skill="none",
    )  # fmt: skip
    case = assisted(household, cadre=alice, county=carol, done=True)

    assert services.close_refusals(case) == [
        "两不愁三保障仍有问题：住房鉴定为D级危房。",
        "两不愁三保障仍有问题：王小花处于义务教育阶段但未在校。",
        "两不愁三保障仍有问题：王大妈未参加基本医疗保险。",
    ]

    member.medical_insurance = "resident"
    member.save()
    household.housing_appraisals.filter(grade="D").update(outcome="renovated", outcome_date=D(2020, 10, 1))
    household.members.filter(name="王小花").update(schooling="primary")
    assert services.close_refusals(case) == []


def test_closing_is_refused_while_water_is_unsafe(alice, carol):
    from households.models import WaterAssessment

    household = exited()
    case = assisted(household, cadre=alice, county=carol, done=True)
    WaterAssessment.objects.create(
        household=household, assessed_on=D(2020, 10, 1), quality_ok=False, litres_per_person_day=Decimal("60"),
        piped_to_house=True, reliability_percent=Decimal("98"),
    )  # fmt: skip
    assert services.close_refusals(case) == ["两不愁三保障仍有问题：饮水安全评估不达标。"]


def test_closing_is_refused_without_measures_or_with_one_unfinished(alice, carol):
    without = assisted(exited(), cadre=alice, county=carol, measure=None)
    assert services.close_refusals(without) == ["尚未落实帮扶措施。"]

    unfinished = assisted(exited(), cadre=alice, county=carol, done=True)
    services.measure_add(
        by=alice,
        case=unfinished,
        data={"type": "health", "content": "家庭医生签约", "responsible_person": "王医生", "due_on": "2020-11-01"},
    )
    assert services.close_refusals(unfinished) == ["还有帮扶措施未完成。"]


def test_every_reason_at_once_with_the_form_errors(alice, tom, carol):
    household = exited()
    income(household, 4500)
    dangerous_house(household, "C")
    case = assisted(household, cadre=alice, county=carol, measure="industry", done=False)

    error = refusal(services.case_close, by=tom, case=case, closed_on="", method="")

    assert error.messages == [
        "收入尚未稳定超过监测线：2020年人均纯收入4500.00元，低于监测线6000.00元。",
        "两不愁三保障仍有问题：住房鉴定为C级危房。",
        "还有帮扶措施未完成。",
    ]
    assert error.fields == {"closed_on": ["请填写销号日期。"], "method": ["请填写风险消除方式。"]}


def test_the_close_form_lists_the_refusals_before_closing(client, alice, tom, carol):
    household = exited()
    income(household, 4500)
    case = assisted(household, cadre=alice, county=carol, measure=None)
    client.force_login(tom)
    shown = text(client.get(f"/monitoring/{case.pk}/"))
    assert "收入尚未稳定超过监测线" in shown and "尚未落实帮扶措施。" in shown


def test_closing_is_refused_without_any_income_record(alice, carol):
    household = exited()
    case = assisted(household, cadre=alice, county=carol, done=True)
    IncomeRecord.objects.filter(household=household).delete()
    assert any("收入" in reason for reason in services.close_refusals(case))


def test_another_households_newer_income_does_not_let_a_low_income_case_close(alice, carol):
    household = exited()
    income(household, 4500)
    case = assisted(household, cadre=alice, county=carol, done=True)
    income(exited(), 9000, year=2021)
    assert services.close_refusals(case) == ["收入尚未稳定超过监测线：2020年人均纯收入4500.00元，低于监测线6000.00元。"]


def test_the_school_age_used_when_closing_is_that_of_today(alice, carol, clock):
    household = exited()
    MemberFactory(
        household=household, relationship="daughter", name="王小花", birth_date=D(2004, 10, 20),
        education="junior", schooling="", labour_skill="none",
    )  # fmt: skip
    case = assisted(household, cadre=alice, county=carol, done=True)
    assert services.close_refusals(case) == ["两不愁三保障仍有问题：王小花处于义务教育阶段但未在校。"]
    clock.shift(8)  # 2020-10-20: she is 16
    assert services.close_refusals(case, today=datetime.date(2020, 10, 20)) == []
