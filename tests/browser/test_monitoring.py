"""Issue 6 in Chromium: a village cadre reports a household at risk and submits it, the
county official confirms it, sets the responsible units and a measure, and the town
official closes it once the risk is gone — on a phone for the cadre."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from playwright.sync_api import expect

from households.models import ExitStatus, IncomeRecord
from monitoring.models import MonitoringCase, Stage
from tests.browser.helpers import PHONE
from tests.conftest import PASSWORD
from tests.exits.conftest import ready_household

START = datetime.datetime(2020, 10, 12, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture
def travel():
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


def switch_user(page, log_in, username):
    page.context.clear_cookies()
    log_in(username, PASSWORD)
    expect(page.get_by_test_id("home-title")).to_be_visible()


def test_a_reported_household_is_confirmed_helped_and_closed(
    travel, live_server, page, log_in, screenshot, alice, tom, carol
):
    household = ready_household(exit_status=ExitStatus.EXITED, exit_year=2019)

    # The cadre, on her phone, records the family's own report.
    page.set_viewport_size(PHONE)
    switch_user(page, log_in, "alice")
    page.goto("/monitoring/")
    page.get_by_test_id("report-risk").click()
    page.get_by_label("户编号").fill(household.number)
    page.get_by_label("自我申报").check()
    page.get_by_label("因病", exact=True).check()
    page.get_by_label("风险情况说明").fill("户主突发脑梗住院，自付医疗费约3万元")
    page.get_by_test_id("report-submit").click()
    expect(page.get_by_test_id("monitoring-stage")).to_have_text("全面排查")
    page.get_by_label("排查情况").fill("入户核实：住院属实，家庭收入减少")
    page.get_by_test_id("submit-assessment").click()
    expect(page.get_by_test_id("monitoring-stage")).to_have_text("综合研判")
    screenshot(page, "village_cadre-monitoring-case-phone")
    case = MonitoringCase.objects.get(household=household)

    # The county confirms and plans the help.
    page.set_viewport_size({"width": 1280, "height": 800})
    switch_user(page, log_in, "carol")
    page.goto(f"/monitoring/{case.pk}/")
    page.get_by_label("研判意见").fill("确认为脱贫不稳定户，落实健康和就业帮扶")
    page.get_by_test_id("decide").click()
    expect(page.get_by_test_id("monitoring-stage")).to_have_text("精准帮扶")
    expect(page.get_by_test_id("problems")).to_contain_text("尚未落实责任单位")
    page.locator("input[name=unit]").nth(0).fill("镇卫生院")
    page.locator("input[name=person]").nth(0).fill("刘医生")
    page.locator("input[name=lead]").nth(0).check()
    page.get_by_role("button", name="保存责任单位").click()
    page.locator("select[name=type]").select_option(label="就业帮扶")
    page.get_by_placeholder("措施内容").fill("推荐配偶到县内企业务工")
    page.locator("input[name=responsible_person]").fill("刘医生")
    page.locator("input[name=due_on]").fill("2020-11-30")
    page.get_by_role("button", name="添加措施").click()
    expect(page.get_by_test_id("measures")).to_contain_text("推荐配偶到县内企业务工")
    expect(page.get_by_test_id("problems")).to_have_count(0)

    # The town official closes it once the measure is done and income holds.
    switch_user(page, log_in, "tom")
    page.goto(f"/monitoring/{case.pk}/")
    page.get_by_role("button", name="标记完成").click()
    IncomeRecord.objects.filter(household=household, year=2020).update(wage_income=Decimal("16000"))
    page.get_by_label("风险消除方式").fill("务工收入稳定，医疗费用已报销")
    page.get_by_test_id("close-case").click()
    expect(page.get_by_test_id("monitoring-stage")).to_have_text("动态销号")
    screenshot(page, "town_official-monitoring-case-closed")
    case.refresh_from_db()
    assert case.stage == Stage.CLOSED and case.closed_by == tom
