"""The import pages (issue 4, points 4–6): upload, the check's preview, confirmation,
the error table and report, progress polling, the history and who may see, confirm and
download what. Files are real .xlsx built with openpyxl and checked inline (small
files), except where a job is forced to stay queued."""

import io
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from households.models import Household, Member
from imports import services
from imports.models import ImportJob, ImportStatus
from tests.conftest import VILLAGE_A
from tests.html import element, elements, nav_labels, text
from tests.imports.pages_helpers import (
    ID_LOST_DIGITS,
    XLSX,
    bare_job,
    body,
    build,
    clean_file,
    families,
    file_with_bad_member,
    header_columns,
    household_number,
    lost_digits,
    start,
    table,
    upload,
    workbook,
)

pytestmark = pytest.mark.django_db

UPLOAD = "/imports/households/new/"
HISTORY = "/imports/"
READ_ONLY = "市级督查账号为只读账号，不能修改数据。"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded originals, parsed rows and error reports go to a folder of this test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def post_file(client, content, name="贫困户导入.xlsx"):
    return client.post(UPLOAD, {"file": upload(content, name)})


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


# --- the upload form -----------------------------------------------------------------


def test_a_cadre_gets_the_upload_form_with_the_template_link(client, alice):
    client.force_login(alice)
    response = client.get(UPLOAD)
    assert response.status_code == 200
    form = element(response, "form", data_testid="upload-form")
    assert "批量导入：贫困户及家庭成员" in text(response)
    link = element(response, "a", data_testid="download-template")
    assert link.hrefs == ["/imports/households/template.xlsx"]
    assert "下载导入模板" in link.text
    assert "还没有导入记录" in text(response)
    assert form.attrs["enctype"] == "multipart/form-data"


def test_a_supervisor_may_not_open_or_post_the_upload_form(client, sue):
    client.force_login(sue)
    response = client.get(UPLOAD)
    assert response.status_code == 403
    assert READ_ONLY in text(response)
    assert post_file(client, clean_file()).status_code == 403
    assert not ImportJob.objects.exists()


