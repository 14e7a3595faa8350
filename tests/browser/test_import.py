"""A village cadre imports households from Excel in Chromium: downloads the template from
the page, fills it in (one spouse's ID typed as a number, so Excel lost its last digits),
uploads it, reads the error table, downloads the error report, fixes the red cell in
that very file, uploads it again, confirms, and finds the households in the list."""

import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.helpers import scroll_width, widest_elements
from tests.conftest import PASSWORD, VILLAGE_A
from tests.imports.pages_helpers import (
    ID_LOST_DIGITS,
    families,
    file_with_bad_member,
    header_columns,
    household_number,
    lost_digits,
    start,
)

PHONE_390 = {"width": 390, "height": 844}
UPLOAD = "/imports/households/new/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def fill_template(path, households: list[dict], members: list[dict]) -> None:
    """Type the rows into the downloaded template under its own headers, as a cadre would."""
    book = load_workbook(path)
    for name, rows in (("户信息", households), ("成员信息", members)):
        sheet = book[name]
        columns = header_columns(sheet)
        for offset, row in enumerate(rows):
            for header, value in row.items():
                sheet.cell(row=2 + offset, column=columns[header.rstrip("*")], value=value)
    book.save(path)


def upload_file(page, path) -> None:
    page.locator("input[type=file][name=file]").set_input_files(path)
    page.get_by_test_id("upload-submit").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))


def test_a_cadre_imports_two_households_after_fixing_the_error_report(
    live_server, page, log_in, screenshot, alice, tmp_path
):
    households, members = families(2)
    bad_row = len(members) + 1  # the second household's spouse, the last members row
    good_id = members[-1]["证件号码*"]
    members[-1] = {**members[-1], "证件号码*": lost_digits(good_id)}

    log_in("alice", PASSWORD)
    expect(page.get_by_test_id("home-title")).to_be_visible()
    page.goto("/households/")
    page.get_by_test_id("import-households").click()
    expect(page).to_have_url(f"{live_server.url}{UPLOAD}")
    expect(page.get_by_role("heading", level=1)).to_have_text("批量导入：贫困户及家庭成员")
    screenshot(page, "village_cadre-import-upload-desktop")

    # The template, through the page's own link.
    with page.expect_download() as download_info:
        page.get_by_test_id("download-template").click()
    download = download_info.value
    assert download.suggested_filename == "贫困户导入模板.xlsx"
    filled = tmp_path / "西关村导入.xlsx"
    download.save_as(filled)
    template = load_workbook(filled)
    assert [row[0] for row in template["区划代码"].iter_rows(min_row=2, values_only=True)] == [VILLAGE_A]
    fill_template(filled, households, members)

    # First upload: one bad cell, nothing imported.
    upload_file(page, filled)
    expect(page.get_by_test_id("job-status")).to_have_text("有错误，未导入")
    errors = page.get_by_test_id("job-errors")
    expect(errors.locator("thead th")).to_have_text(["工作表", "行", "列", "问题"])
    expect(errors.locator("tbody tr")).to_have_count(1)
    expect(errors.locator("tbody tr td")).to_have_text(["成员信息", str(bad_row), "证件号码", ID_LOST_DIGITS])
    expect(page.get_by_test_id("confirm-import")).to_have_count(0)
    screenshot(page, "village_cadre-import-errors-desktop")

    # The error report: the same workbook, the bad cell red with its message, and 错误说明.
    with page.expect_download() as download_info:
        page.get_by_test_id("download-errors").click()
    report = download_info.value
    assert report.suggested_filename == "西关村导入（错误报告）.xlsx"
    fixed = tmp_path / "西关村导入（错误报告）.xlsx"
    report.save_as(fixed)
    book = load_workbook(fixed)
    sheet = book["成员信息"]
    columns = header_columns(sheet)
    cell = sheet.cell(row=bad_row, column=columns["证件号码"])
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert ID_LOST_DIGITS in cell.comment.text
    assert sheet.cell(row=bad_row, column=columns["错误说明"]).value == f"证件号码：{ID_LOST_DIGITS}"
    assert sheet.cell(row=bad_row - 1, column=columns["错误说明"]).value is None
    assert book.active.title == "成员信息"

    # Fix the red cell in the report itself and upload it again.
    cell.value = good_id
    book.save(fixed)
    page.get_by_role("link", name="上传新文件").click()
    expect(page).to_have_url(f"{live_server.url}{UPLOAD}")
    upload_file(page, fixed)
    expect(page.get_by_test_id("job-status")).to_have_text("待确认导入")
    expect(page.get_by_test_id("job-counts").locator("tbody tr")).to_have_text(
        [re.compile(r"户\s*2\s*0\s*0\s*0"), re.compile(r"成员\s*4\s*0\s*0\s*0")]
    )
    expect(page.get_by_test_id("job-errors")).to_have_count(0)
    screenshot(page, "village_cadre-import-ready-desktop")

    page.get_by_test_id("confirm-import").click()
    expect(page.get_by_test_id("job-status")).to_have_text("已导入")
    expect(page.get_by_role("alert")).to_contain_text("导入完成。")
    screenshot(page, "village_cadre-import-applied-desktop")

    page.get_by_role("link", name="查看贫困户").click()
    expect(page).to_have_url(f"{live_server.url}/households/")
    expect(page.get_by_test_id("result-count")).to_have_text("共 2 户")
    results = page.locator(".household-results")
    for n in (1, 2):
        expect(results).to_contain_text(household_number(n))
        expect(results).to_contain_text(f"王户主{n}")

    # And the history has both uploads, newest first.
    page.goto("/imports/")
    expect(page.get_by_test_id("import-row")).to_have_count(2)
    expect(page.get_by_test_id("import-row").locator("[data-testid=job-status]")).to_have_text(
        ["已导入", "有错误，未导入"]
    )
    screenshot(page, "village_cadre-import-history-desktop")


