"""/api/v1/imports/: the import pipeline for scripts (issue 4, points 4–6) — the same
services, checks, counts and Chinese messages as the pages."""

import pytest
import yaml

from households.models import Household, Member
from imports.models import ImportJob
from tests.conftest import PASSWORD
from tests.imports.pages_helpers import (
    ID_LOST_DIGITS,
    XLSX,
    body,
    clean_file,
    file_with_bad_member,
    header_columns,
    start,
    upload,
    workbook,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/imports/"
UPLOAD = "/api/v1/imports/households/"
TEMPLATE = "/api/v1/imports/households/template/"
READ_ONLY = "市级督查账号为只读账号，不能修改数据。"
COUNTS_2 = {
    "households": {"new": 2, "updated": 0, "unchanged": 0, "rejected": 0, "held": 0},
    "members": {"new": 4, "updated": 0, "unchanged": 0, "rejected": 0, "held": 0},
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def post_file(client, content, name="贫困户导入.xlsx", **kwargs):
    return client.post(UPLOAD, {"file": upload(content, name)}, **kwargs)


def test_the_template_downloads(client, alice):
    client.force_login(alice)
    response = client.get(TEMPLATE)
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    book = workbook(response)
    assert {"户信息", "成员信息"} <= set(book.sheetnames)


def test_a_supervisor_gets_no_template(client, sue):
    client.force_login(sue)
    response = client.get(TEMPLATE)
    assert response.status_code == 403
    assert response.json()["detail"] == "市级督查账号为只读账号，不能导入数据。"


def test_an_upload_is_checked_and_answers_201(client, alice):
    client.force_login(alice)
    response = post_file(client, clean_file(2), "西关村.xlsx")
    assert response.status_code == 201
    data = response.json()
    job = ImportJob.objects.get()
    assert data["id"] == job.pk
    assert data["kind"] == "households"
    assert data["status"] == "ready"
    assert data["status_display"] == "待确认导入"
    assert data["progress"] == 100
    assert data["counts"] == COUNTS_2
    assert data["errors"] == []
    assert data["error_report_url"] is None
    assert data["original_name"] == "西关村.xlsx"
    assert data["uploaded_by"] == "李爱丽"
    assert data["total_rows"] == 6
    assert not Household.objects.exists()


def test_the_job_tells_its_status_progress_counts_and_errors(client, alice):
    client.force_login(alice)
    job_id = post_file(client, clean_file(2)).json()["id"]
    response = client.get(f"{URL}{job_id}/")
    assert response.status_code == 200
    data = response.json()
    assert (data["status"], data["progress"], data["counts"], data["errors"]) == ("ready", 100, COUNTS_2, [])
    assert data["phase"] == ""
    assert data["checked_at"] and data["confirmed_at"] is None


def test_confirming_applies_and_a_second_confirm_is_409(client, alice):
    client.force_login(alice)
    job_id = post_file(client, clean_file(2)).json()["id"]
    response = client.post(f"{URL}{job_id}/confirm/")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "applied"
    assert data["status_display"] == "已导入"
    assert data["confirmed_at"] and data["finished_at"]
    assert Household.objects.count() == 2 and Member.objects.count() == 4

    again = client.post(f"{URL}{job_id}/confirm/")
    assert again.status_code == 409
    assert again.json() == {"detail": "该文件已导入完成，请勿重复提交。"}
    assert Household.objects.count() == 2


def test_a_bad_file_is_rejected_with_row_errors_and_a_report(client, alice):
    client.force_login(alice)
    content, bad_row = file_with_bad_member(2)
    response = post_file(client, content)
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "rejected"
    # Rows, not households: the bad member row has the error, its household's row and
    # the household's other members are held back with it (issue 18).
    assert data["counts"]["households"] == {"new": 1, "updated": 0, "unchanged": 0, "rejected": 0, "held": 1}
    assert data["counts"]["members"] == {"new": 2, "updated": 0, "unchanged": 0, "rejected": 1, "held": 1}
    assert data["errors"] == [{"sheet": "成员信息", "row": bad_row, "column": "证件号码", "message": ID_LOST_DIGITS}]
    assert data["error_report_url"] == f"http://testserver/api/v1/imports/{data['id']}/errors.xlsx"

    detail = client.get(f"{URL}{data['id']}/").json()
    assert detail["errors"] == data["errors"]

    report = client.get(f"/api/v1/imports/{data['id']}/errors.xlsx")
    assert report.status_code == 200
    assert report["Content-Type"] == XLSX
    assert "attachment" in report["Content-Disposition"]
    sheet = workbook(report)["成员信息"]
    columns = header_columns(sheet)
    assert sheet.cell(row=bad_row, column=columns["错误说明"]).value == f"证件号码：{ID_LOST_DIGITS}"

    confirm = client.post(f"{URL}{data['id']}/confirm/")
    assert confirm.status_code == 409
    assert confirm.json()["detail"] == "该文件有错误，不能导入；请按错误报告修改后重新上传。"
    assert not Household.objects.exists()


def test_a_clean_job_has_no_error_report(client, alice):
    client.force_login(alice)
    job_id = post_file(client, clean_file(1)).json()["id"]
    response = client.get(f"/api/v1/imports/{job_id}/errors.xlsx")
    assert response.status_code == 404
    assert response.json()["detail"] == "该导入没有错误报告。"


def test_a_corrupt_file_ends_failed_with_the_reason(client, alice):
    client.force_login(alice)
    response = post_file(client, b"PK\x03\x04" + b"\x00" * 300)
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "failed"
    assert data["message"] == "文件已加密或不是 .xlsx 格式，请另存为 Excel 工作簿（.xlsx）后上传"
    confirm = client.post(f"{URL}{data['id']}/confirm/")
    assert confirm.status_code == 409
    assert confirm.json()["detail"] == "该文件无法导入，请重新上传。"


def test_a_big_file_answers_queued_and_cannot_be_confirmed_yet(client, alice, settings):
    settings.IMPORT_INLINE_MAX_BYTES = 0  # the Celery task runs on commit: never, inside a test
    client.force_login(alice)
    response = post_file(client, clean_file(1))
    assert response.status_code == 201
    data = response.json()
    assert (data["status"], data["progress"], data["phase"], data["counts"]) == ("queued", 0, "等待处理", {})
    confirm = client.post(f"{URL}{data['id']}/confirm/")
    assert confirm.status_code == 409
    assert confirm.json() == {"detail": "该文件还在校验中，请稍候再确认。"}


def test_a_missing_file_field_is_400(client, alice):
    client.force_login(alice)
    response = client.post(UPLOAD, {"document": upload(clean_file(1))})
    assert response.status_code == 400
    assert response.json() == {"detail": "请上传 file 字段（.xlsx 文件）。"}
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "台账.csv",
            "户编号,姓名\n6109021012010001,王建国\n".encode(),
            "不能导入 CSV 文件，请下载导入模板（.xlsx），将数据填入模板后上传。",
            id="csv",
        ),
        pytest.param(
            "台账.xls",
            b"\xd0\xcf\x11\xe0" + b"\x00" * 2000,
            "“台账.xls”是旧版 .xls 格式，请在 Excel 中“另存为”Excel 工作簿（.xlsx）后上传。",
            id="xls",
        ),
        pytest.param("台账.xlsx", b"", "上传的文件是空的，请重新选择文件。", id="empty"),
    ],
)
def test_a_refused_file_is_400_with_a_chinese_message(client, alice, name, content, message):
    client.force_login(alice)
    response = post_file(client, content, name)
    assert response.status_code == 400
    assert response.json() == {"detail": message}
    assert not ImportJob.objects.exists()


