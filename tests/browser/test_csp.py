"""The pages work under the Content-Security-Policy (issue 16): each role walks its pages
in Chromium and nothing is refused — no inline script or style, no eval, nothing from
elsewhere — and the parts that used inline code (the member rows' 添加成员, the language
and village selects that submit themselves, the print buttons, the import progress bar,
the household ledger links) still work from static/js.

The page guard (conftest.py) already fails a test on any console error, which is where
Chromium reports a refusal; each page here also collects ``securitypolicyviolation``
events, so a failure names the directive and the blocked thing, and checks that the
page did carry the policy.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import pytest
import time_machine
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from playwright.sync_api import expect

from accounts.models import Role
from exits import services as exit_services
from exits.models import ExitCase, Step
from households.models import Household
from imports.models import ImportJob, ImportStatus
from monitoring import services as monitoring_services
from monitoring.models import Channel, MonitoringCase, RiskType
from tests.conftest import PASSWORD, VILLAGE_A
from tests.exits.conftest import Flow, ready_household
from tests.imports.pages_helpers import bare_job

START = datetime.datetime(2020, 10, 12, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))

# Runs before any script of each document: refusals are collected where the test can read them.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.effectiveDirective} refused ${e.blockedURI || "inline"} `
    + `at ${e.sourceFile}:${e.lineNumber} (${(e.sample || "").slice(0, 60)})`);
});
"""


@pytest.fixture
def travel():
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@dataclass
class World:
    household: Household
    case: ExitCase
    monitoring_case: MonitoringCase
    job: ImportJob


@pytest.fixture
def world(travel, campaign, certifiers, registry, alice, tom, tom2, carol, carol2, sam, sue, root) -> World:
    """Something on every page: a case in its notice period (so the notice list has a
    village to choose), a monitoring case, and an import job still being checked (so its
    page shows and polls the progress bar)."""
    flow = Flow(
        clock=None,  # no step here waits for days to pass
        campaign=campaign,
        certifiers=certifiers,
        doers={Role.VILLAGE_CADRE: alice, Role.TOWN_OFFICIAL: tom, Role.COUNTY_OFFICIAL: carol},
        reviewers={Role.TOWN_OFFICIAL: tom2, Role.COUNTY_OFFICIAL: carol2},
    )
    household = ready_household(VILLAGE_A, head="杨秀兰", son="杨小军", number=f"{VILLAGE_A}-0042")
    case = flow.enrol(household)
    flow.bring_to(case, Step.NOTICE)
    exit_services.notice_open(by=tom, case=case)
    exited = registry[VILLAGE_A][2]
    monitoring_case = monitoring_services.case_report(
        by=alice, household=exited, channel=Channel.SELF_DECLARED, risk_types=[RiskType.ILLNESS], description="户主住院"
    )
    job = bare_job(alice, status=ImportStatus.CHECKING, phase="校验中")
    ImportJob.objects.filter(pk=job.pk).update(progress=40)
    return World(household=household, case=case, monitoring_case=monitoring_case, job=job)


@pytest.fixture
def csp_page(page):
    page.add_init_script(WATCH_VIOLATIONS)
    return page


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


def visit(page, path: str, *, status: int = 200) -> None:
    """Open ``path``, check it carries the policy, and let what it draws finish drawing."""
    response = page.goto(path)
    assert response.status == status, f"{path}: HTTP {response.status}"
    header = response.headers.get("content-security-policy", "")
    policy = {name: sources for name, *sources in (part.split() for part in header.split(";") if part.strip())}
    assert policy.get("script-src") == ["'self'"], f"{path}: {header!r}"
    assert policy.get("style-src", [])[:1] == ["'self'"], f"{path}: {header!r}"
    assert "'unsafe-inline'" not in policy["style-src"], f"{path}: {header!r}"
    for selector in DRAWN.get(path.split("?")[0], []):
        expect(page.locator(selector).first).to_be_visible()
    assert violations(page) == [], path