def test_an_unknown_kind_is_404(client, alice):
    client.force_login(alice)
    assert client.get("/imports/cattle/new/").status_code == 404
    assert client.get("/imports/cattle/template.xlsx").status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, regions):
    response = client.get(UPLOAD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- a clean file: preview, confirm, result ------------------------------------------


def test_an_upload_redirects_to_its_job(client, alice, media):
    client.force_login(alice)
    content = clean_file()
    response = post_file(client, content, "西关村.xlsx")
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{job.pk}/"
    assert (job.uploaded_by, job.region_id, job.original_name) == (alice, VILLAGE_A, "西关村.xlsx")
    assert (job.file_size, job.status) == (len(content), ImportStatus.READY)
    originals = [p for p in stored_files(media) if p.name == "original.xlsx"]
    assert [p.read_bytes() for p in originals] == [content]


def test_a_clean_file_shows_the_counts_and_the_confirm_button(client, alice):
    client.force_login(alice)
    response = client.get(post_file(client, clean_file(2))["Location"])
    assert response.status_code == 200
    assert element(response, "span", data_testid="job-status").text == "待确认导入"
    assert table(response, "job-counts") == [
        ["", "新增", "更新", "不变", "有错误"],
        ["户", "2", "0", "0", "0"],
        ["成员", "4", "0", "0", "0"],
    ]
    assert "校验结果（尚未写入）" in text(response)
    button = element(response, "button", data_testid="confirm-import")
    assert button.text == "确认导入"
    assert not elements(response, "table", data_testid="job-errors")
    assert not elements(response, "a", data_testid="download-errors")
    assert not Household.objects.exists()  # the check writes nothing


def test_confirming_imports_the_households_and_shows_the_result(client, alice):
    client.force_login(alice)
    job_url = post_file(client, clean_file(2))["Location"]
    job = ImportJob.objects.get()
    response = client.post(f"/imports/{job.pk}/confirm/")
    assert response.status_code == 302
    assert response["Location"] == job_url
    assert sorted(Household.objects.values_list("number", flat=True)) == [household_number(1), household_number(2)]
    assert Member.objects.count() == 4

    page = client.get(job_url)
    assert element(page, "span", data_testid="job-status").text == "已导入"
    assert "导入完成。" in text(page)  # the flash message
    assert "导入结果" in text(page)
    assert table(page, "job-counts")[1] == ["户", "2", "0", "0", "0"]
    assert not elements(page, "button", data_testid="confirm-import")
    assert "李爱丽 于" in text(page) and "确认导入" in text(page)
    see = [a for a in elements(page, "a") if a.text == "查看贫困户"]
    assert see and see[0].hrefs == ["/households/"]


def test_confirming_twice_says_so_and_imports_once(client, alice):
    client.force_login(alice)
    job = start(alice, clean_file(1))
    client.post(f"/imports/{job.pk}/confirm/")
    response = client.post(f"/imports/{job.pk}/confirm/", follow=True)
    assert "该文件已导入完成，请勿重复提交。" in text(response)
    assert Household.objects.count() == 1


def test_confirm_only_takes_a_post(client, alice):
    client.force_login(alice)
    job = start(alice, clean_file(1))
    assert client.get(f"/imports/{job.pk}/confirm/").status_code == 405
    assert not Household.objects.exists()


def test_the_same_file_again_is_all_unchanged(client, alice):
    client.force_login(alice)
    job = start(alice, clean_file(1))
    services.import_confirm(by=alice, job=job)
    response = client.get(post_file(client, clean_file(1))["Location"])
    assert table(response, "job-counts")[1:] == [["户", "0", "0", "1", "0"], ["成员", "0", "0", "2", "0"]]
    assert (
        "文件中没有需要导入的新数据或变化，所有记录与系统中一致。"
        in element(response, "div", data_testid="job-message").text
    )


# --- a file with a bad row: error table and report -----------------------------------


def test_a_bad_row_shows_the_error_table_and_the_report_link(client, alice):
    client.force_login(alice)
    content, bad_row = file_with_bad_member(2)
    response = client.get(post_file(client, content)["Location"])
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.REJECTED
    assert element(response, "span", data_testid="job-status").text == "有错误，未导入"
    assert table(response, "job-errors") == [
        ["工作表", "行", "列", "问题"],
        ["成员信息", str(bad_row), "证件号码", ID_LOST_DIGITS],
    ]
    assert "1 处错误，未导入任何数据" in text(response)
    # Rows, not households: the one bad member row, and its household's row and other
    # member held back with it (issue 18).
    assert table(response, "job-counts") == [
        ["", "新增", "更新", "不变", "有错误", "同户有错误，未导入"],
        ["户", "1", "0", "0", "0", "1"],
        ["成员", "2", "0", "0", "1", "1"],
    ]
    link = element(response, "a", data_testid="download-errors")
    assert link.text == "下载错误报告"
    assert link.hrefs == [f"/imports/{job.pk}/errors.xlsx"]
    assert not elements(response, "button", data_testid="confirm-import")
    assert not Household.objects.exists()


def test_the_error_report_is_the_uploaded_workbook_marked_up(client, alice):
    client.force_login(alice)
    content, bad_row = file_with_bad_member(2)
    job = start(alice, content, "西关村 2024.xlsx")
    response = client.get(f"/imports/{job.pk}/errors.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    assert quote("西关村 2024（错误报告）.xlsx") in response["Content-Disposition"]
    book = workbook(response)
    sheet = book["成员信息"]
    columns = header_columns(sheet)
    cell = sheet.cell(row=bad_row, column=columns["证件号码"])
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert ID_LOST_DIGITS in cell.comment.text
    note_column = columns["错误说明"]
    assert sheet.cell(row=bad_row, column=note_column).value == f"证件号码：{ID_LOST_DIGITS}"
    assert sheet.cell(row=bad_row - 1, column=note_column).value is None
    assert book.active.title == "成员信息"


def file_with_two_sheets_of_errors() -> tuple[bytes, list[str]]:
    """Two households: a bad 村民小组 on the households sheet, two IDs that lost digits
    (members rows 3 and 5). Returns (content, the members' right ID numbers)."""
    households, members = families(2)
    households[0] = {**households[0], "村民小组*": "三组"}
    right = [row["证件号码*"] for row in members]
    for index in (1, 3):
        members[index] = {**members[index], "证件号码*": lost_digits(right[index])}
    return build(households=households, members=members).getvalue(), right


def test_the_error_report_opens_on_the_first_error(client, alice):
    client.force_login(alice)
    content, _right = file_with_two_sheets_of_errors()
    job = start(alice, content)
    assert [e["sheet"] for e in job.errors] == ["户信息", "成员信息", "成员信息"]
    assert workbook(client.get(f"/imports/{job.pk}/errors.xlsx")).active.title == "户信息"


def test_a_reuploaded_error_report_marks_only_the_errors_left(client, alice):
    """The documented workflow: fix the red cells in the report and upload it again."""
    client.force_login(alice)
    content, right = file_with_two_sheets_of_errors()
    first = start(alice, content, "台账.xlsx")
    report = workbook(client.get(f"/imports/{first.pk}/errors.xlsx"))
    households, members = report["户信息"], report["成员信息"]
    household_columns, member_columns = header_columns(households), header_columns(members)
    households.cell(row=2, column=household_columns["村民小组"], value=3)
    members.cell(row=3, column=member_columns["证件号码"], value=right[1])  # row 5 stays wrong
    buffer = io.BytesIO()
    report.save(buffer)

    second = start(alice, buffer.getvalue(), "台账（错误报告）.xlsx")
    assert second.errors == [{"sheet": "成员信息", "row": 5, "column": "证件号码", "message": ID_LOST_DIGITS}]
    again = workbook(client.get(f"/imports/{second.pk}/errors.xlsx"))
    members = again["成员信息"]
    headers = [cell.value for cell in members[1]]
    assert headers.count("错误说明") == 1
    note = headers.index("错误说明") + 1
    id_column = header_columns(members)["证件号码"]
    assert members.cell(row=5, column=note).value == f"证件号码：{ID_LOST_DIGITS}"
    assert members.cell(row=5, column=id_column).fill.fgColor.rgb.endswith("FFC7CE")
    fixed = members.cell(row=3, column=id_column)
    assert (members.cell(row=3, column=note).value, fixed.comment) == (None, None)
    assert not fixed.fill.fgColor.rgb.endswith("FFC7CE")
    households = again["户信息"]
    household_headers = [cell.value for cell in households[1]]
    if "错误说明" in household_headers:
        assert households.cell(row=2, column=household_headers.index("错误说明") + 1).value is None
    assert not households.cell(row=2, column=household_columns["村民小组"]).fill.fgColor.rgb.endswith("FFC7CE")


def test_a_clean_job_has_no_error_report(client, alice):
    client.force_login(alice)
    job = start(alice, clean_file(1))
    assert client.get(f"/imports/{job.pk}/errors.xlsx").status_code == 404


def test_the_original_is_downloadable_by_the_uploader(client, alice):
    client.force_login(alice)
    content = clean_file(1)
    job = start(alice, content, "西关村.xlsx")
    response = client.get(f"/imports/{job.pk}/original.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert body(response) == content


def test_the_error_table_is_paged_by_a_hundred(client, alice):
    client.force_login(alice)
    households, members = families(130)
    households = [{**row, "村民小组*": "三组"} for row in households]
    job = start(alice, build(households=households, members=members).getvalue())
    assert job.status == ImportStatus.REJECTED and job.error_count == 130
    first = client.get(f"/imports/{job.pk}/")
    assert len(table(first, "job-errors")) == 1 + 100
    assert "1 / 2" in text(first)
    second = client.get(f"/imports/{job.pk}/?page=2")
    assert len(table(second, "job-errors")) == 1 + job.error_count - 100


def test_the_upload_page_lists_my_recent_imports(client, alice, tom):
    start(alice, clean_file(1), "第一批.xlsx")
    bare_job(tom, name="镇上的.xlsx")
    client.force_login(alice)
    response = client.get(UPLOAD)
    recent = [a for a in elements(response, "a", "list-group-item") if a.hrefs[0].startswith("/imports/")]
    assert len(recent) == 1
    assert "第一批.xlsx" in recent[0].text and "待确认导入" in recent[0].text


def test_an_uppercase_extension_is_accepted(client, alice):
    client.force_login(alice)
    response = post_file(client, clean_file(1), "台账.XLSX")
    assert response.status_code == 302
    assert ImportJob.objects.get().status == ImportStatus.READY


def test_the_file_name_is_escaped_on_the_pages(client, alice):
    client.force_login(alice)
    job_url = post_file(client, clean_file(1), "<img src=x onerror=alert(1)>.xlsx")["Location"]
    for url in (job_url, HISTORY, UPLOAD):
        html = client.get(url).content.decode()
        assert "<img src=x" not in html, url
        assert "&lt;img src=x onerror=alert(1)&gt;.xlsx" in html, url


def test_the_blank_template_is_not_offered_for_import(client, alice):
    client.force_login(alice)
    template = client.get("/imports/households/template.xlsx").content
    page = client.get(post_file(client, template, "贫困户导入模板.xlsx")["Location"])
    job = ImportJob.objects.get()
    assert job.total_rows == 0
    assert not elements(page, "button", data_testid="confirm-import")
    message = element(page, "div", data_testid="job-message").text
    assert "没有" in message and "一致" not in message


# --- files refused at the door ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "台账.xls",
            b"\xd0\xcf\x11\xe0" + b"\x00" * 2000,
            "“台账.xls”是旧版 .xls 格式，请在 Excel 中“另存为”Excel 工作簿（.xlsx）后上传。",
            id="xls",
        ),
        pytest.param(
            "台账.csv",
            "户编号,姓名\n6109021012010001,王建国\n".encode(),
            "不能导入 CSV 文件，请下载导入模板（.xlsx），将数据填入模板后上传。",
            id="csv",
        ),
        pytest.param(
            "台账.docx",
            b"PK\x03\x04" + b"\x00" * 100,
            "只能上传 Excel 工作簿（.xlsx）文件，请使用系统提供的导入模板。",
            id="other-extension",
        ),
        pytest.param("台账.xlsx", b"", "上传的文件是空的，请重新选择文件。", id="empty"),
    ],
)
def test_a_refused_file_rerenders_the_form_with_a_message(client, alice, media, name, content, message):
    client.force_login(alice)
    response = post_file(client, content, name)
    assert response.status_code == 200
    assert [e.text for e in elements(response, "div", data_testid="file-error")] == [message]
    assert "is-invalid" in element(response, "input", name="file").classes
    element(response, "form", data_testid="upload-form")
    assert not ImportJob.objects.exists()
    assert stored_files(media) == []