def test_an_oversize_file_is_400(client, alice, settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    client.force_login(alice)
    response = post_file(client, b"PK\x03\x04" + b"\x00" * (1024 * 1024 + 110_000))
    assert response.status_code == 400
    assert response.json()["detail"] == "文件大小为 1.1 MB，超过 1.0 MB 的上限，请拆分后分批导入。"


def test_a_supervisor_may_not_upload(client, sue):
    client.force_login(sue)
    response = post_file(client, clean_file(1))
    assert response.status_code == 403
    assert response.json()["detail"] == READ_ONLY
    assert not ImportJob.objects.exists()


def test_a_supervisor_reads_jobs_but_not_their_files(client, alice, sue):
    job = start(alice, file_with_bad_member(1)[0])
    client.force_login(sue)
    assert [row["id"] for row in client.get(URL).json()["results"]] == [job.pk]
    assert client.get(f"{URL}{job.pk}/").status_code == 200
    report = client.get(f"/api/v1/imports/{job.pk}/errors.xlsx")
    assert report.status_code == 403
    assert report.json()["detail"] == "您的角色不能下载含完整证件号码的导入文件。"
    assert client.post(f"{URL}{job.pk}/confirm/").status_code == 403


@pytest.mark.parametrize("username", ["bob", "zed"])
def test_a_user_of_another_region_gets_404(client, everyone, username):
    job = start(everyone["alice"], file_with_bad_member(1)[0])
    client.force_login(everyone[username])
    assert client.get(f"{URL}{job.pk}/").status_code == 404
    assert client.get(f"/api/v1/imports/{job.pk}/errors.xlsx").status_code == 404
    assert client.post(f"{URL}{job.pk}/confirm/").status_code == 404
    assert client.get(URL).json()["results"] == []


def test_only_the_uploader_may_confirm(client, alice, tom):
    job = start(alice, clean_file(1))
    client.force_login(tom)
    response = client.post(f"{URL}{job.pk}/confirm/")
    assert response.status_code == 400
    assert response.json() == {"detail": "只有上传该文件的用户可以确认导入。"}
    assert not Household.objects.exists()


def test_the_history_lists_without_row_errors(client, alice):
    start(alice, clean_file(1), "一.xlsx")
    start(alice, file_with_bad_member(1)[0], "二.xlsx")
    client.force_login(alice)
    rows = client.get(URL).json()["results"]
    assert [row["original_name"] for row in rows] == ["二.xlsx", "一.xlsx"]
    assert all("errors" not in row for row in rows)
    assert rows[0]["error_report_url"].endswith(f"/api/v1/imports/{rows[0]['id']}/errors.xlsx")


def test_a_token_works_for_the_whole_round(client, alice):
    token = client.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}).json()["token"]
    auth = {"Authorization": f"Token {token}"}
    assert client.get(TEMPLATE, headers=auth).status_code == 200
    created = post_file(client, clean_file(1), headers=auth)
    assert created.status_code == 201
    job_id = created.json()["id"]
    assert client.get(f"{URL}{job_id}/", headers=auth).json()["status"] == "ready"
    assert client.post(f"{URL}{job_id}/confirm/", headers=auth).json()["status"] == "applied"
    assert Household.objects.count() == 1
    assert ImportJob.objects.get().uploaded_by == alice


