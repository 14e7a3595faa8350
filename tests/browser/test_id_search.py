"""alice types a member's full ID number into the household list's search box on the
shared 村委会 PC (issue 16, point 5): the household shows, and neither the address bar
(so the browser history) nor the ledger link ever holds the number."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from households.models import Member
from tests.conftest import PASSWORD, VILLAGE_A


def test_a_full_id_number_never_reaches_the_address_bar(page, log_in, registry, alice):
    member = Member.objects.filter(household__village_id=VILLAGE_A).order_by("pk").first()
    log_in("alice", PASSWORD)
    page.goto("/households/")

    page.get_by_label("搜索").press_sequentially(member.id_number)
    expect(page).to_have_url(re.compile(r"q=~"))  # a token, pushed by htmx after the 303
    expect(page.locator("#results")).to_contain_text(member.household.number)
    assert member.id_number not in page.url

    page.evaluate("document.addEventListener('click', (e) => e.preventDefault(), {once: true})")
    link = page.get_by_test_id("export-households")
    link.click()
    href = link.get_attribute("href")
    assert "q=~" in href or "q=%7E" in href
    assert member.id_number not in href

    # Reloading the address (or coming back to it) finds the household again.
    page.reload()
    expect(page.locator("#results")).to_contain_text(member.household.number)
    assert page.get_by_label("搜索").input_value() == member.id_number