def test_an_oversize_file_is_refused_with_its_size(client, alice, media, settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    client.force_login(alice)
    response = post_file(client, b"PK\x03\x04" + b"\x00" * (1024 * 1024 + 110_000))
    assert response.status_code == 200
    errors = [e.text for e in elements(response, "div", data_testid="file-error")]
    assert errors == ["文件大小为 1.1 MB，超过 1.0 MB 的上限，请拆分后分批导入。"]
    assert not ImportJob.objects.exists()
    assert stored_files(media) == []


def test_no_file_chosen_says_so(client, alice):
    """A browser submitting the form without a file sends the CSRF token and an empty file part."""
    client.force_login(alice)
    response = client.post(UPLOAD, {"csrfmiddlewaretoken": "token", "file": ""})
    assert response.status_code == 200
    assert [e.text for e in elements(response, "div", data_testid="file-error")] == ["请选择要上传的 Excel 文件。"]
    assert not ImportJob.objects.exists()


def test_a_post_without_any_field_says_no_file_was_chosen(client, alice):
    client.force_login(alice)
    response = client.post(UPLOAD, {})
    assert [e.text for e in elements(response, "div", data_testid="file-error")] == ["请选择要上传的 Excel 文件。"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            b"PK\x03\x04" + b"\x00" * 300,
            "文件已加密或不是 .xlsx 格式，请另存为 Excel 工作簿（.xlsx）后上传",
            id="broken-zip",
        ),
        pytest.param(
            b"\x89PNG\r\n\x1a\n" + b"\x01" * 300,
            "文件已加密或不是 .xlsx 格式，请另存为 Excel 工作簿（.xlsx）后上传",
            id="not-a-zip",
        ),
    ],
)
def test_a_corrupt_xlsx_ends_failed_with_the_reason(client, alice, content, message):
    client.force_login(alice)
    response = post_file(client, content)
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/"
    assert job.status == ImportStatus.FAILED
    page = client.get(response["Location"])
    assert element(page, "span", data_testid="job-status").text == "文件无法导入"
    assert message in element(page, "div", data_testid="job-message").text
    assert not elements(page, "button", data_testid="confirm-import")
    assert not elements(page, "div", data_testid="job-progress")