def test_without_credentials_nothing_is_answered(client, alice):
    job = start(alice, file_with_bad_member(1)[0])
    for url in (URL, f"{URL}{job.pk}/", TEMPLATE, f"/api/v1/imports/{job.pk}/errors.xlsx"):
        assert client.get(url).status_code in (401, 403), url
    assert post_file(client, clean_file(1)).status_code in (401, 403)
    assert ImportJob.objects.count() == 1


def test_the_openapi_schema_documents_the_import_endpoints(client, carol):
    client.force_login(carol)
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(body(response))
    paths = schema["paths"]
    for path in (
        "/api/v1/imports/",
        "/api/v1/imports/{id}/",
        "/api/v1/imports/{id}/confirm/",
        "/api/v1/imports/{id}/errors.xlsx",
        "/api/v1/imports/households/",
        "/api/v1/imports/households/template/",
    ):
        assert path in paths, path
    upload_op = paths["/api/v1/imports/households/"]["post"]
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    assert set(upload_op["responses"]) >= {"201", "400"}
    assert set(paths["/api/v1/imports/{id}/confirm/"]["post"]["responses"]) >= {"200", "409"}
    assert XLSX in paths["/api/v1/imports/{id}/errors.xlsx"]["get"]["responses"]["200"]["content"]
    assert XLSX in paths["/api/v1/imports/households/template/"]["get"]["responses"]["200"]["content"]
