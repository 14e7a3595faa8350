"""A village cadre registers a household of three in Chromium, trips over a wrong ID check
digit, fixes it, and finds the household again in the list — on a desktop and on a phone."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from households.models import Household, Sex
from tests.browser.helpers import DESKTOP, PHONE, scroll_width, widest_elements
from tests.conftest import PASSWORD, VILLAGE_A
from tests.factories import valid_id_number

CREATE = "/households/new/"
NUMBER = "610902101201-0099"

HEAD = {"name": "张建国", "relationship": "户主", "birth": datetime.date(1978, 3, 9), "sex": Sex.MALE}
SPOUSE = {"name": "刘秀英", "relationship": "配偶", "birth": datetime.date(1981, 11, 23), "sex": Sex.FEMALE}
CHILD = {"name": "张小雨", "relationship": "之女", "birth": datetime.date(2015, 9, 1), "sex": Sex.FEMALE}


def with_wrong_check_digit(number: str) -> str:
    return number[:17] + ("1" if number[17] == "0" else "0")


def assert_fits(page, viewport, where: str) -> None:
    if viewport is PHONE:
        assert scroll_width(page) <= PHONE["width"] + 1, f"{where} scrolls sideways: {widest_elements(page)}"


def open_nav_link(page, name: str) -> None:
    """Follow a link of the top bar; on a phone, open the collapsed menu first."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
        # Wait for Bootstrap's slide to finish: a click on a moving item can miss.
        expect(page.locator("#mainNav")).to_have_class(re.compile(r"\bshow\b"))
    page.locator("#mainNav").get_by_role("link", name=name, exact=True).click()


def fill_member(page, index: int, person: dict, id_number: str, *, schooling: str = "", education: str = "") -> None:
    prefix = f"#id_members-{index}"
    page.locator(f"{prefix}-name").fill(person["name"])
    page.locator(f"{prefix}-id_number").fill(id_number)
    page.locator(f"{prefix}-relationship").select_option(label=person["relationship"])
    if education:
        page.locator(f"{prefix}-education").select_option(label=education)
    if schooling:
        page.locator(f"{prefix}-schooling").select_option(label=schooling)
    page.locator(f"{prefix}-labour_skill").select_option(label="无劳动力" if schooling else "普通劳动力")
    page.locator(f"{prefix}-medical_insurance").select_option(label="城乡居民基本医疗保险")
    page.locator(f"{prefix}-critical_illness_insurance").check()


def add_member_row(page, index: int) -> None:
    """Click 添加成员 and wait for htmx to append row ``index`` (a second click before the
    first answer arrives would reuse the same index: TOTAL_FORMS only grows afterwards)."""
    page.get_by_test_id("add-member").click()
    expect(page.locator(f"#id_members-{index}-name")).to_be_visible()
    expect(page.locator("#id_members-TOTAL_FORMS")).to_have_value(str(index + 1))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone-375x812"])