def test_a_workbook_without_the_template_sheets_ends_failed(client, alice):
    client.force_login(alice)

    def rename(book):
        book["户信息"].title, book["成员信息"].title = "Sheet1", "Sheet2"

    response = post_file(client, build(edit=rename))
    page = client.get(response["Location"])
    assert ImportJob.objects.get().status == ImportStatus.FAILED
    assert "文件中没有“户信息”或“成员信息”工作表" in element(page, "div", data_testid="job-message").text


# --- progress polling ------------------------------------------------------------------


@pytest.fixture
def queued(settings):
    """Every file goes to the Celery task, which runs on commit: never, inside a test."""
    settings.IMPORT_INLINE_MAX_BYTES = 0


def test_a_queued_job_polls_its_progress(client, alice, queued):
    client.force_login(alice)
    response = post_file(client, clean_file(1))
    job = ImportJob.objects.get()
    assert job.status == ImportStatus.QUEUED
    page = client.get(response["Location"])
    assert element(page, "span", data_testid="job-status").text == "排队中"
    progress = element(page, "div", data_testid="job-progress")
    assert progress.attrs["hx-get"] == f"/imports/{job.pk}/progress/"
    assert progress.attrs["hx-trigger"] == "every 1s"
    assert not elements(page, "table", data_testid="job-counts")

    partial = client.get(f"/imports/{job.pk}/progress/", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    div = element(partial, "div", data_testid="job-progress")
    assert div.attrs["hx-trigger"] == "every 1s"
    assert div.attrs["hx-swap"] == "outerHTML"
    assert "等待处理" in div.text and "0%" in div.text
    assert "HX-Refresh" not in partial
    assert "<html" not in partial.content.decode()


def test_a_finished_job_tells_htmx_to_reload_the_page(client, alice, queued):
    client.force_login(alice)
    post_file(client, clean_file(1))
    job = ImportJob.objects.get()
    services.import_check(job.pk)  # what the worker does
    partial = client.get(f"/imports/{job.pk}/progress/", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert partial["HX-Refresh"] == "true"
    assert "hx-trigger" not in partial.content.decode()  # polling stops
    plain = client.get(f"/imports/{job.pk}/progress/")
    assert "HX-Refresh" not in plain


def test_the_upload_queues_the_check_task_on_commit(client, alice, queued, django_capture_on_commit_callbacks):
    client.force_login(alice)
    with django_capture_on_commit_callbacks() as callbacks:
        post_file(client, clean_file(1))
    assert len(callbacks) == 1
    assert ImportJob.objects.get().status == ImportStatus.QUEUED


def test_confirming_a_big_file_polls_while_it_is_written(client, alice, queued):
    client.force_login(alice)
    post_file(client, clean_file(1))
    job = ImportJob.objects.get()
    services.import_check(job.pk)
    client.post(f"/imports/{job.pk}/confirm/")
    job.refresh_from_db()
    assert job.status == ImportStatus.APPLYING
    page = client.get(f"/imports/{job.pk}/")
    assert element(page, "span", data_testid="job-status").text == "导入中"
    assert "写入数据" in element(page, "div", data_testid="job-progress").text
    assert not elements(page, "button", data_testid="confirm-import")
    services.import_apply(job.pk)
    assert client.get(f"/imports/{job.pk}/progress/", headers={"HX-Request": "true"})["HX-Refresh"] == "true"
    assert Household.objects.count() == 1


def test_confirming_while_the_check_runs_is_refused(client, alice, queued):
    client.force_login(alice)
    post_file(client, clean_file(1))
    job = ImportJob.objects.get()
    page = client.get(f"/imports/{job.pk}/")
    assert not elements(page, "button", data_testid="confirm-import")
    response = client.post(f"/imports/{job.pk}/confirm/", follow=True)
    assert "该文件还在校验中，请稍候再确认。" in text(response)
    job.refresh_from_db()
    assert job.status == ImportStatus.QUEUED


# --- history and who sees which job ----------------------------------------------------


@pytest.fixture
def alices_job(alice):
    content, _row = file_with_bad_member(2)
    return start(alice, content, "西关村错误.xlsx")


def history_names(client, url=HISTORY) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    return [row.text.split(" ")[0] for row in elements(response, "a", data_testid="import-row")]


def test_the_uploader_finds_her_job_in_the_history(client, alice, alices_job):
    client.force_login(alice)
    response = client.get(HISTORY)
    rows = elements(response, "a", data_testid="import-row")
    assert len(rows) == 1
    assert rows[0].hrefs == [f"/imports/{alices_job.pk}/"]
    assert "西关村错误.xlsx" in rows[0].text
    assert "有错误，未导入" in rows[0].text
    assert "李爱丽 · 西关村" in rows[0].text
    assert "1 处错误，未导入任何数据" in rows[0].text  # no "新增" on a job that imported nothing


@pytest.mark.parametrize("username", ["tom", "carol", "sue", "root"])
def test_people_above_the_uploader_see_her_job(client, everyone, alices_job, username):
    client.force_login(everyone[username])
    assert history_names(client) == ["西关村错误.xlsx"]
    assert client.get(f"/imports/{alices_job.pk}/").status_code == 200


@pytest.mark.parametrize("username", ["bob", "zed"])
def test_people_elsewhere_never_see_her_job(client, everyone, alices_job, username):
    client.force_login(everyone[username])
    assert history_names(client) == []
    for suffix in ("", "progress/", "original.xlsx", "errors.xlsx"):
        assert client.get(f"/imports/{alices_job.pk}/{suffix}").status_code == 404, suffix
    assert client.post(f"/imports/{alices_job.pk}/confirm/").status_code == 404


def test_mine_shows_only_my_own_uploads(client, alice, tom, alices_job):
    bare_job(tom, name="镇上汇总.xlsx")
    client.force_login(tom)
    assert sorted(history_names(client)) == ["西关村错误.xlsx", "镇上汇总.xlsx"]
    assert history_names(client, f"{HISTORY}?mine=1") == ["镇上汇总.xlsx"]
    response = client.get(f"{HISTORY}?mine=1")
    active = [a.text for a in elements(response, "a", "nav-link") if "active" in a.classes]
    assert "我上传的" in active


def test_a_user_keeps_seeing_jobs_uploaded_before_a_move(client, alice, bob):
    """The uploader's own jobs follow them: ``Q(uploaded_by=user)``."""
    job = bare_job(alice, name="搬家前.xlsx")
    alice.region_id = "610902102201"  # bob's village
    alice.save()
    client.force_login(alice)
    assert "搬家前.xlsx" in history_names(client)
    assert client.get(f"/imports/{job.pk}/").status_code == 200


def test_the_history_is_paged_newest_first(client, alice):
    for n in range(25):
        bare_job(alice, name=f"第{n:02d}批.xlsx")
    client.force_login(alice)
    first = history_names(client)
    assert len(first) == 20
    assert first[0] == "第24批.xlsx"
    assert history_names(client, f"{HISTORY}?page=2") == [f"第{n:02d}批.xlsx" for n in range(4, -1, -1)]


def test_the_history_costs_the_same_queries_for_2_and_12_jobs(client, alice, tom):
    def queries_for_history() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(HISTORY).status_code == 200
        return len(captured)

    for n in range(2):
        bare_job(alice, name=f"a{n}.xlsx", confirmed_by=alice)
    client.force_login(tom)
    few = queries_for_history()
    for n in range(10):
        bare_job(alice if n % 2 else tom, name=f"b{n}.xlsx", confirmed_by=alice)
    assert len(history_names(client)) == 12
    assert queries_for_history() == few


def test_the_history_offers_the_upload_to_writers_only(client, alice, sue):
    client.force_login(alice)
    assert element(client.get(HISTORY), "a", data_testid="new-import").hrefs == [UPLOAD]
    client.force_login(sue)
    assert not elements(client.get(HISTORY), "a", data_testid="new-import")


def test_the_top_navigation_links_to_the_history(client, alice):
    client.force_login(alice)
    assert "导入记录" in nav_labels(client.get("/"))


# --- downloads and confirmation rights ------------------------------------------------


def test_a_supervisor_sees_the_job_but_may_not_download_its_files(client, sue, alices_job):
    client.force_login(sue)
    page = client.get(f"/imports/{alices_job.pk}/")
    assert page.status_code == 200
    assert table(page, "job-errors")[1][0] == "成员信息"
    assert not elements(page, "a", data_testid="download-errors")
    assert "下载原文件" not in text(page)
    assert "上传新文件" not in text(page)
    for suffix in ("original.xlsx", "errors.xlsx"):
        response = client.get(f"/imports/{alices_job.pk}/{suffix}")
        assert response.status_code == 403, suffix
        assert "您的角色不能下载含完整证件号码的导入文件。" in text(response)


@pytest.mark.parametrize("username", ["alice", "tom", "carol"])
def test_the_uploader_and_officials_above_may_download_the_files(client, everyone, alices_job, username):
    client.force_login(everyone[username])
    page = client.get(f"/imports/{alices_job.pk}/")
    assert element(page, "a", data_testid="download-errors").hrefs == [f"/imports/{alices_job.pk}/errors.xlsx"]
    for suffix in ("original.xlsx", "errors.xlsx"):
        response = client.get(f"/imports/{alices_job.pk}/{suffix}")
        assert response.status_code == 200, suffix
        assert response["Content-Type"] == XLSX
        workbook(response)  # opens


def test_only_the_uploader_may_confirm(client, alice, tom):
    job = start(alice, clean_file(2))
    client.force_login(tom)
    page = client.get(f"/imports/{job.pk}/")
    assert not elements(page, "button", data_testid="confirm-import")
    response = client.post(f"/imports/{job.pk}/confirm/", follow=True)
    assert response.redirect_chain == [(f"/imports/{job.pk}/", 302)]
    assert "只有上传该文件的用户可以确认导入。" in text(response)
    assert not Household.objects.exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.READY and job.confirmed_by is None


def test_a_supervisor_confirming_gets_a_refusal(client, alice, sue):
    job = start(alice, clean_file(1))
    client.force_login(sue)
    response = client.post(f"/imports/{job.pk}/confirm/", follow=True)
    assert "只有上传该文件的用户可以确认导入。" in text(response)
    assert not Household.objects.exists()
    job.refresh_from_db()
    assert job.status == ImportStatus.READY


def test_confirming_a_rejected_job_is_refused(client, alice, alices_job):
    client.force_login(alice)
    response = client.post(f"/imports/{alices_job.pk}/confirm/", follow=True)
    assert "该文件有错误，不能导入；请按错误报告修改后重新上传。" in text(response)
    assert not Household.objects.exists()


# --- the template ------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/imports/households/template.xlsx", "/households/import/template.xlsx"])
def test_the_template_downloads_from_both_addresses(client, alice, url):
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    assert quote("贫困户导入模板.xlsx") in response["Content-Disposition"]
    book = workbook(response)
    assert {"填写说明", "户信息", "成员信息", "区划代码"} <= set(book.sheetnames)
    assert [row[0] for row in book["区划代码"].iter_rows(min_row=2, values_only=True)] == [VILLAGE_A]
    assert "证件号码" in header_columns(book["成员信息"])


@pytest.mark.parametrize("url", ["/imports/households/template.xlsx", "/households/import/template.xlsx"])
def test_a_supervisor_gets_no_template(client, sue, url):
    client.force_login(sue)
    assert client.get(url).status_code == 403


def test_the_downloaded_template_filled_in_imports(client, alice):
    """The template's own headers (with their stars and comments) are what the importer reads."""
    client.force_login(alice)
    book = workbook(client.get("/imports/households/template.xlsx"))
    households, members = families(1)
    for name, rows in (("户信息", households), ("成员信息", members)):
        sheet = book[name]
        columns = header_columns(sheet)
        for offset, row in enumerate(rows):
            for header, value in row.items():
                sheet.cell(row=2 + offset, column=columns[header.rstrip("*")], value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.get(post_file(client, buffer.getvalue())["Location"])
    assert table(response, "job-counts")[1:] == [["户", "1", "0", "0", "0"], ["成员", "2", "0", "0", "0"]]
