from playwright.sync_api import expect

from tests.browser.helpers import PHONE, scroll_width, widest_elements
from tests.conftest import PASSWORD, TOWN_A, VILLAGE_A


def test_it_lets_a_county_official_drill_down_to_a_village(live_server, page, log_in, screenshot, carol):
    log_in("carol", PASSWORD)

    page.locator(".card", has_text="汉滨区下辖区划").get_by_role("link", name="银滩镇").click()
    expect(page).to_have_url(f"{live_server.url}/regions/{TOWN_A}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("银滩镇")

    page.locator(".card", has_text="银滩镇下辖区划").get_by_role("link", name="西关村").click()
    expect(page).to_have_url(f"{live_server.url}/regions/{VILLAGE_A}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("西关村")
    breadcrumb = page.get_by_role("navigation", name="区划路径")
    expect(breadcrumb.locator(".breadcrumb-item")).to_have_text(["安康市", "汉滨区", "银滩镇", "西关村"])
    # The city is above carol's county: shown, but not a link she could follow.
    expect(breadcrumb.get_by_role("link")).to_have_text(["汉滨区", "银滩镇"])
    expect(page.locator("#history")).to_contain_text("变更记录")
    screenshot(page, "county_official-village-desktop")

    page.set_viewport_size(PHONE)
    assert scroll_width(page) <= PHONE["width"] + 1, f"scrolls sideways at phone width: {widest_elements(page)}"
    screenshot(page, "county_official-village-phone-375x812")

    breadcrumb.get_by_role("link", name="银滩镇").click()
    expect(page).to_have_url(f"{live_server.url}/regions/{TOWN_A}/")
    assert scroll_width(page) <= PHONE["width"] + 1, f"scrolls sideways at phone width: {widest_elements(page)}"
    screenshot(page, "county_official-town-phone-375x812")


def test_it_shows_a_village_cadre_the_chinese_404_for_another_village(
    live_server, page, page_guard, log_in, alice, bob
):
    log_in("alice", PASSWORD)
    expect(page.get_by_test_id("home-title")).to_be_visible()

    page_guard.expect_status(404, f"/regions/{bob.region_id}/")
    response = page.goto(f"/regions/{bob.region_id}/")

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("页面不存在")
    expect(page.locator("main")).not_to_contain_text(bob.region.name)
