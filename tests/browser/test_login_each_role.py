import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import PHONE, scroll_width, widest_elements
from tests.conftest import PASSWORD

# (fixture, role value for the screenshot name, what the role badge says)
ROLES = [
    ("alice", "village_cadre", "村级录入员"),
    ("tom", "town_official", "镇办干部"),
    ("sam", "sector", "行业部门 · 教育"),
    ("carol", "county_official", "县级审批"),
    ("sue", "city_supervisor", "市级督查"),
    ("root", "admin", "系统管理员"),
]


@pytest.mark.parametrize(("person", "role", "badge"), ROLES, ids=[r[1] for r in ROLES])
def test_it_logs_each_role_in_and_out_in_chinese(request, live_server, page, log_in, screenshot, person, role, badge):
    user = request.getfixturevalue(person)

    log_in(user.username, PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_test_id("home-title")).to_have_text(f"{user.full_name}，您好")
    expect(page.get_by_test_id("home-role")).to_have_text(badge)
    screenshot(page, f"{role}-desktop")

    page.set_viewport_size(PHONE)
    expect(page.locator(".navbar-toggler")).to_be_visible()
    expect(page.locator("#mainNav")).to_be_hidden()
    assert scroll_width(page) <= PHONE["width"] + 1, f"scrolls sideways at phone width: {widest_elements(page)}"
    screenshot(page, f"{role}-phone-375x812")

    page.locator(".navbar-toggler").click()
    # Bootstrap slides the menu open under class "collapsing" and adds "show" once it is done;
    # a click during the slide can land on a moving, half-clipped item and do nothing.
    expect(page.locator("#mainNav")).to_have_class(re.compile(r"\bshow\b"))
    page.get_by_test_id("user-menu").click()
    log_out = page.get_by_role("button", name="退出登录")
    expect(log_out).to_be_visible()
    screenshot(page, f"{role}-phone-375x812-menu")
    log_out.click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()


def test_it_fits_the_login_page_on_a_phone(page, screenshot):
    page.set_viewport_size(PHONE)
    page.goto("/accounts/login/")

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_label("用户名")).to_be_visible()
    expect(page.get_by_label("密码")).to_be_visible()
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    assert scroll_width(page) <= PHONE["width"] + 1, f"scrolls sideways at phone width: {widest_elements(page)}"
    screenshot(page, "anonymous-login-phone-375x812")
