import re
from pathlib import Path

from django.conf import settings
from playwright.sync_api import expect

from tests.browser.helpers import DESKTOP, PHONE, scroll_width, widest_elements
from tests.conftest import PASSWORD


def test_it_switches_the_interface_to_english_and_back(live_server, page, log_in, screenshot, alice):
    log_in("alice", PASSWORD)
    nav = page.locator(".app-navbar")
    select = nav.locator("#language-select")
    expect(select).to_have_value("zh-hans")

    select.select_option("en")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(select).to_have_value("en")
    expect(select.locator("option:checked")).to_have_text("English")
    # The English catalog is being written separately; until it is compiled the labels stay
    # Chinese, so the translated text is only checked once the .mo file exists.
    if (Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.mo").exists():
        expect(nav.get_by_role("link", name=re.compile(r"\bHome$"))).to_be_visible()
    screenshot(page, "village_cadre-en-desktop")
    # English labels run longer than Chinese ones: the phone layout must still hold.
    page.set_viewport_size(PHONE)
    assert scroll_width(page) <= PHONE["width"] + 1, f"scrolls sideways at phone width: {widest_elements(page)}"
    screenshot(page, "village_cadre-en-phone-375x812")
    page.set_viewport_size(DESKTOP)

    select.select_option("zh-hans")

    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(nav.get_by_role("link", name=re.compile(r"首页$"))).to_be_visible()