# What a page draws with script once loaded: the charts' canvases, Swagger UI's operations.
DRAWN = {
    "/dashboard/deadlines/": ["#progress-chart canvas", "#burndown-0 canvas"],
    "/dashboard/monitoring/": ["#stage-chart canvas", "#risk-chart canvas"],
    "/api/docs/": [".swagger-ui .info .title", ".swagger-ui .opblock"],
}


def pages_of(role: str, world: World, root_pk: int) -> list[str]:
    h, case, mc = world.household.pk, world.case.pk, world.monitoring_case.pk
    everyone = [
        "/",
        "/households/",
        f"/households/{h}/",
        "/exits/",
        f"/exits/{case}/",
        "/exits/notice-list/",
        "/monitoring/",
        f"/monitoring/{mc}/",
        "/dashboard/deadlines/",
        "/dashboard/monitoring/",
        "/regions/",
        "/imports/",
        "/notifications/",
        "/accounts/password/",
        "/api/docs/",
    ]
    own = {
        "village_cadre": [
            "/households/new/",
            f"/households/{h}/edit/",
            f"/households/{h}/card/",
            "/imports/households/new/",
            f"/imports/{world.job.pk}/",
            "/monitoring/report/",
        ],
        "town_official": ["/exits/approvals/", f"/households/{h}/edit/"],
        "county_official": ["/exits/approvals/", "/exits/situations/", "/exits/prior-exits/"],
        "sector": [],
        "city_supervisor": [],
        "admin": [
            "/admin/",
            "/admin/households/household/",
            f"/admin/households/household/{h}/change/",
            f"/admin/households/household/{h}/history/",
            "/admin/accounts/user/",
            f"/admin/accounts/user/{root_pk}/change/",
            f"/admin/accounts/user/{root_pk}/history/",
            "/admin/exits/exitcase/",
            "/admin/django_celery_beat/periodictask/",
            "/admin/django_celery_beat/periodictask/add/",
        ],
    }
    return everyone + own[role]


ROLES = [
    ("alice", "village_cadre"),
    ("tom", "town_official"),
    ("sam", "sector"),
    ("carol", "county_official"),
    ("sue", "city_supervisor"),
    ("root", "admin"),
]


@pytest.mark.parametrize(("person", "role"), ROLES, ids=[r[1] for r in ROLES])
def test_each_roles_pages_work_under_the_policy(csp_page, log_in, world, root, person, role):
    page = csp_page
    log_in(person, PASSWORD)
    expect(page.get_by_test_id("home-title")).to_be_visible()

    for path in pages_of(role, world, root.pk):
        visit(page, path)


def test_the_error_pages_work_under_it(csp_page, page_guard, log_in, world):
    page = csp_page
    log_in("sue", PASSWORD)
    page_guard.expect_status(404, "/households/999999/")
    visit(page, "/households/999999/", status=404)
    page_guard.expect_status(403, "/households/new/")  # the supervisor only reads
    visit(page, "/households/new/", status=403)


# --- what used inline code ----------------------------------------------------------------


def test_add_member_appends_numbered_rows(csp_page, log_in, world):
    page = csp_page
    log_in("alice", PASSWORD)
    visit(page, f"/households/{world.household.pk}/edit/")
    total = page.locator("#id_members-TOTAL_FORMS")
    rows = int(total.input_value())

    for index in (rows, rows + 1):
        page.get_by_test_id("add-member").click()
        expect(page.locator(f"#id_members-{index}-name")).to_be_visible()
        expect(total).to_have_value(str(index + 1))

    assert violations(page) == []


def test_the_language_select_submits_itself(live_server, csp_page, log_in, world):
    page = csp_page
    log_in("alice", PASSWORD)
    select = page.locator("#language-select")

    select.select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert violations(page) == []

    page.locator("#language-select").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(f"{live_server.url}/")
    assert violations(page) == []


