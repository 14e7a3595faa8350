"""行业比对: a sector department's list through the import pipeline; matched members'
households enter monitoring, unmatched rows are reported, nothing is found twice."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from households.models import ExitStatus
from imports.models import ImportStatus
from imports.services import ImportRefused, import_confirm, import_start
from monitoring.models import Channel, Finding, MonitoringCase, RiskType
from tests.exits.conftest import ready_household
from tests.factories import valid_id_number

pytestmark = pytest.mark.django_db


def sector_list(rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "比对名单"
    sheet.append(["证件号码*", "姓名", "比对指标*", "说明"])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("比对名单.xlsx", buffer.getvalue())


def test_matched_rows_open_candidates_and_unmatched_rows_are_listed(clock, sam, alice):
    household = ready_household(exit_status=ExitStatus.EXITED, exit_year=2019)
    child = household.members.get(name="王小明")
    stranger = valid_id_number(birth=child.birth_date)
    upload = sector_list([(child.id_number, "王小明", "辍学", "2020年秋季学期未报到"), (stranger, "某某", "辍学", "")])

    job = import_start(by=sam, kind="sector_comparison", upload=upload)
    assert job.status == ImportStatus.READY
    assert job.counts == {"rows": {"new": 1, "updated": 0, "unchanged": 0, "rejected": 1}}
    assert [(s["row"], s["column"]) for s in job.skipped] == [(3, "证件号码")]
    job = import_confirm(by=sam, job=job)
    assert job.status == ImportStatus.APPLIED

    case = MonitoringCase.objects.get(household=household)
    assert (case.channel, case.risk_types) == (Channel.SECTOR, [RiskType.SCHOOLING])
    assert Finding.objects.get().detail == "行业比对：王小明 辍学（2020年秋季学期未报到）"

    again = import_start(by=sam, kind="sector_comparison", upload=upload)
    assert (again.status, again.counts["rows"]["unchanged"]) == (ImportStatus.UNCHANGED, 1)
    assert Finding.objects.count() == 1


def test_a_village_cadre_cannot_upload_a_sector_list(alice):
    with pytest.raises(ImportRefused, match="不能导入"):
        import_start(by=alice, kind="sector_comparison", upload=sector_list([]))


def test_a_bad_indicator_is_rejected_with_its_row(clock, sam):
    job = import_start(by=sam, kind="sector_comparison", upload=sector_list([(valid_id_number(), "甲", "失业", "")]))
    assert job.status == ImportStatus.REJECTED
    assert job.errors[0]["row"] == 2 and job.errors[0]["column"] == "比对指标"


def test_the_api_takes_a_sector_list(client, clock, sam):
    household = ready_household(exit_status=ExitStatus.EXITED, exit_year=2019)
    child = household.members.get(name="王小明")
    client.force_login(sam)
    response = client.post(
        "/api/v1/imports/sector-comparison/", {"file": sector_list([(child.id_number, "王小明", "辍学", "")])}
    )
    assert response.status_code == 201, response.json()
    job = response.json()
    assert job["status"] == "ready" and job["counts"]["rows"]["new"] == 1
    assert client.post(f"/api/v1/imports/{job['id']}/confirm/").json()["status"] == "applied"
    assert MonitoringCase.objects.filter(household=household, channel=Channel.SECTOR).exists()