def test_the_error_page_fits_a_phone(live_server, page, log_in, screenshot, alice):
    content, bad_row = file_with_bad_member(2)
    job = start(alice, content, "西关村2024年第二批贫困户信息采集表（修订稿）.xlsx")
    page.set_viewport_size(PHONE_390)
    log_in("alice", PASSWORD)
    expect(page.get_by_test_id("home-title")).to_be_visible()
    page.goto(f"/imports/{job.pk}/")
    expect(page.get_by_test_id("job-errors").locator("tbody tr td")).to_have_text(
        ["成员信息", str(bad_row), "证件号码", ID_LOST_DIGITS]
    )
    expect(page.get_by_test_id("download-errors")).to_be_visible()
    screenshot(page, "village_cadre-import-errors-phone-390x844")
    assert scroll_width(page) <= PHONE_390["width"] + 1, f"scrolls sideways: {widest_elements(page)}"


def test_the_error_message_wraps_on_a_phone(live_server, page, log_in, alice):
    job = start(alice, file_with_bad_member(2)[0])
    page.set_viewport_size(PHONE_390)
    log_in("alice", PASSWORD)
    expect(page.get_by_test_id("home-title")).to_be_visible()
    page.goto(f"/imports/{job.pk}/")
    errors = page.get_by_test_id("job-errors")
    expect(errors).to_be_visible()
    width, visible = errors.evaluate("table => [table.scrollWidth, table.parentElement.clientWidth]")
    assert width <= visible, f"the error table is {width}px wide in a {visible}px card"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_import_preview_fits_a_desktop_and_a_phone_in_both_languages(
    live_server, page, log_in, screenshot, alice, language
):
    content, _bad_row = file_with_bad_member(2)
    job = start(alice, content, "西关村2024年第二批贫困户信息采集表（修订稿）.xlsx")
    log_in("alice", PASSWORD)
    expect(page.get_by_test_id("home-title")).to_be_visible()
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url + "/"}])
    for width, viewport in {"desktop": {"width": 1366, "height": 900}, "phone": PHONE_390}.items():
        page.set_viewport_size(viewport)
        page.goto(f"/imports/{job.pk}/")
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.get_by_test_id("job-counts")).to_be_visible()
        expect(page.get_by_test_id("job-errors")).to_have_count(1)
        assert scroll_width(page) <= viewport["width"] + 1, f"{width}: {widest_elements(page)}"
        screenshot(page, f"daily-import-preview-{language}-{width}")
