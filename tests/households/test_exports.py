"""Ledgers (台账导出): the list page's households and their members as Excel workbooks.

alice exports the 王 family of her village; bob's 刘 household (village B) must never
appear in her ledgers. Numbers are masked unless the role may see them; a full-number
export is recorded like a reveal (DOMAIN.md §9). sue supervises the city read-only and
gets masked ledgers only.
"""

import datetime
import io
from urllib.parse import quote

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households.models import ExitStatus, PersonalDataAccess, Relationship
from tests.conftest import VILLAGE_A, household_in
from tests.factories import MemberFactory
from tests.html import element, elements

HOUSEHOLDS_URL = "/households/export/households.xlsx"
MEMBERS_URL = "/households/export/members.xlsx"

# The import template's headers where the template has the field (issue 18: a ledger
# imports back), and the reading columns the importer passes over.
HOUSEHOLD_HEADERS = [
    "户编号", "县区", "镇办", "村", "村区划代码", "村民小组", "户主姓名", "联系电话", "识别标准", "贫困户属性",
    "主要致贫原因", "其他致贫原因", "识别年度", "脱贫状态", "脱贫年度", "家庭人口数", "易地扶贫搬迁户", "搬迁方式",
    "帮扶责任人", "帮扶责任人单位", "帮扶责任人电话", "失联人员", "刑满释放人员", "特殊情况说明",
]  # fmt: skip
MEMBER_HEADERS = [
    "户编号", "村", "村民小组", "姓名", "证件号码", "性别", "出生日期", "与户主关系", "民族", "政治面貌", "文化程度",
    "在校生状况", "长期慢性病", "患有大病", "残疾", "残疾类别", "残疾等级", "劳动技能", "务工状况", "务工地点",
    "务工月数", "务工单位", "医保", "大病保险", "家庭医生签约", "低保", "特困",
]  # fmt: skip
NOT_YOUR_ROLE = "您的角色不能导出完整的证件号码和电话号码。"


def sheet(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active


def rows(response) -> list[tuple]:
    return list(sheet(response).iter_rows(values_only=True))


def column(table: list[tuple], header: str) -> list:
    index = table[0].index(header)
    return [row[index] for row in table[1:]]


def id_numbers(wang) -> list[str]:
    return list(wang.members.order_by("id").values_list("id_number", flat=True))


# --- household ledger ---------------------------------------------------------------------------


def test_it_exports_alices_households_and_nothing_of_bobs(client, alice, wang, liu):
    client.force_login(alice)

    table = rows(client.get(HOUSEHOLDS_URL))

    assert list(table[0]) == HOUSEHOLD_HEADERS
    assert table[1:] == [
        (
            "610902101201000101", "汉滨区", "银滩镇", "西关村", "610902101201", 2, "王建国", "138****5678",
            "国家标准", "一般贫困户", "因病", "缺资金", 2016, "未脱贫", None, 3, "否", None, "周帮扶", "汉滨区扶贫局",
            "139****4321", "否", "否", None,
        )
    ]  # fmt: skip


def test_it_applies_the_filter_of_the_list_page(client, alice, registry):
    exited = registry[VILLAGE_A][2]
    client.force_login(alice)

    table = rows(client.get(HOUSEHOLDS_URL, {"exit_status": ExitStatus.EXITED}))

    assert column(table, "户编号") == [exited.number]
    assert column(table, "脱贫状态") == ["已脱贫"]
    assert column(table, "脱贫年度") == [2019]


def test_a_filter_outside_the_users_scope_exports_nothing(client, alice, registry):
    client.force_login(alice)

    table = rows(client.get(HOUSEHOLDS_URL, {"region": "610902102201"}))  # bob's village

    assert table == [tuple(HOUSEHOLD_HEADERS)]


def test_phones_are_full_for_alice_when_asked_and_the_export_is_recorded(client, alice, wang, liu):
    client.force_login(alice)

    table = rows(client.get(HOUSEHOLDS_URL, {"full": "1", "exit_status": "not_exited"}))

    assert column(table, "联系电话") == ["13812345678"]
    assert column(table, "帮扶责任人电话") == ["13987654321"]
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.action, access.household, access.member) == (alice, "export", None, None)
    assert access.detail == "户台账导出完整号码 1 户（exit_status=not_exited）"


def test_the_file_has_a_chinese_name_and_an_ascii_fallback(client, alice, wang):
    client.force_login(alice)

    response = client.get(HOUSEHOLDS_URL)

    day = datetime.date.today().isoformat()
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"households-{day}.xlsx\"; filename*=UTF-8''{quote(f'户台账-{day}.xlsx')}"
    )


# --- member ledger ------------------------------------------------------------------------------