def test_it_registers_a_household_of_three_after_fixing_a_wrong_check_digit(
    live_server, page, page_guard, log_in, screenshot, alice, registry, viewport
):
    size = "desktop" if viewport is DESKTOP else "phone-375x812"
    page.set_viewport_size(viewport)
    head_id = valid_id_number(birth=HEAD["birth"], sex=HEAD["sex"])
    spouse_id = valid_id_number(birth=SPOUSE["birth"], sex=SPOUSE["sex"])
    child_id = valid_id_number(birth=CHILD["birth"], sex=CHILD["sex"])
    log_in("alice", PASSWORD)
    expect(page.get_by_test_id("home-title")).to_be_visible()

    # Home → 贫困户 → 登记新户.
    open_nav_link(page, "贫困户")
    expect(page).to_have_url(f"{live_server.url}/households/")
    page.get_by_test_id("new-household").click()
    expect(page).to_have_url(f"{live_server.url}{CREATE}")
    expect(page.get_by_role("heading", level=1)).to_have_text("登记新户")
    # alice has one village: it is chosen for her.
    expect(page.locator("#id_village option:checked")).to_contain_text(VILLAGE_A)
    assert_fits(page, viewport, "the empty form")

    page.locator("#id_number").fill(NUMBER)
    page.locator("#id_group_no").fill("3")
    page.locator("#id_identification_standard").select_option(label="国家标准")
    page.locator("#id_attribute").select_option(label="一般贫困户")
    page.locator("#id_main_cause").select_option(label="因病")
    page.locator("#id_identification_year").fill("2016")

    # Row 1 is there for the 户主; the others come from 添加成员 (htmx).
    expect(page.locator("[data-member-row]")).to_have_count(1)
    expect(page.locator("#id_members-0-relationship option:checked")).to_have_text("户主")
    fill_member(page, 0, HEAD, head_id, education="初中")
    add_member_row(page, 1)
    add_member_row(page, 2)
    expect(page.locator("[data-member-row] .member-number")).to_have_text(["1", "2", "3"])
    fill_member(page, 1, SPOUSE, spouse_id, education="小学")
    fill_member(page, 2, CHILD, with_wrong_check_digit(child_id), schooling="小学")
    expect(page.locator("#id_members-2-education")).to_have_value("")
    assert_fits(page, viewport, "the form with three members")

    # The server refuses the household with 400 and puts the message under the child's number.
    page_guard.expect_status(400, CREATE)
    with page.expect_response(lambda r: r.url.endswith(CREATE) and r.request.method == "POST") as answer:
        page.get_by_test_id("save-household").click()
    assert answer.value.status == 400
    child_number = page.locator("#id_members-2-id_number")
    error = page.locator("#id_members-2-id_number ~ [data-testid='error-members-2-id_number']")
    expect(error).to_be_visible()
    expect(error).to_contain_text("校验位")
    expect(child_number).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("[data-testid^='error-']")).to_have_count(1)  # the only complaint
    # Nothing typed is lost: the three rows come back filled.
    expect(page.locator("[data-member-row]")).to_have_count(3)
    expect(page.locator("#id_members-TOTAL_FORMS")).to_have_value("3")
    expect(page.locator("#id_members-0-name")).to_have_value(HEAD["name"])
    expect(page.locator("#id_members-1-id_number")).to_have_value(spouse_id)
    expect(page.locator("#id_members-2-schooling option:checked")).to_have_text("小学")
    expect(child_number).to_have_value(with_wrong_check_digit(child_id))
    assert not Household.objects.filter(number=NUMBER).exists()
    child_number.scroll_into_view_if_needed()
    assert_fits(page, viewport, "the form with the error")
    screenshot(page, f"village_cadre-household-form-checksum-error-{size}")

    child_number.fill(child_id)
    page.get_by_test_id("save-household").click()

    household = Household.objects.get(number=NUMBER)
    expect(page).to_have_url(f"{live_server.url}/households/{household.pk}/")
    expect(page.get_by_test_id("household-title")).to_have_text(f"{HEAD['name']}户")
    members = page.get_by_test_id("members").locator(".list-group-item")
    expect(members).to_have_count(3)
    expect(members.locator("strong")).to_have_text([HEAD["name"], SPOUSE["name"], CHILD["name"]])
    expect(members.nth(0)).to_contain_text("户主 · 男 · 1978-03-09")
    expect(members.nth(1)).to_contain_text("配偶 · 女 · 1981-11-23")
    expect(members.nth(2)).to_contain_text("之女 · 女 · 2015-09-01")
    expect(members.nth(2)).to_contain_text("小学")
    # ID numbers are masked on the page.
    expect(members.nth(2)).to_contain_text(f"{child_id[:6]}********{child_id[-4:]}")
    expect(page.get_by_test_id("members")).not_to_contain_text(child_id)
    assert_fits(page, viewport, "the detail page")
    screenshot(page, f"village_cadre-household-detail-{size}")
    assert sorted(household.members.values_list("id_number", flat=True)) == sorted([head_id, spouse_id, child_id])

    # The 贫困户 list finds it by the 户主's name.
    open_nav_link(page, "贫困户")
    expect(page).to_have_url(f"{live_server.url}/households/")
    expect(page.get_by_test_id("result-count")).to_have_text("共 4 户")  # the registry's 3 and this one
    search = page.locator("#id_q")
    search.fill(HEAD["name"])
    # Typed through an IME, Chinese text gives the live search no plain keyup: Enter submits.
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))  # htmx searched and pushed the URL
    expect(page.get_by_test_id("result-count")).to_have_text("共 1 户")
    result = page.locator(".household-results a")
    expect(result).to_have_count(1)
    expect(result).to_contain_text(HEAD["name"])
    expect(result).to_contain_text("3 人")
    expect(result).to_contain_text(NUMBER)
    assert_fits(page, viewport, "the list")
    result.click()
    expect(page).to_have_url(f"{live_server.url}/households/{household.pk}/")
