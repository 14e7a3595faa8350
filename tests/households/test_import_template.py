"""The blank import template (台账导入模板): the sheets, Chinese headers, dropdowns and
text columns a cadre relies on, and only the villages the downloader may import into."""

import io

import pytest
from openpyxl import load_workbook

from households.excel import HOUSEHOLD_COLUMNS, HOUSEHOLD_SHEET, MEMBER_COLUMNS, MEMBER_SHEET, OPTIONS_SHEET
from tests.conftest import VILLAGE_A, VILLAGE_A2, VILLAGE_B

URL = "/households/import/template.xlsx"

pytestmark = pytest.mark.django_db


def download(client, user):
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.content))


def validation_for(sheet, column_letter):
    for validation in sheet.data_validations.dataValidation:
        if any(str(r).startswith(f"{column_letter}2:") for r in validation.sqref.ranges):
            return validation
    return None


def options(workbook, formula):
    sheet_name, cells = formula.lstrip("=").split("!")
    sheet = workbook[sheet_name.strip("'")]
    start, end = cells.replace("$", "").split(":")
    return [row[0].value for row in sheet[start:end]]


def test_it_offers_the_two_linked_sheets_with_chinese_headers(client, alice):
    workbook = download(client, alice)
    assert workbook.sheetnames[:2] == ["填写说明", OPTIONS_SHEET]
    households = workbook[HOUSEHOLD_SHEET]
    members = workbook[MEMBER_SHEET]
    assert [c.value for c in households[1]][:4] == ["户编号*", "村区划代码*", "村民小组*", "联系电话"]
    assert [c.value for c in members[1]][:4] == ["户编号*", "姓名*", "证件号码*", "与户主关系*"]
    assert len(households[1]) == len(HOUSEHOLD_COLUMNS) - 2  # without 脱贫状态 and 脱贫年度
    assert len(members[1]) == len(MEMBER_COLUMNS)
    assert workbook[OPTIONS_SHEET].sheet_state == "hidden"
    assert "户编号" in workbook["填写说明"]["A3"].value


def test_it_keeps_id_numbers_and_phones_as_text(client, alice):
    workbook = download(client, alice)
    members = workbook[MEMBER_SHEET]
    households = workbook[HOUSEHOLD_SHEET]
    assert members["C2"].number_format == "@"  # 证件号码
    assert members["C500"].number_format == "@"
    assert households["D2"].number_format == "@"  # 联系电话
    assert households["A2"].number_format == "@"  # 户编号


def test_it_puts_a_dropdown_on_every_enumeration(client, alice):
    workbook = download(client, alice)
    members = workbook[MEMBER_SHEET]
    relationship = validation_for(members, "D")
    assert relationship is not None and relationship.type == "list"
    assert options(workbook, relationship.formula1)[:3] == ["户主", "配偶", "之子"]
    insurance = validation_for(members, "S")
    assert options(workbook, insurance.formula1) == ["城乡居民基本医疗保险", "城镇职工基本医疗保险", "未参保"]
    households = workbook[HOUSEHOLD_SHEET]
    attribute = validation_for(households, "F")
    assert options(workbook, attribute.formula1) == ["一般贫困户", "低保贫困户", "特困供养贫困户"]
    relocated = validation_for(households, "J")
    assert options(workbook, relocated.formula1) == ["是", "否"]
    assert validation_for(households, "A") is None  # free text


def test_it_lists_only_the_villages_in_the_users_scope(client, alice, tom):
    cadre_sheet = download(client, alice)["区划代码"]
    assert [row[0].value for row in cadre_sheet.iter_rows(min_row=2)] == [VILLAGE_A]
    town_codes = [row[0].value for row in download(client, tom)["区划代码"].iter_rows(min_row=2)]
    assert VILLAGE_A in town_codes and VILLAGE_A2 in town_codes
    assert VILLAGE_B not in town_codes


def test_it_leaves_out_the_exit_outcome(client, alice):
    """脱贫状态 and 脱贫年度 are the exit workflow's (DOMAIN.md §4): nothing to fill in,
    and the instructions say where a past exit is recorded instead."""
    workbook = download(client, alice)
    headers = [c.value for c in workbook[HOUSEHOLD_SHEET][1]]
    assert not {"脱贫状态", "脱贫状态*", "脱贫年度"} & set(headers)
    assert "脱贫状态" not in [c.value for c in workbook[OPTIONS_SHEET][1]]
    instructions = " ".join(str(row[0].value) for row in workbook["填写说明"].iter_rows())
    assert "历史脱贫登记" in instructions


def test_it_is_refused_to_a_read_only_supervisor(client, sue):
    client.force_login(sue)
    assert client.get(URL).status_code == 403


def test_it_is_linked_from_the_list_for_writers_only(client, alice, sue):
    client.force_login(alice)
    assert b"/imports/households/new/" in client.get("/households/").content
    assert b"/imports/households/template.xlsx" in client.get("/imports/households/new/").content
    client.force_login(sue)
    assert b"/imports/households/new/" not in client.get("/households/").content