def test_it_exports_the_members_of_alices_households_with_masked_ids(client, alice, wang, liu):
    client.force_login(alice)

    table = rows(client.get(MEMBERS_URL))

    assert list(table[0]) == MEMBER_HEADERS
    head_id, spouse_id, son_id = id_numbers(wang)
    assert table[1] == (
        "610902101201000101", "西关村", 2, "王建国", head_id[:6] + "********" + head_id[-4:], "男", "1972-04-11",
        "户主", "汉族", "群众", "初中", None, "否", "否", "否", None, None, "普通劳动力", "未务工", None, 0, None,
        "城乡居民基本医疗保险", "是", "是", "否", "否",
    )  # fmt: skip
    assert column(table, "姓名") == ["王建国", "张秀兰", "王小明"]
    assert column(table, "证件号码") == [n[:6] + "********" + n[-4:] for n in (head_id, spouse_id, son_id)]
    assert column(table, "在校生状况") == [None, None, "七年级"]
    assert PersonalDataAccess.objects.count() == 0


def test_members_follow_the_household_filter(client, alice, registry):
    exited = registry[VILLAGE_A][2]
    client.force_login(alice)

    table = rows(client.get(MEMBERS_URL, {"exit_status": ExitStatus.EXITED}))

    assert column(table, "户编号") == [exited.number]
    assert column(table, "姓名") == [exited.members.get().name]


def test_full_ids_for_alice_and_one_access_row_for_the_export(client, alice, wang, liu):
    client.force_login(alice)

    table = rows(client.get(MEMBERS_URL, {"full": "1"}))

    assert column(table, "证件号码") == id_numbers(wang)
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.action) == (alice, "export")
    assert access.detail == "成员台账导出完整号码 3 人"


def test_id_numbers_are_text_cells(client, alice, wang):
    client.force_login(alice)

    ws = sheet(client.get(MEMBERS_URL, {"full": "1"}))

    header = next(ws.iter_rows(max_row=1))
    assert all(cell.font.bold for cell in header)
    cells = [row[4] for row in ws.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == id_numbers(wang)
    assert all(isinstance(cell.value, str) and cell.number_format == "@" for cell in cells)
    assert all(isinstance(row[0].value, str) and row[0].number_format == "@" for row in ws.iter_rows(min_row=2))


def test_a_name_that_looks_like_a_formula_stays_text(client, alice, wang):
    MemberFactory(household=wang, name="=1+1", relationship=Relationship.SIBLING)
    client.force_login(alice)

    ws = sheet(client.get(MEMBERS_URL))

    cell = [row[3] for row in ws.iter_rows(min_row=2)][-1]
    assert (cell.value, cell.data_type) == ("=1+1", "s")


# --- who may export what ------------------------------------------------------------------------


def test_sue_gets_masked_ledgers_of_the_whole_city(client, sue, registry):
    client.force_login(sue)

    households = rows(client.get(HOUSEHOLDS_URL))
    members = rows(client.get(MEMBERS_URL))

    assert len(households) - 1 == 7
    assert len(members) - 1 == 8
    assert all("*" in number for number in column(members, "证件号码"))


@pytest.mark.parametrize("url", [HOUSEHOLDS_URL, MEMBERS_URL])
def test_sue_may_not_export_full_numbers(client, sue, registry, url):
    client.force_login(sue)

    response = client.get(url, {"full": "1"})

    assert response.status_code == 403
    assert NOT_YOUR_ROLE in response.content.decode()
    assert PersonalDataAccess.objects.count() == 0


def test_an_invalid_filter_is_refused_rather_than_ignored(client, alice, registry):
    client.force_login(alice)

    response = client.get(HOUSEHOLDS_URL, {"exit_status": "gone"})

    assert response.status_code == 400


def test_anonymous_visitors_are_sent_to_log_in(client, registry):
    response = client.get(MEMBERS_URL)

    assert response.status_code == 302
    assert "/login" in response["Location"]


# --- cost -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [HOUSEHOLDS_URL, MEMBERS_URL])
@pytest.mark.parametrize("full", ["0", "1"])
def test_the_number_of_queries_does_not_grow_with_the_households(client, alice, django_assert_num_queries, url, full):
    per_household = 1 if url == HOUSEHOLDS_URL else 2
    for _ in range(3):
        household_in(VILLAGE_A, members=2)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as three:
        assert len(rows(client.get(url, {"full": full}))) - 1 == 3 * per_household

    for _ in range(27):
        household_in(VILLAGE_A, members=2)
    with django_assert_num_queries(len(three)):
        response = client.get(url, {"full": full})
    assert len(rows(response)) - 1 == 30 * per_household


# --- the list page ------------------------------------------------------------------------------


def test_the_list_page_links_both_ledgers_with_the_current_filter(client, alice, registry):
    client.force_login(alice)

    response = client.get("/households/", {"exit_status": "exited"})

    assert (
        element(response, "a", data_testid="export-households").attrs["href"] == f"{HOUSEHOLDS_URL}?exit_status=exited"
    )
    assert element(response, "a", data_testid="export-members").attrs["href"] == f"{MEMBERS_URL}?exit_status=exited"
    assert element(response, "a", data_testid="export-members-full").attrs["href"] == (
        f"{MEMBERS_URL}?full=1&exit_status=exited"
    )


def test_sue_is_not_offered_full_numbers(client, sue, registry):
    client.force_login(sue)

    response = client.get("/households/")

    assert element(response, "a", data_testid="export-households").text == "导出户台账"
    assert elements(response, "a", data_testid="export-households-full") == []
    assert elements(response, "a", data_testid="export-members-full") == []