def test_the_notice_list_village_select_submits_and_print_prints(csp_page, log_in, world):
    page = csp_page
    log_in("tom", PASSWORD)
    visit(page, "/exits/notice-list/")

    page.locator("select[name=village]").select_option(VILLAGE_A)

    expect(page).to_have_url(re.compile(rf"village={VILLAGE_A}"))
    expect(page.get_by_test_id("notice-table")).to_contain_text("杨秀兰")
    page.evaluate("window.print = () => { window.__printed = true; }")
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("window.__printed") is True
    assert violations(page) == []


def test_the_household_card_prints(csp_page, log_in, world):
    page = csp_page
    log_in("alice", PASSWORD)
    visit(page, f"/households/{world.household.pk}/card/")

    page.evaluate("window.print = () => { window.__printed = true; }")
    page.get_by_role("button", name="打印").click()

    assert page.evaluate("window.__printed") is True
    assert violations(page) == []


def test_the_ledger_link_takes_the_filter_typed_since_the_page_loaded(csp_page, log_in, world):
    page = csp_page
    log_in("alice", PASSWORD)
    visit(page, "/households/")

    number = world.household.number
    page.get_by_label("搜索").press_sequentially(number)
    expect(page).to_have_url(re.compile(rf"q={number}"))  # htmx's hx-push-url after the search
    expect(page.locator("#results")).to_contain_text(number)
    # The click handler writes the filter into the link; the download itself is not needed.
    page.evaluate("document.addEventListener('click', (e) => e.preventDefault(), {once: true})")
    link = page.get_by_test_id("export-households")
    link.click()

    href = link.get_attribute("href")
    assert f"q={number}" in href
    assert "csrfmiddlewaretoken" not in href
    assert violations(page) == []


def test_the_import_progress_bar_shows_and_follows_the_job(csp_page, log_in, world):
    page = csp_page
    log_in("alice", PASSWORD)
    visit(page, f"/imports/{world.job.pk}/")
    bar = page.locator("#job-progress .progress-bar")
    expect(bar).to_have_attribute("style", "width: 40%;")

    ImportJob.objects.filter(pk=world.job.pk).update(progress=70)

    # htmx polls every second and swaps in a new bar.
    expect(bar).to_have_attribute("style", "width: 70%;")
    assert violations(page) == []


def test_the_periodic_task_form_explains_its_crontab(csp_page, log_in, world):
    page = csp_page
    log_in("root", PASSWORD)
    crontab = CrontabSchedule.objects.create(minute="30", hour="6", timezone="Asia/Shanghai")
    task = PeriodicTask.objects.create(name="每日逾期扫描", task="exits.overdue_scan", crontab=crontab)
    visit(page, f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    expect(page.locator(".field-crontab_translation")).to_be_hidden()

    page.locator("#id_crontab").select_option(str(task.crontab_id))

    expect(page.locator(".field-crontab .help")).to_contain_text(f"Translation: {task.crontab.human_readable}")
    assert violations(page) == []


@pytest.mark.parametrize(
    ("path", "chart"),
    [("/dashboard/deadlines/", "#progress-chart"), ("/dashboard/monitoring/", "#stage-chart")],
    ids=["deadlines", "monitoring"],
)
def test_chart_tooltips_show_under_the_policy(csp_page, log_in, screenshot, world, path, chart, request):
    page = csp_page
    log_in("carol", PASSWORD)
    visit(page, path)
    drawing = page.locator(chart)
    before = drawing.screenshot()

    # Over the first region's bars, where the axis tooltip opens.
    box = drawing.bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + box["height"] / 2)
    page.wait_for_timeout(600)  # the tooltip fades in

    assert drawing.screenshot() != before, "the chart did not answer the pointer"
    screenshot(page, f"csp-tooltip-{request.node.callspec.id}")
    assert violations(page) == []
