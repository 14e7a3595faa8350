"""Issue 5 in Chromium: the village cadre enrols a household and completes steps 1–2,
the town official steps 3–4 and opens the notice, and the county official — refused
while the notice runs — closes it after the minimum days and approves."""

import datetime

import pytest
import time_machine
from playwright.sync_api import expect

from exits import services
from exits.models import ExitCase, Step
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


def complete_step(page, label):
    page.get_by_test_id("complete-step").click()
    expect(page.locator(".alert-success")).to_contain_text(label)


def test_three_levels_take_a_household_to_approval(
    travel, live_server, page, page_guard, log_in, screenshot, campaign, alice, tom, tom2, carol, carol2, certifiers
):
    household = ready_household()
    switch_user(page, log_in, "alice")

    # The cadre enrols the household from her village's list.
    page.goto("/exits/")
    page.get_by_test_id("enrol").click()
    page.locator(f"input[name=households][value='{household.pk}']").check()
    page.get_by_test_id("enrol-submit").click()
    expect(page.get_by_test_id("batch-results")).to_contain_text("成功")
    case = ExitCase.objects.get(household=household)
    for check in case.criteria.all():
        services.criterion_certify(by=certifiers[check.criterion], check=check)

    # Step 1: the home visit, signed by the head.
    page.goto(f"/exits/{case.pk}/")
    expect(page.get_by_test_id("case-step")).to_have_text("1. 信息核实")
    page.get_by_label("户主已签字认可").check()
    page.get_by_label("入户确认吃穿不愁").check()
    complete_step(page, "信息核实")
    # Step 2: the appraisal meeting; an impossible vote count is refused first.
    page.get_by_label("评议会议日期").fill("2020-10-12")
    page.get_by_label("参会人数").fill("30")
    page.get_by_label("赞成票").fill("12")
    page.get_by_label("反对票").fill("3")
    page.get_by_label("会议记录").fill("村两委会同村民代表评议")
    page_guard.expect_status(400, f"/exits/{case.pk}/advance/")
    page.get_by_test_id("complete-step").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("赞成票未超过参会人数的半数")
    page.get_by_label("赞成票").fill("26")
    complete_step(page, "民主评议")
    expect(page.get_by_test_id("action-panel")).to_contain_text("本步骤由镇办干部办理")
    screenshot(page, "village_cadre-exit-case-after-step-2")

    # The town official: cross-check by a team from another town, review, open the notice.
    switch_user(page, log_in, "tom")
    page.goto(f"/exits/{case.pk}/")
    page.get_by_label("交叉检查组来自").select_option("610902102201")
    page.get_by_label("检查发现的问题").fill("未发现问题")
    complete_step(page, "交叉检查")
    # Separation of duties: the review is another town official's.
    expect(page.get_by_test_id("refusals")).to_contain_text("不能再办理复核它的第4步")
    switch_user(page, log_in, "tom2")
    page.goto(f"/exits/{case.pk}/")
    page.get_by_label("审核审查意见").fill("学籍、参保、住房、饮水数据比对一致，同意")
    complete_step(page, "审核审查")
    page.get_by_test_id("open-notice").click()
    expect(page.locator(".alert-success")).to_contain_text("公示已发布")

    # The county official cannot close the notice early ...
    switch_user(page, log_in, "carol")
    page.goto(f"/exits/{case.pk}/")
    expect(page.get_by_test_id("refusals")).to_contain_text("公示期至少7天")
    screenshot(page, "county_official-exit-case-notice-running")
    # ... but can once seven days have passed, and then approve.
    travel.shift(datetime.timedelta(days=7))
    switch_user(page, log_in, "carol")  # a week later: a new working day, a new session
    page.goto(f"/exits/{case.pk}/")
    expect(page.get_by_test_id("refusals")).to_have_count(0)
    complete_step(page, "公示公告")
    # Whoever closed the notice does not approve it.
    expect(page.get_by_test_id("separation")).to_contain_text("陈卡（办理了第5步）")
    switch_user(page, log_in, "carol2")
    page.goto(f"/exits/{case.pk}/")
    page.get_by_label("批准意见").fill("同意退出")
    complete_step(page, "核查批准")
    expect(page.get_by_test_id("case-step")).to_have_text("7. 资料备案")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("[data-step='6']")).to_contain_text("陈二")

    case.refresh_from_db()
    assert case.current_step == Step.ARCHIVE
    standing = case.steps.filter(is_reset=False).order_by("step")
    assert [(r.step, r.completed_by.username) for r in standing] == [
        (1, "alice"),
        (2, "alice"),
        (3, "tom"),
        (4, "tom2"),
        (5, "carol"),
        (6, "carol2"),
    ]
