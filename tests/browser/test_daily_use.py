"""Daily use in Chromium (issue 18): a demo that lives in the present, and burn-down
charts whose axes fit any span, at desktop and phone width.

Screenshots go to test-artifacts/screenshots/ (daily-*.png) to be looked at.
"""

import datetime
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accounts.demo import DEMO_PASSWORD
from exits.models import DEFAULT_STEP_LEVELS, Campaign, CaseStatus, ExitCase, StepRecord
from tests.browser.helpers import scroll_width, widest_elements
from tests.conftest import PASSWORD, VILLAGE_A, household_in

WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
CST = datetime.timezone(datetime.timedelta(hours=8))
LEVELS = ("village", "town", "county", "marking")


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--households", "300", "--seed", "1", stdout=StringIO())


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("username", ["cadre", "county", "supervisor"])
def test_every_role_s_first_screen_shows_a_campaign_in_progress_today(demo, page, log_in, screenshot, username, width):
    """The demo's current campaign has deadlines around today, whatever day it is made:
    no role opens on a deadline years past."""
    page.set_viewport_size(WIDTHS[width])
    log_in(username, DEMO_PASSWORD)
    expect(page.get_by_test_id("home-title")).to_be_visible()
    main = page.locator("main")
    expect(main).to_contain_text(f"{timezone.localdate().year}年度贫困户退出")
    text = main.inner_text()
    assert "2020-10-20" not in text
    overdue_days = [int(n) for n in re.findall(r"已过\s*(\d+)\s*天", text)]
    assert all(n <= 30 for n in overdue_days), overdue_days
    assert scroll_width(page) <= WIDTHS[width]["width"] + 1, widest_elements(page)
    screenshot(page, f"daily-{username}-home-{width}")


# --- Charts for any span ---------------------------------------------------------------

SPANS = {
    # The label format each span should get, and the campaign: deadlines and the days
    # its cases went through each level's last step.
    "short": (r"\d{2}-\d{2}", [datetime.date(2026, 10, d) for d in (20, 25, 28, 30)], [(2026, 10, 3), (2026, 10, 12)]),
    "new-year": (
        r"\d{4}-\d{2}-\d{2}",
        [datetime.date(2026, 12, 20), datetime.date(2026, 12, 31),
         datetime.date(2027, 1, 10), datetime.date(2027, 1, 20)],
        [(2026, 11, 25), (2026, 12, 15)],
    ),
    "multi-year": (
        r"\d{4}-\d{2}",
        [datetime.date(2019, 12, 1), datetime.date(2020, 6, 1), datetime.date(2020, 12, 1), datetime.date(2021, 3, 1)],
        [(2019, 11, 5), (2020, 4, 1), (2020, 11, 20), (2021, 2, 10)],
    ),
}  # fmt: skip


def _campaign_with_history(span: str, carol) -> Campaign:
    _pattern, deadlines, days = SPANS[span]
    campaign = Campaign.objects.create(
        year=deadlines[0].year,
        name=f"{span} campaign",
        income_line=4000,
        **{f"{level}_deadline": day for level, day in zip(LEVELS, deadlines, strict=True)},
        step_levels=dict(DEFAULT_STEP_LEVELS),
    )
    for n, (year, month, day) in enumerate(days):
        household = household_in(VILLAGE_A)
        case = ExitCase.objects.create(
            campaign=campaign, household=household, village_id=VILLAGE_A, current_step=9, status=CaseStatus.EXITED,
            enrolled_by=carol,
        )  # fmt: skip
        done = datetime.datetime(year, month, day, 10, tzinfo=CST)
        for step in range(1, 9):
            StepRecord.objects.create(
                case=case, step=step, data={}, completed_by=carol, completed_at=done + datetime.timedelta(days=step + n)
            )
    return campaign


def _axis_labels(page) -> list[list[str]]:
    """The x-axis labels ECharts drew on each burn-down (its canvas holds no text to read)."""
    page.wait_for_function("() => window.echarts && echarts.getInstanceByDom(document.getElementById('burndown-3'))")
    return page.evaluate(
        """() => [0, 1, 2, 3].map((i) => {
            const chart = echarts.getInstanceByDom(document.getElementById("burndown-" + i));
            return chart.getModel().getComponent("xAxis", 0).axis.getViewLabels().map((l) => l.formattedLabel);
        })"""
    )


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("span", SPANS)
def test_burn_down_axes_are_labelled_for_the_campaign_s_span(page, log_in, screenshot, sue, carol, span, width):
    campaign = _campaign_with_history(span, carol)
    page.set_viewport_size(WIDTHS[width])
    log_in("sue", PASSWORD)
    page.goto(f"/dashboard/deadlines/?campaign={campaign.pk}")
    burndown = page.get_by_test_id("burndown")
    expect(burndown).to_be_visible()
    labels = _axis_labels(page)
    pattern = re.compile(SPANS[span][0] + "$")
    for chart in labels:
        assert len(chart) >= 2, labels
        assert all(pattern.match(label) for label in chart), (span, labels)
    if span == "multi-year":
        # Every year the campaign spans is named on the marking level's axis.
        assert {label[:4] for label in labels[3]} >= {"2020", "2021"}, labels[3]
        # A finished campaign is done, not years overdue.
        cards = page.get_by_test_id("level-cards")
        expect(cards).to_contain_text("已全部完成")
        expect(cards).not_to_contain_text("已过时限")
    # The deadline is said under each chart's title, not drawn over the lines.
    expect(page.locator("#burndown-0")).to_be_visible()
    deadline = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('burndown-0')).getOption().title[0].subtext"
    )
    assert deadline.endswith(SPANS[span][1][0].isoformat()), deadline
    assert scroll_width(page) <= WIDTHS[width]["width"] + 1, widest_elements(page)
    burndown.scroll_into_view_if_needed()
    screenshot(page, f"daily-burndown-{span}-{width}")
