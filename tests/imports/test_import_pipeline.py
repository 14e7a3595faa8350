"""The registry Excel import end to end (issue 4): real .xlsx files built here go through
``import_start`` (upload, parse, check) and ``import_confirm`` (apply), and the tests
look at what a cadre would see — the job's status, counts and row errors, the
marked-up error workbook — and at exactly what the registry then holds.

A file lands whole or not at all: every test of a bad file compares a snapshot of the
whole registry (rows and history) before and after.
"""

import datetime
import io
import zipfile

import pytest
from celery.signals import task_prerun
from django.db import connection
from openpyxl import load_workbook
from openpyxl.styles import Alignment

from households import importing, services
from households.excel import HOUSEHOLD_SHEET, MEMBER_SHEET, household_template
from households.import_plan import PreloadedLookups
from households.importing import ID_LOST_DIGITS, NOT_XLSX
from households.models import Household, Member
from imports import errorbook
from imports.models import ImportJob, ImportStatus
from imports.services import ImportRefused, import_apply, import_check, import_confirm
from povertyexit.celery import app
from tests.conftest import VILLAGE_A, VILLAGE_A2, VILLAGE_B
from tests.factories import HouseholdFactory, MemberFactory
from tests.imports.workbooks import (
    BLANK,
    H1,
    H2,
    LIU_DAUGHTER,
    LIU_HEAD,
    NOT_WORKING,
    WANG_HEAD,
    WANG_SON,
    WANG_SPOUSE,
    counts,
    error_workbook,
    header_column,
    household,
    import_file,
    liu_family,
    member,
    person_id,
    registry_snapshot,
    row_errors,
    save,
    start,
    stored_household,
    stored_members,
    wang_family,
    workbook,
)

pytestmark = pytest.mark.django_db

NUMERIC_ID = 987654321012  # placeholder for a number cell holding all 18 digits of an ID
CHANGED_BEFORE_CONFIRM = (
    "确认前系统中的数据已有变化，文件中有记录不再符合规则，未导入任何数据。请按错误报告修改后重新上传。"
)
NOTHING_NEW = "文件中没有需要导入的新数据或变化，所有记录与系统中一致。"
READ_ONLY = "市级督查账号为只读账号，不能导入数据。"
DAMAGED = "文件内容已损坏或无法识别，请用 Excel 打开确认后另存为 .xlsx 重新上传。"
ERROR_FILL = "00FFC7CE"
ON_POSTGRES = connection.vendor == "postgresql"

# What an adult of MEMBER_ROW is stored as (work outside the province, 10 months).
ADULT = {
    "ethnicity": "汉族",
    "political_status": "masses",
    "education": "junior",
    "schooling": "",
    "has_chronic_disease": False,
    "has_serious_illness": False,
    "is_disabled": False,
    "disability_category": "",
    "disability_grade": None,
    "labour_skill": "ordinary",
    "work_status": "out_of_province",
    "work_place": "广东省深圳市",
    "work_months": 10,
    "employer": "某电子厂",
    "medical_insurance": "resident",
    "critical_illness_insurance": True,
    "family_doctor": True,
    "is_dibao": False,
    "is_tekun": False,
}
STORED_NOT_WORKING = {"work_status": "not_working", "work_place": "", "work_months": 0, "employer": ""}
STORED_PUPIL = {"education": "", "labour_skill": "none", **STORED_NOT_WORKING}
# The 王 family of ``wang_family()`` as stored.
WANG_STORED = [
    ADULT
    | {
        "name": "王建国",
        "id_number": WANG_HEAD,
        "relationship": "head",
        "sex": "male",
        "birth_date": datetime.date(1972, 4, 11),
    },
    ADULT
    | STORED_NOT_WORKING
    | {
        "name": "张秀兰",
        "id_number": WANG_SPOUSE,
        "relationship": "spouse",
        "education": "primary",
        "sex": "female",
        "birth_date": datetime.date(1975, 3, 2),
    },
    ADULT
    | STORED_PUPIL
    | {
        "name": "王小明",
        "id_number": WANG_SON,
        "relationship": "son",
        "schooling": "grade_7",
        "sex": "male",
        "birth_date": datetime.date(2012, 9, 1),
    },
]


def both_families() -> bytes:
    return workbook([household(H1), household(H2)], [*wang_family(), *liu_family()])


def wang_only() -> bytes:
    return workbook([household(H1)], wang_family())


# --- a clean file: what is stored ---------------------------------------------------------


def typed_file() -> bytes:
    """Two households and five members as cadres type them: numbers in text columns,
    full-width digits, stray and full-width spaces, a lowercase x, a blank row, columns
    the template does not have, and the ledger's 脱贫状态 column saying 未脱贫."""
    households = [
        household(
            H1,
            **{
                "村区划代码*": int(VILLAGE_A),
                "村民小组*": "３",
                "联系电话": 13812345678,
                "贫困户属性*": " 低保贫困户 ",
                "其他致贫原因": "缺技术，缺资金",
                "识别年度*": 2016,
                "帮扶责任人": "\u3000周帮扶 ",
                "帮扶责任人单位": "  汉滨区扶贫局",
                "帮扶责任人电话": "139 8765 4321",
                "备注": "新识别",
            },
        ),
        household(
            H2,
            **{
                "村民小组*": 5,
                "联系电话": None,
                "识别标准*": "省定标准",
                "贫困户属性*": "一般贫困户",
                "主要致贫原因*": "因残",
                "其他致贫原因": None,
                "识别年度*": 2015.0,
                "脱贫状态": "未脱贫",
                "脱贫年度": None,
                "易地扶贫搬迁户": "是",
                "搬迁方式": "分散安置",
                "帮扶责任人": None,
                "帮扶责任人单位": None,
                "帮扶责任人电话": None,
                "刑满释放人员": "是",
                "特殊情况说明": " 2017年刑满释放，已在村公益岗位安置 ",
            },
        ),
    ]
    spaced = f" {WANG_HEAD[:6]} {WANG_HEAD[6:14]} {WANG_HEAD[14:]}\u3000"
    full_width = WANG_SON.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    members = [
        member(H1, "王 建国", spaced, "户主", **{"务工单位": "ＡＢＣ电子厂", "备注": "外出"}),
        member(
            H1,
            "张秀兰",
            WANG_SPOUSE.lower(),
            "配偶",
            **{"民族": None, "政治面貌": "中共党员", "文化程度": "小学", **NOT_WORKING},
        ),
        member(
            H1,
            "王小明",
            full_width,
            " 之子 ",
            **{"文化程度": None, "在校生状况": "七年级", "劳动技能*": "无劳动力", **NOT_WORKING},
        ),
        BLANK,
        member(H2, "刘大山", LIU_HEAD, "户主", **{"务工状况": "县外省内务工", "务工地点": "西安市", "务工月数": "６"}),
        member(
            H2,
            "刘小红",
            LIU_DAUGHTER,
            "之女",
            **{
                "文化程度": None,
                "在校生状况": "小学",
                "长期慢性病": "是",
                "残疾": "Y",
                "残疾类别": "肢体",
                "残疾等级": 2,
                "劳动技能*": "无劳动力",
                "低保": "√",
                **NOT_WORKING,
            },
        ),
    ]
    return workbook(households, members)


def test_it_stores_two_households_and_their_members_with_exact_values(alice):
    job = start(alice, typed_file(), name="西关村 2020.xlsx")

    assert (job.status, job.errors, job.message) == (ImportStatus.READY, [], "")
    assert job.counts == counts({"new": 2}, {"new": 5})
    assert job.total_rows == 7
    assert Household.objects.count() == 0  # the check writes nothing

    job = import_confirm(by=alice, job=job)

    assert (job.status, job.errors, job.message) == (ImportStatus.APPLIED, [], "")
    assert job.counts == counts({"new": 2}, {"new": 5})
    assert (job.original_name, job.uploaded_by, job.confirmed_by, job.region_id) == (
        "西关村 2020.xlsx",
        alice,
        alice,
        VILLAGE_A,
    )
    assert job.finished_at is not None and job.parsed_file == "" and job.progress == 100
    assert stored_household(H1) == {
        "number": H1,
        "village": VILLAGE_A,
        "group_no": 3,
        "phone": "13812345678",
        "identification_standard": "national",
        "attribute": "dibao",
        "main_cause": "illness",
        "other_causes": ["lack_skills", "lack_funds"],
        "identification_year": 2016,
        "exit_status": "not_exited",
        "exit_year": None,
        "is_relocated": False,
        "relocation_mode": "",
        "helper_name": "周帮扶",
        "helper_unit": "汉滨区扶贫局",
        "helper_phone": "13987654321",
        "lost_contact": False,
        "released_prisoner": False,
        "special_notes": "",
    }
    assert stored_household(H2) == {
        "number": H2,
        "village": VILLAGE_A,
        "group_no": 5,
        "phone": "",
        "identification_standard": "provincial",
        "attribute": "general",
        "main_cause": "disability",
        "other_causes": [],
        "identification_year": 2015,
        "exit_status": "not_exited",
        "exit_year": None,
        "is_relocated": True,
        "relocation_mode": "scattered",
        "helper_name": "",
        "helper_unit": "",
        "helper_phone": "",
        "lost_contact": False,
        "released_prisoner": True,
        "special_notes": "2017年刑满释放，已在村公益岗位安置",
    }
    assert stored_members(H1) == [
        ADULT
        | {
            "name": "王建国",
            "id_number": WANG_HEAD,
            "relationship": "head",
            "employer": "ABC电子厂",
            "sex": "male",
            "birth_date": datetime.date(1972, 4, 11),
        },
        ADULT
        | STORED_NOT_WORKING
        | {
            "name": "张秀兰",
            "id_number": WANG_SPOUSE,  # the lowercase x stored as X
            "relationship": "spouse",
            "ethnicity": "汉族",  # an empty 民族 takes the default
            "political_status": "party_member",
            "education": "primary",
            "sex": "female",
            "birth_date": datetime.date(1975, 3, 2),
        },
        ADULT
        | STORED_PUPIL
        | {
            "name": "王小明",
            "id_number": WANG_SON,  # full-width digits made ASCII
            "relationship": "son",
            "schooling": "grade_7",
            "sex": "male",
            "birth_date": datetime.date(2012, 9, 1),
        },
    ]
    assert stored_members(H2) == [
        ADULT
        | {
            "name": "刘大山",
            "id_number": LIU_HEAD,  # the number cell with all 18 digits
            "relationship": "head",
            "work_status": "in_province",
            "work_place": "西安市",
            "work_months": 6,
            "sex": "male",
            "birth_date": datetime.date(1965, 8, 5),
        },
        ADULT
        | STORED_PUPIL
        | {
            "name": "刘小红",
            "id_number": LIU_DAUGHTER,
            "relationship": "daughter",
            "schooling": "primary",
            "has_chronic_disease": True,
            "is_disabled": True,
            "disability_category": "肢体",
            "disability_grade": 2,
            "is_dibao": True,
            "sex": "female",
            "birth_date": datetime.date(2015, 6, 12),
        },
    ]


def test_every_stored_row_has_a_created_history_row_by_the_uploader(alice):
    import_file(alice, both_families())

    households = Household.history.all()
    members = Member.history.all()
    assert sorted(h.number for h in households) == [H1, H2]
    assert sorted(m.id_number for m in members) == sorted([WANG_HEAD, WANG_SPOUSE, WANG_SON, LIU_HEAD, LIU_DAUGHTER])
    for record in [*households, *members]:
        assert (record.history_type, record.history_user, record.history_change_reason) == ("+", alice, "Excel导入")
    assert all(h.version == 1 for h in Household.objects.all())


@pytest.mark.parametrize(
    ("cell", "exact_numbers", "stored"),
    [
        pytest.param(WANG_SPOUSE.lower(), None, WANG_SPOUSE, id="lowercase-x"),
        pytest.param(WANG_SPOUSE, None, WANG_SPOUSE, id="uppercase-x"),
        pytest.param(f"\u3000{WANG_HEAD} ", None, WANG_HEAD, id="stray-spaces"),
        pytest.param(f"{WANG_HEAD[:6]} {WANG_HEAD[6:14]} {WANG_HEAD[14:]}", None, WANG_HEAD, id="spaced-groups"),
        pytest.param(
            WANG_HEAD.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"}), None, WANG_HEAD, id="full-width"
        ),
        pytest.param(WANG_SPOUSE[:17] + "ｘ", None, WANG_SPOUSE, id="full-width-lowercase-x"),
    ],
)
def test_an_id_number_typed_any_readable_way_is_stored_as_its_18_characters(alice, cell, exact_numbers, stored):
    content = workbook([household(H1)], [member(H1, "王建国", cell, "户主")], exact_numbers=exact_numbers)

    import_file(alice, content)

    assert Member.objects.get().id_number == stored


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        pytest.param(int(WANG_HEAD), ID_LOST_DIGITS, id="number-cell-with-15-significant-digits"),
        pytest.param(float(WANG_HEAD), ID_LOST_DIGITS, id="float-cell"),
        pytest.param(int(WANG_HEAD[:15]), ID_LOST_DIGITS, id="number-cell-of-15-digits"),
        pytest.param("6.10902E+17", ID_LOST_DIGITS, id="scientific-text"),
        pytest.param("6.10902197204E+17", ID_LOST_DIGITS, id="scientific-text-long"),
        # Pasted back as text, the zeroed tail can only fail the check digit.
        pytest.param(f"{WANG_HEAD[:15]}000", "证件号码校验位错误，请核对是否录入有误。", id="text-with-zeroed-tail"),
    ],
)
def test_an_id_number_excel_mangled_is_rejected_with_a_clear_message_and_nothing_is_stored(alice, cell, message):
    before = registry_snapshot()
    content = workbook([household(H1), household(H2)], [member(H1, "王建国", cell, "户主"), *liu_family()])

    job = start(alice, content)

    assert job.status == ImportStatus.REJECTED
    assert row_errors(job) == [(MEMBER_SHEET, 2, "证件号码", message)]
    assert job.counts == counts({"new": 1, "held": 1}, {"new": 2, "rejected": 1})
    with pytest.raises(ImportRefused):
        import_confirm(by=alice, job=job)
    assert registry_snapshot() == before


def test_an_id_number_in_a_number_cell_is_refused_even_with_all_18_digits(alice):
    """No number cell can be told apart from one Excel rounded into another valid ID
    (issue 14): the cadre is asked to set the column to text, whatever the digits."""
    before = registry_snapshot()
    content = workbook(
        [household(H1)], [member(H1, "王建国", NUMERIC_ID, "户主")], exact_numbers={NUMERIC_ID: WANG_HEAD}
    )

    job = start(alice, content)

    assert job.status == ImportStatus.REJECTED
    assert row_errors(job) == [(MEMBER_SHEET, 2, "证件号码", ID_LOST_DIGITS)]
    assert registry_snapshot() == before


def test_a_titled_sheet_with_merged_header_cells_blank_rows_and_extra_columns_imports(alice):
    """The header under a merged title on row 3, each header cell merged with the one
    below it (a two-row header), blank rows between families, unknown columns."""

    def layout(book):
        for sheet in book.worksheets:
            width = sheet.max_column
            sheet.insert_rows(1, 2)
            sheet.insert_rows(4)  # the header's second row
            sheet["A1"] = f"汉滨区贫困户{sheet.title}表"
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
            sheet["A2"] = "填表单位：西关村"
            for column in range(1, width + 1):
                sheet.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
                sheet.cell(row=3, column=column).alignment = Alignment(vertical="center")

    content = workbook(
        [household(H1, **{"备注": "x"}), BLANK, BLANK, household(H2)],
        [*wang_family(), BLANK, *[dict(row, 备注="外出") for row in liu_family()]],
        edit=layout,
    )

    job = import_file(alice, content)

    assert job.counts == counts({"new": 2}, {"new": 5})
    assert stored_members(H1) == WANG_STORED
    assert [m["name"] for m in stored_members(H2)] == ["刘大山", "刘小红"]


def test_a_two_row_header_with_a_merged_group_cell_is_not_silently_dropped(alice):
    work = ["务工状况", "务工地点", "务工月数", "务工单位"]

    def group_header(book):
        sheet = book[MEMBER_SHEET]
        headers = [cell.value for cell in sheet[1]]
        first, last = headers.index(work[0]) + 1, headers.index(work[-1]) + 1
        sheet.insert_rows(2)
        for column in range(1, len(headers) + 1):
            if first <= column <= last:
                sheet.cell(row=2, column=column, value=headers[column - 1])
                sheet.cell(row=1, column=column, value=None)
            else:
                sheet.merge_cells(start_row=1, start_column=column, end_row=2, end_column=column)
        sheet.cell(row=1, column=first, value="务工情况")
        sheet.merge_cells(start_row=1, start_column=first, end_row=1, end_column=last)

    job = start(alice, workbook([household(H1)], wang_family(), edit=group_header))

    if job.status == ImportStatus.READY:
        import_confirm(by=alice, job=job)
        assert stored_members(H1) == WANG_STORED
    else:  # or refused, saying which headers it could not place
        assert "务工" in job.message + str(job.errors)


def test_blank_rows_keep_excel_row_numbers_in_errors(alice):
    content = workbook(
        [household(H1), BLANK, BLANK, household(H2, **{"识别标准*": "国标"})],
        [*wang_family(), BLANK, *liu_family()],
    )

    job = start(alice, content)

    assert row_errors(job) == [
        (HOUSEHOLD_SHEET, 5, "识别标准", "“国标”不是有效的选项，可选：国家标准、省定标准、市定标准"),
    ]


# --- one bad row anywhere: nothing is stored ---------------------------------------------


def with_liu(**changes):
    """A second file: 王 family with 户编号 H1's phone changed, 刘 family new, and
    ``changes`` (sheet → {row index → cells}) applied to make one row bad."""
    households = [household(H1, 联系电话="13900000000"), household(H2)]
    members = [*wang_family(), *liu_family()]
    for index, cells in changes.get("households", {}).items():
        households[index] = {**households[index], **cells}
    for index, cells in changes.get("members", {}).items():
        members[index] = {**members[index], **cells}
    return workbook(households, members)


BAD_ROWS = [
    pytest.param(
        {"households": {1: {"识别标准*": "国标"}}},
        [(HOUSEHOLD_SHEET, 3, "识别标准", "“国标”不是有效的选项，可选：国家标准、省定标准、市定标准")],
        counts({"updated": 1, "rejected": 1}, {"unchanged": 3, "held": 2}),
        id="household-sheet-bad-choice",
    ),
    pytest.param(
        {"households": {0: {"联系电话": "1390000000"}}},
        [(HOUSEHOLD_SHEET, 2, "联系电话", "联系电话应为11位手机号码（1开头）。")],
        counts({"new": 1, "rejected": 1}, {"new": 2, "held": 3}),
        id="household-sheet-bad-phone-on-an-update",
    ),
    pytest.param(
        {"members": {4: {"证件号码*": LIU_DAUGHTER[:17] + ("1" if LIU_DAUGHTER[17] != "1" else "2")}}},
        [(MEMBER_SHEET, 6, "证件号码", "证件号码校验位错误，请核对是否录入有误。")],
        counts({"updated": 1, "held": 1}, {"unchanged": 3, "rejected": 1, "held": 1}),
        id="last-member-row-bad-check-digit",
    ),
    pytest.param(
        {"members": {4: {"与户主关系*": "户主"}}},
        [(MEMBER_SHEET, 6, "与户主关系", "每户只能有一名户主。")],
        counts({"updated": 1, "held": 1}, {"unchanged": 3, "rejected": 1, "held": 1}),
        id="two-heads",
    ),
    pytest.param(
        {"members": {0: {"务工地点": None}}},
        [(MEMBER_SHEET, 2, "务工地点", "务工月数大于0时必须填写务工地点。")],
        counts({"new": 1, "held": 1}, {"new": 2, "rejected": 1, "held": 2}),
        id="work-place-missing-on-an-existing-member",
    ),
    pytest.param(
        {"members": {1: {"文化程度": None}}},
        [
            (
                MEMBER_SHEET,
                3,
                "文化程度",
                "文化程度与在校生状况必须且只能填写一项：在校生填在校生状况，其他人填文化程度。",
            )
        ],
        counts({"new": 1, "held": 1}, {"new": 2, "rejected": 1, "held": 2}),
        id="neither-education-nor-schooling",
    ),
]


@pytest.mark.parametrize(("changes", "errors", "expected_counts"), BAD_ROWS)
def test_a_file_with_one_bad_row_stores_nothing(alice, changes, errors, expected_counts):
    import_file(alice, wang_only())
    before = registry_snapshot()

    job = start(alice, with_liu(**changes))

    assert job.status == ImportStatus.REJECTED
    assert row_errors(job) == errors
    assert job.counts == expected_counts
    assert job.error_report and job.parsed_file == ""
    assert registry_snapshot() == before
    with pytest.raises(ImportRefused) as refused:
        import_confirm(by=alice, job=job)
    assert refused.value.conflict
    assert refused.value.message == "该文件有错误，不能导入；请按错误报告修改后重新上传。"
    assert registry_snapshot() == before


def test_the_same_file_without_the_bad_row_then_imports(alice):
    import_file(alice, wang_only())
    assert start(alice, with_liu(households={1: {"识别标准*": "国标"}})).status == ImportStatus.REJECTED

    job = import_file(alice, with_liu())

    assert job.counts == counts({"new": 1, "updated": 1}, {"new": 2, "unchanged": 3})
    assert stored_household(H1)["phone"] == "13900000000"
    assert Member.objects.count() == 5


# --- idempotent re-import and upsert -----------------------------------------------------


def test_importing_the_same_file_twice_changes_nothing_the_second_time(alice):
    import_file(alice, both_families())
    before = registry_snapshot()

    job = start(alice, both_families())

    # Nothing to confirm: the job ends 无变化 at the check, not a second 已导入.
    assert (job.status, job.message) == (ImportStatus.UNCHANGED, NOTHING_NEW)
    assert job.counts == counts({"unchanged": 2}, {"unchanged": 5})
    assert job.finished_at is not None and job.parsed_file == ""
    with pytest.raises(ImportRefused, match="该文件的数据已全部在系统中"):
        import_confirm(by=alice, job=job)
    assert registry_snapshot() == before


def test_the_typed_file_is_idempotent_too(alice):
    """Normalised cells (full-width, spaces, lowercase x, numbers) compare equal to what
    they were stored as."""
    import_file(alice, typed_file())
    before = registry_snapshot()

    job = start(alice, typed_file())

    assert (job.status, job.counts) == (ImportStatus.UNCHANGED, counts({"unchanged": 2}, {"unchanged": 5}))
    assert registry_snapshot() == before


def test_a_changed_household_cell_updates_that_household_only(alice):
    import_file(alice, both_families())
    liu_before = stored_household(H2)

    job = import_file(
        alice, workbook([household(H1, 联系电话="13900000000"), household(H2)], [*wang_family(), *liu_family()])
    )

    assert job.counts == counts({"updated": 1, "unchanged": 1}, {"unchanged": 5})
    wang = Household.objects.get(number=H1)
    assert (wang.phone, wang.version) == ("13900000000", 2)
    assert Household.objects.get(number=H2).version == 1
    assert stored_household(H2) == liu_before
    latest = wang.history.first()
    assert (latest.history_type, latest.history_user, latest.history_change_reason) == ("~", alice, "Excel导入")
    assert (latest.phone, latest.prev_record.phone) == ("13900000000", "13800138000")
    assert Household.history.filter(number=H2).count() == 1
    assert Member.history.count() == 5


def test_a_changed_member_cell_updates_that_member_with_a_history_row(alice):
    import_file(alice, wang_only())
    family = wang_family()
    family[0] = {**family[0], "务工月数": 12, "务工单位": "比亚迪"}

    job = import_file(alice, workbook([household(H1)], family))

    assert job.counts == counts({"updated": 1}, {"updated": 1, "unchanged": 2})
    head = Member.objects.get(id_number=WANG_HEAD)
    assert (head.work_months, head.employer) == (12, "比亚迪")
    latest = head.history.first()
    assert (latest.history_type, latest.history_user, latest.history_change_reason) == ("~", alice, "Excel导入")
    assert (latest.prev_record.work_months, latest.prev_record.employer) == (10, "某电子厂")
    assert Member.history.filter(id_number=WANG_SPOUSE).count() == 1


def test_a_changed_member_makes_an_edit_begun_before_the_import_stale(alice):
    import_file(alice, wang_only())
    wang = Household.objects.get(number=H1)
    version = wang.version
    family = wang_family()
    family[0] = {**family[0], "务工月数": 12}

    import_file(alice, workbook([household(H1)], family))

    wang.refresh_from_db()
    assert wang.version == version + 1
    stale = [services._member_payload(m) for m in wang.members.all()]
    stale[0]["work_months"] = 10
    with pytest.raises(services.ConcurrentEditError):
        services.household_update(by=alice, household=wang, data={}, members=stale, version=version)


def test_a_registered_member_absent_from_the_file_is_kept(alice):
    import_file(alice, wang_only())
    son = Member.objects.get(id_number=WANG_SON)

    job = import_file(alice, workbook([household(H1, **{"村民小组*": 4})], wang_family()[:2]))

    assert job.counts == counts({"updated": 1}, {"unchanged": 2})
    assert Member.objects.filter(household__number=H1).count() == 3
    assert Member.objects.get(pk=son.pk).household.number == H1
    assert Member.history.filter(id=son.pk).count() == 1


def test_a_members_sheet_alone_adds_a_member_to_a_registered_household(alice):
    import_file(alice, wang_only())
    daughter = person_id("20180101", 14)
    row = member(
        H1,
        "王小红",
        daughter,
        "之女",
        **{"文化程度": None, "在校生状况": "学龄前儿童", "劳动技能*": "无劳动力", **NOT_WORKING},
    )

    job = import_file(alice, workbook([], [row]))

    assert job.counts == counts(None, {"new": 1})  # rows: the file has no 户信息 row
    assert [m["name"] for m in stored_members(H1)] == ["王建国", "张秀兰", "王小明", "王小红"]
    assert stored_members(H1)[3]["schooling"] == "preschool_age"
    added = Member.history.get(id_number=daughter)
    assert (added.history_type, added.history_user) == ("+", alice)


def test_a_new_head_while_the_registered_head_is_absent_is_a_second_head(alice):
    """Absent members are kept, so the file's new 户主 would be the second one."""
    import_file(alice, wang_only())
    before = registry_snapshot()
    newcomer = member(H1, "王大伯", person_id("19500101", 15), "户主", **NOT_WORKING)

    job = start(alice, workbook([], [newcomer]))

    assert row_errors(job) == [(MEMBER_SHEET, 2, "与户主关系", "每户只能有一名户主。")]
    assert registry_snapshot() == before


def test_swapping_head_and_spouse_through_the_import(alice):
    import_file(alice, wang_only())
    family = wang_family()
    family[0] = {**family[0], "与户主关系*": "配偶"}
    family[1] = {**family[1], "与户主关系*": "户主"}

    job = import_file(alice, workbook([household(H1)], family))

    assert job.counts == counts({"updated": 1}, {"updated": 2, "unchanged": 1})
    relationships = {m["name"]: m["relationship"] for m in stored_members(H1)}
    assert relationships == {"王建国": "spouse", "张秀兰": "head", "王小明": "son"}
    for id_number, relationship in ((WANG_HEAD, "spouse"), (WANG_SPOUSE, "head")):
        latest = Member.history.filter(id_number=id_number).first()
        assert (latest.history_type, latest.relationship, latest.history_user) == ("~", relationship, alice)


def test_empty_cells_clear_optional_values_and_keep_required_ones(alice):
    family = wang_family()
    family[0] = {**family[0], "民族": "回族", "政治面貌": "中共党员"}
    import_file(alice, workbook([household(H1)], family))
    family[0] = {**family[0], "民族": None, "政治面貌": None, "务工单位": None}

    job = import_file(alice, workbook([household(H1, 联系电话=None, 帮扶责任人=None)], family))

    assert job.counts == counts({"updated": 1}, {"updated": 1, "unchanged": 2})
    head = Member.objects.get(id_number=WANG_HEAD)
    assert (head.ethnicity, head.political_status, head.employer) == ("回族", "party_member", "")
    wang = stored_household(H1)
    assert (wang["phone"], wang["helper_name"]) == ("", "")


# --- scope -------------------------------------------------------------------------------


def test_a_row_for_a_village_outside_the_uploaders_region_is_rejected(bob):
    before = registry_snapshot()

    job = start(bob, wang_only())

    assert job.status == ImportStatus.REJECTED
    assert row_errors(job) == [(HOUSEHOLD_SHEET, 2, "村区划代码", "所选村不在您的管辖范围内。")]
    assert job.counts == counts({"rejected": 1}, {"held": 3})
    assert registry_snapshot() == before


def test_a_town_official_is_refused_another_towns_village_in_a_mixed_file(tom):
    content = workbook(
        [
            household(H1),
            household(H2, **{"村区划代码*": VILLAGE_A2}),
            household("6109021022010001", **{"村区划代码*": VILLAGE_B}),
        ],
        [*wang_family(), *liu_family(), member("6109021022010001", "赵一", person_id("19700707", 31), "户主")],
    )

    job = start(tom, content)

    assert row_errors(job) == [(HOUSEHOLD_SHEET, 4, "村区划代码", "所选村不在您的管辖范围内。")]
    assert job.counts == counts({"new": 2, "rejected": 1}, {"new": 5, "held": 1})
    assert Household.objects.count() == 0


def test_a_county_official_imports_villages_of_two_towns(carol):
    content = workbook(
        [household(H1), household("6109021022010001", **{"村区划代码*": VILLAGE_B})],
        [*wang_family(), member("6109021022010001", "赵一", person_id("19700707", 31), "户主")],
    )

    import_file(carol, content)

    assert dict(Household.objects.values_list("number", "village_id")) == {H1: VILLAGE_A, "6109021022010001": VILLAGE_B}
    assert {h.history_user for h in Household.history.all()} == {carol}


def test_another_countys_official_is_refused(zed):
    job = start(zed, wang_only())

    assert row_errors(job) == [(HOUSEHOLD_SHEET, 2, "村区划代码", "所选村不在您的管辖范围内。")]


def test_a_household_number_registered_in_another_region_is_rejected_without_saying_where(alice, bob):
    import_file(alice, wang_only())
    before = registry_snapshot()
    bobs = workbook(
        [household(H1, **{"村区划代码*": VILLAGE_B})], [member(H1, "赵一", person_id("19700707", 31), "户主")]
    )

    job = start(bob, bobs)

    assert row_errors(job) == [(HOUSEHOLD_SHEET, 2, "户编号", f"户编号 {H1} 已在其他地区登记，不能在此导入。")]
    assert job.counts == counts({"rejected": 1}, {"held": 1})
    message = job.errors[0]["message"]
    assert "王建国" not in message and alice.region.name not in message
    assert registry_snapshot() == before


def test_members_for_a_household_of_another_region_are_rejected(alice, bob):
    import_file(alice, wang_only())
    before = registry_snapshot()

    job = start(bob, workbook([], [member(H1, "赵一", person_id("19700707", 31), "之子")]))

    assert row_errors(job) == [(MEMBER_SHEET, 2, "户编号", f"户编号 {H1} 已在其他地区登记，不能在此导入。")]
    assert registry_snapshot() == before


def test_an_id_number_registered_in_another_region_is_rejected_without_saying_where(alice, bob):
    import_file(alice, wang_only())
    before = registry_snapshot()
    number = "6109021022010001"
    bobs = workbook(
        [household(number, **{"村区划代码*": VILLAGE_B})],
        [member(number, "赵一", person_id("19700707", 31), "户主"), member(number, "张秀兰", WANG_SPOUSE, "配偶")],
    )

    job = start(bob, bobs)

    assert row_errors(job) == [
        (
            MEMBER_SHEET,
            3,
            "证件号码",
            "该证件号码已在其他地区登记，同一人只能登记一次；如该成员迁入本户，请联系其原户所在地办理成员转移。",
        )
    ]
    assert registry_snapshot() == before


def test_the_read_only_supervisor_cannot_start_an_import(sue):
    with pytest.raises(ImportRefused) as refused:
        start(sue, wang_only())

    assert refused.value.message == READ_ONLY
    assert not refused.value.conflict
    assert ImportJob.objects.count() == 0


# --- duplicates and references -------------------------------------------------------------


def test_an_id_number_twice_in_the_file_is_rejected_on_the_second_row(alice):
    members = [*wang_family(), *liu_family()]
    members[4] = {**members[4], "证件号码*": WANG_SON}

    job = start(alice, workbook([household(H1), household(H2)], members))

    assert row_errors(job) == [(MEMBER_SHEET, 6, "证件号码", "证件号码与第4行重复，同一人只能登记一次。")]
    assert job.counts == counts({"new": 1, "held": 1}, {"new": 3, "rejected": 1, "held": 1})
    assert Member.objects.count() == 0


def test_an_id_number_already_registered_in_the_users_region_names_its_household(alice):
    import_file(alice, wang_only())
    before = registry_snapshot()
    members = liu_family()
    members[1] = {**members[1], "证件号码*": WANG_SON}

    job = start(alice, workbook([household(H2)], members))

    assert row_errors(job) == [
        (
            MEMBER_SHEET,
            3,
            "证件号码",
            f"该证件号码已登记在户 {H1}（王小明），同一人只能登记一次；如该成员迁入本户，请使用成员转移。",
        )
    ]
    assert registry_snapshot() == before


def test_a_household_number_twice_in_the_file_is_rejected(alice):
    job = start(alice, workbook([household(H1), household(H1, **{"村民小组*": 9})], wang_family()))

    assert row_errors(job) == [(HOUSEHOLD_SHEET, 3, "户编号", "户编号与第2行重复。")]
    assert Household.objects.count() == 0


def test_a_member_row_for_a_household_number_that_exists_nowhere_is_rejected(alice):
    members = [*wang_family(), member("6109021012019999", "无户人", person_id("19800808", 41), "户主")]

    job = start(alice, workbook([household(H1)], members))

    assert row_errors(job) == [
        (
            MEMBER_SHEET,
            5,
            "户编号",
            "户编号 6109021012019999 在“户信息”表和系统中都不存在，请先在“户信息”表中填写该户。",
        )
    ]
    assert job.counts == counts({"new": 1}, {"new": 3, "rejected": 1})
    assert Household.objects.count() == 0


def test_a_new_household_without_members_has_no_head(alice):
    job = start(alice, workbook([household(H1), household(H2)], wang_family()))

    assert row_errors(job) == [(HOUSEHOLD_SHEET, 3, "户编号", "每户必须有且只有一名户主，当前没有户主。")]


# --- check, confirm, apply ------------------------------------------------------------------


def test_a_registry_change_between_check_and_confirm_rejects_the_file_and_writes_nothing(alice):
    job = start(alice, both_families())
    assert job.status == ImportStatus.READY
    # Someone registers 刘小红 in another household through the form meanwhile.
    other = services.household_create(
        by=alice,
        data={
            "number": "6109021012010099",
            "village": VILLAGE_A,
            "group_no": 1,
            "identification_standard": "national",
            "attribute": "general",
            "main_cause": "illness",
            "identification_year": 2016,
            "exit_status": "not_exited",
        },
        members=[
            {
                "name": "刘小红",
                "id_number": LIU_DAUGHTER,
                "relationship": "head",
                "schooling": "primary",
                "labour_skill": "none",
                "medical_insurance": "resident",
            }
        ],
    )
    before = registry_snapshot()

    job = import_confirm(by=alice, job=job)

    assert job.status == ImportStatus.REJECTED
    assert job.message == CHANGED_BEFORE_CONFIRM
    assert row_errors(job) == [
        (
            MEMBER_SHEET,
            6,
            "证件号码",
            f"该证件号码已登记在户 {other.number}（刘小红），同一人只能登记一次；如该成员迁入本户，请使用成员转移。",
        )
    ]
    assert job.counts == counts({"new": 1, "held": 1}, {"new": 3, "rejected": 1, "held": 1})
    assert registry_snapshot() == before
    assert job.parsed_file == "" and job.error_report
    book = error_workbook(job)
    assert book[MEMBER_SHEET]["C6"].comment.text == job.errors[0]["message"]


def test_a_household_number_taken_in_another_region_between_check_and_confirm(alice, bob):
    job = start(alice, wang_only())
    # Meanwhile bob registers the same 户编号 in his village.
    import_file(
        bob,
        workbook(
            [household(H1, **{"村区划代码*": VILLAGE_B})], [member(H1, "赵一", person_id("19700707", 31), "户主")]
        ),
    )
    before = registry_snapshot()

    job = import_confirm(by=alice, job=job)

    assert job.status == ImportStatus.REJECTED
    assert row_errors(job) == [(HOUSEHOLD_SHEET, 2, "户编号", f"户编号 {H1} 已在其他地区登记，不能在此导入。")]
    assert registry_snapshot() == before


def test_confirming_twice_is_refused_as_a_conflict(alice):
    job = import_file(alice, wang_only())
    before = registry_snapshot()

    with pytest.raises(ImportRefused) as refused:
        import_confirm(by=alice, job=job)

    assert refused.value.conflict
    assert refused.value.message == "该文件已导入完成，请勿重复提交。"
    assert registry_snapshot() == before


def test_confirming_a_stale_copy_of_a_confirmed_job_is_refused(alice):
    job = start(alice, wang_only())
    stale = ImportJob.objects.get(pk=job.pk)
    import_confirm(by=alice, job=job)

    with pytest.raises(ImportRefused) as refused:
        import_confirm(by=alice, job=stale)

    assert refused.value.conflict
    assert Household.objects.count() == 1


def test_only_the_uploader_can_confirm(alice, tom):
    job = start(alice, wang_only())

    with pytest.raises(ImportRefused) as refused:
        import_confirm(by=tom, job=job)

    assert refused.value.message == "只有上传该文件的用户可以确认导入。"
    assert not refused.value.conflict
    job.refresh_from_db()
    assert (job.status, job.confirmed_by) == (ImportStatus.READY, None)
    assert Household.objects.count() == 0
    assert import_confirm(by=alice, job=job).status == ImportStatus.APPLIED


def test_running_check_and_apply_again_is_harmless(alice):
    job = import_file(alice, both_families())
    before = registry_snapshot()
    fields = ImportJob.objects.filter(pk=job.pk).values().get()

    import_check(job.pk)
    import_apply(job.pk)
    import_check(job.pk)

    assert ImportJob.objects.filter(pk=job.pk).values().get() == fields
    assert registry_snapshot() == before


def test_check_again_on_a_ready_or_rejected_job_changes_nothing(alice):
    ready = start(alice, wang_only())
    rejected = start(alice, workbook([household(H1, **{"识别标准*": "国标"})], wang_family()))
    rows = {job.pk: ImportJob.objects.filter(pk=job.pk).values().get() for job in (ready, rejected)}

    for job in (ready, rejected):
        import_check(job.pk)
        import_apply(job.pk)  # not confirmed: nothing to apply

    assert {pk: ImportJob.objects.filter(pk=pk).values().get() for pk in rows} == rows
    assert Household.objects.count() == 0


# --- files that cannot be imported -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("户信息.xls", "“户信息.xls”是旧版 .xls 格式，请在 Excel 中“另存为”Excel 工作簿（.xlsx）后上传。"),
        ("户信息.XLS", "“户信息.XLS”是旧版 .xls 格式，请在 Excel 中“另存为”Excel 工作簿（.xlsx）后上传。"),
        ("户信息.csv", "不能导入 CSV 文件，请下载导入模板（.xlsx），将数据填入模板后上传。"),
        ("户信息.xlsm", "只能上传 Excel 工作簿（.xlsx）文件，请使用系统提供的导入模板。"),
        ("户信息.txt", "只能上传 Excel 工作簿（.xlsx）文件，请使用系统提供的导入模板。"),
        ("户信息", "只能上传 Excel 工作簿（.xlsx）文件，请使用系统提供的导入模板。"),
    ],
)
def test_files_that_are_not_xlsx_by_name_are_refused_with_a_message(alice, name, message):
    with pytest.raises(ImportRefused) as refused:
        start(alice, wang_only(), name=name)

    assert refused.value.message == message
    assert ImportJob.objects.count() == 0


def test_an_empty_file_is_refused(alice):
    with pytest.raises(ImportRefused) as refused:
        start(alice, b"")

    assert refused.value.message == "上传的文件是空的，请重新选择文件。"
    assert ImportJob.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused_with_both_sizes(alice, settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024

    with pytest.raises(ImportRefused) as refused:
        start(alice, b"PK\x03\x04" + b"\x00" * (1024 * 1024 + 512 * 1024 - 4))

    assert refused.value.message == "文件大小为 1.5 MB，超过 1.0 MB 的上限，请拆分后分批导入。"
    assert ImportJob.objects.count() == 0


def test_a_file_at_the_size_limit_is_accepted(alice, settings):
    content = wang_only()
    settings.IMPORT_MAX_BYTES = len(content)

    assert import_file(alice, content).file_size == len(content)


@pytest.mark.parametrize("sheet", [HOUSEHOLD_SHEET, MEMBER_SHEET])
def test_a_sheet_over_the_row_limit_fails_with_a_message_and_stores_nothing(alice, monkeypatch, sheet):
    monkeypatch.setattr(importing, "MAX_ROWS", 2)
    content = (
        both_families()
        if sheet == MEMBER_SHEET
        else workbook([household(H1), household(H2), household("6109021012010003")], wang_family())
    )

    job = start(alice, content)

    assert job.status == ImportStatus.FAILED
    assert job.message == f"“{sheet}”表超过2行数据的上限，请拆分后分批导入。"
    assert (job.errors, job.error_report) == ([], "")
    assert Household.objects.count() == 0


def _ole_file() -> bytes:
    """What a password-protected .xlsx (or a real .xls) starts with: an OLE2 container."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4088


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _broken_sheet_xml() -> bytes:
    """A real workbook whose members sheet XML is cut off half way."""
    source = zipfile.ZipFile(io.BytesIO(wang_only()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = data[: len(data) // 2]
            target.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(_ole_file(), NOT_XLSX, id="password-protected-or-xls-renamed"),
        pytest.param(b"\x00\x01garbage" * 300, NOT_XLSX, id="random-bytes"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 200, NOT_XLSX, id="broken-zip"),
        pytest.param("户编号,姓名\n6109021012010001,王建国\n".encode(), NOT_XLSX, id="csv-renamed"),
        pytest.param(_zip_without_workbook(), NOT_XLSX, id="docx-like-zip"),
        pytest.param(_broken_sheet_xml(), DAMAGED, id="truncated-sheet-xml"),
        pytest.param(
            workbook(
                [household(H1)],
                wang_family(),
                edit=lambda book: (
                    setattr(book[MEMBER_SHEET], "title", "成员"),
                    setattr(book[HOUSEHOLD_SHEET], "title", "户"),
                ),
            ),
            "文件中没有“户信息”或“成员信息”工作表，请使用系统提供的导入模板或系统导出的台账。",
            id="missing-sheet",
        ),
        pytest.param(
            workbook([household(H1)], wang_family(), edit=lambda book: book[MEMBER_SHEET].delete_cols(3)),
            "“成员信息”表缺少必填列：证件号码。请使用系统提供的导入模板。",
            id="missing-required-column",
        ),
    ],
)
def test_an_unreadable_xlsx_fails_with_a_chinese_message_never_an_error(alice, content, message):
    job = start(alice, content)

    assert job.status == ImportStatus.FAILED
    assert job.message == message
    assert (job.counts, job.errors, job.error_report, job.progress) == ({}, [], "", 100)
    assert job.finished_at is not None
    assert Household.objects.count() == 0
    with pytest.raises(ImportRefused) as refused:
        import_confirm(by=alice, job=job)
    assert refused.value.message == "该文件无法导入，请重新上传。"


# --- the Celery path ------------------------------------------------------------------------


@pytest.fixture
def celery_eager():
    """Run enqueued tasks in the test's process, recording their names; restore after."""
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    ran: list[str] = []

    def record(sender=None, **kwargs):
        ran.append(sender.name)

    task_prerun.connect(record, weak=False)
    try:
        yield ran
    finally:
        task_prerun.disconnect(record)
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def test_a_large_file_is_checked_and_applied_by_celery_after_commit(
    alice, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.IMPORT_INLINE_MAX_BYTES = 0

    with django_capture_on_commit_callbacks() as callbacks:
        job = start(alice, both_families())
    assert job.status == ImportStatus.QUEUED
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.QUEUED
    assert (len(callbacks), celery_eager) == (1, [])

    callbacks[0]()

    assert celery_eager == ["imports.check"]
    job.refresh_from_db()
    assert (job.status, job.counts) == (ImportStatus.READY, counts({"new": 2}, {"new": 5}))
    assert Household.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = import_confirm(by=alice, job=job)
        assert job.status == ImportStatus.APPLYING
        assert Household.objects.count() == 0

    assert len(callbacks) == 1
    assert celery_eager == ["imports.check", "imports.apply"]
    job.refresh_from_db()
    assert (job.status, job.confirmed_by, job.parsed_file) == (ImportStatus.APPLIED, alice, "")
    assert Household.objects.count() == 2 and Member.objects.count() == 5


def test_a_task_delivered_twice_does_the_work_once(alice, settings, celery_eager, django_capture_on_commit_callbacks):
    settings.IMPORT_INLINE_MAX_BYTES = 0
    with django_capture_on_commit_callbacks() as callbacks:
        job = start(alice, wang_only())
    callbacks[0]()
    callbacks[0]()
    with django_capture_on_commit_callbacks() as callbacks:
        import_confirm(by=alice, job=job)
    callbacks[0]()
    before = registry_snapshot()
    callbacks[0]()

    assert celery_eager == ["imports.check", "imports.check", "imports.apply", "imports.apply"]
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.APPLIED
    assert registry_snapshot() == before
    assert Member.objects.count() == 3


def test_a_queued_file_that_cannot_be_read_fails_in_the_task(
    alice, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.IMPORT_INLINE_MAX_BYTES = 0

    with django_capture_on_commit_callbacks(execute=True):
        job = start(alice, _ole_file())

    job.refresh_from_db()
    assert (job.status, job.message) == (ImportStatus.FAILED, NOT_XLSX)


# --- the error workbook ------------------------------------------------------------------------

ID_BAD = LIU_DAUGHTER[:17] + ("1" if LIU_DAUGHTER[17] != "1" else "2")
CHECKSUM = "证件号码校验位错误，请核对是否录入有误。"
PHONE = "联系电话应为11位手机号码（1开头）。"


@pytest.fixture(params=["full-copy", "streamed"])
def mode(request, monkeypatch):
    if request.param == "streamed":
        monkeypatch.setattr(errorbook, "FULL_COPY_MAX_BYTES", 0)
    return request.param


def bad_file() -> bytes:
    """Both families; row 2 of 户信息 has a 10-digit phone, row 6 of 成员信息 a wrong ID
    check digit; plus a sheet of the cadre's own notes."""
    members = [*wang_family(), *liu_family()]
    members[4] = {**members[4], "证件号码*": ID_BAD}

    def notes(book):
        sheet = book.create_sheet("备注")
        sheet.append(["说明", "2020年10月13日 村委会核对"])
        sheet.append(["户数", 2])

    return workbook([household(H1, 联系电话="1381234567"), household(H2)], members, edit=notes)


def test_the_error_workbook_marks_each_bad_cell_and_explains_it_on_its_row(alice, mode):
    content = bad_file()
    job = start(alice, content)
    assert row_errors(job) == [(HOUSEHOLD_SHEET, 2, "联系电话", PHONE), (MEMBER_SHEET, 6, "证件号码", CHECKSUM)]

    book = error_workbook(job)
    original = load_workbook(io.BytesIO(content))

    assert book.sheetnames == [HOUSEHOLD_SHEET, MEMBER_SHEET, "备注"]
    for name, bad, header, message in (
        (HOUSEHOLD_SHEET, "D2", "联系电话", PHONE),
        (MEMBER_SHEET, "C6", "证件号码", CHECKSUM),
    ):
        sheet = book[name]
        cell = sheet[bad]
        assert cell.fill.fgColor.rgb == ERROR_FILL
        assert cell.comment.text == message
        note = header_column(sheet, "错误说明")
        assert note == original[name].max_column + 1
        assert sheet.cell(row=cell.row, column=note).value == f"{header}：{message}"
        # Only the bad cell is marked and only its row explained.
        marked = {c.coordinate for row in sheet.iter_rows() for c in row if c.fill.fgColor.rgb == ERROR_FILL}
        assert marked == {bad, sheet.cell(row=1, column=note).coordinate}
        notes = [r for r in range(2, sheet.max_row + 1) if sheet.cell(row=r, column=note).value]
        assert notes == [cell.row]
        # Every value the cadre typed is still there.
        for row in original[name].iter_rows():
            for source in row:
                assert sheet[source.coordinate].value == source.value, source.coordinate
    assert [[c.value for c in row] for row in book["备注"].iter_rows()] == [
        ["说明", "2020年10月13日 村委会核对"],
        ["户数", 2],
    ]


def test_the_streamed_error_workbook_keeps_id_and_code_columns_as_text(alice, monkeypatch):
    monkeypatch.setattr(errorbook, "FULL_COPY_MAX_BYTES", 0)
    job = start(alice, bad_file())

    book = error_workbook(job)

    members, households = book[MEMBER_SHEET], book[HOUSEHOLD_SHEET]
    for row in range(1, 7):
        assert members[f"C{row}"].number_format == "@"  # 证件号码
        assert members[f"A{row}"].number_format == "@"  # 户编号
    assert [members[f"C{row}"].value for row in range(2, 7)] == [WANG_HEAD, WANG_SPOUSE, WANG_SON, LIU_HEAD, ID_BAD]
    for column in ("A", "B", "D", "N"):  # 户编号, 村区划代码, 联系电话, 帮扶责任人电话
        assert households[f"{column}2"].number_format == "@"
    assert households["D2"].value == "1381234567"
    assert members["B2"].number_format == "General"  # 姓名 is not a text column


def test_the_full_copy_keeps_the_templates_sheets_dropdowns_and_formats(alice):
    """A file filled in from the downloaded template comes back with its instructions,
    hidden options sheet, dropdowns and text-formatted ID column."""
    template = load_workbook(io.BytesIO(household_template(villages=[(VILLAGE_A, "西关村")])))
    members = [*wang_family(), *liu_family()]
    members[4] = {**members[4], "证件号码*": ID_BAD}
    for name, rows in ((HOUSEHOLD_SHEET, [household(H1), household(H2)]), (MEMBER_SHEET, members)):
        sheet = template[name]
        headers = [cell.value for cell in sheet[1]]
        for index, row in enumerate(rows, start=2):
            for column, header in enumerate(headers, start=1):
                sheet.cell(row=index, column=column, value=row.get(header))
    content = save(template)

    job = start(alice, content)
    book = error_workbook(job)

    assert row_errors(job) == [(MEMBER_SHEET, 6, "证件号码", CHECKSUM)]
    assert book.sheetnames == template.sheetnames
    assert book["选项"].sheet_state == "hidden"
    assert book[MEMBER_SHEET]["C6"].fill.fgColor.rgb == ERROR_FILL
    assert book[MEMBER_SHEET]["C6"].number_format == "@"
    assert len(book[MEMBER_SHEET].data_validations.dataValidation) == len(
        template[MEMBER_SHEET].data_validations.dataValidation
    )
    assert book[MEMBER_SHEET]["X1"].value == "错误说明"
    assert book[MEMBER_SHEET]["X6"].value == f"证件号码：{CHECKSUM}"
    assert header_column(book[HOUSEHOLD_SHEET], "错误说明") is None  # no error there
    assert book.active.title == MEMBER_SHEET


def test_the_error_workbook_follows_a_header_under_a_title(alice, mode):
    def title(book):
        sheet = book[MEMBER_SHEET]
        sheet.insert_rows(1, 2)
        sheet["A1"] = "汉滨区贫困户家庭成员信息表"
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=8)

    members = [*wang_family(), *liu_family()]
    members[4] = {**members[4], "证件号码*": ID_BAD}
    job = start(alice, workbook([household(H1), household(H2)], members, edit=title))
    assert row_errors(job) == [(MEMBER_SHEET, 8, "证件号码", CHECKSUM)]

    sheet = error_workbook(job)[MEMBER_SHEET]

    assert sheet["C8"].fill.fgColor.rgb == ERROR_FILL
    assert sheet["C8"].comment.text == CHECKSUM
    note = header_column(sheet, "错误说明", row=3)
    assert note is not None and header_column(sheet, "错误说明", row=1) is None
    assert sheet.cell(row=8, column=note).value == f"证件号码：{CHECKSUM}"


def test_the_error_workbook_with_several_errors_on_one_row(alice, mode):
    members = wang_family()
    members[0] = {**members[0], "政治面貌": "党员", "务工月数": 13}
    job = start(alice, workbook([household(H1)], members))
    assert row_errors(job) == [
        (MEMBER_SHEET, 2, "政治面貌", "“党员”不是有效的选项，可选：中共党员、中共预备党员、共青团员、群众"),
        (MEMBER_SHEET, 2, "务工月数", "务工月数应在0到12之间。"),
    ]

    sheet = error_workbook(job)[MEMBER_SHEET]

    assert sheet["F2"].comment.text == job.errors[0]["message"]
    assert sheet["Q2"].comment.text == job.errors[1]["message"]
    note = header_column(sheet, "错误说明")
    assert sheet.cell(row=2, column=note).value == "；".join(f"{e['column']}：{e['message']}" for e in job.errors)


def test_the_fixed_error_workbook_imports_and_its_note_column_is_ignored(alice, mode):
    job = start(alice, bad_file())
    book = error_workbook(job)
    book[HOUSEHOLD_SHEET]["D2"] = "13812345678"
    book[MEMBER_SHEET]["C6"] = LIU_DAUGHTER

    job = import_file(alice, save(book))

    assert job.counts == counts({"new": 2}, {"new": 5})
    assert stored_household(H1)["phone"] == "13812345678"
    assert stored_members(H2)[1]["id_number"] == LIU_DAUGHTER
    assert stored_members(H1) == WANG_STORED
    assert not any("错误说明" in str(v) or "校验位" in str(v) for m in Member.objects.values() for v in m.values())


@pytest.mark.parametrize(
    "mode",
    [
        "full-copy",
        "streamed",
    ],
)
def test_the_note_stays_under_its_header_when_a_later_row_is_wider(alice, monkeypatch, mode):
    if mode == "streamed":
        monkeypatch.setattr(errorbook, "FULL_COPY_MAX_BYTES", 0)
    members = [*wang_family(), BLANK, BLANK, *liu_family()]
    members[6] = {**members[6], "证件号码*": ID_BAD}

    def scribble(book):
        sheet = book[MEMBER_SHEET]
        sheet.cell(row=8, column=sheet.max_column + 1, value="已核实")  # no header above it

    job = start(alice, workbook([household(H1), household(H2)], members, edit=scribble))
    assert row_errors(job) == [(MEMBER_SHEET, 8, "证件号码", CHECKSUM)]

    sheet = error_workbook(job)[MEMBER_SHEET]

    note = header_column(sheet, "错误说明")
    assert sheet.cell(row=8, column=note).value == f"证件号码：{CHECKSUM}"


# --- bugs found ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(610902101201000101, id="number-cell-of-18-digits"),
        pytest.param("6.10902E+17", id="scientific-text"),
    ],
)
def test_a_household_number_excel_mangled_is_rejected(alice, cell):
    content = workbook([household(cell)], [member(cell, "王建国", WANG_HEAD, "户主")])

    job = start(alice, content)

    assert job.status == ImportStatus.REJECTED
    assert (HOUSEHOLD_SHEET, 2, "户编号") in [error[:3] for error in row_errors(job)]


@pytest.mark.parametrize(
    ("sheet", "cells", "column"),
    [
        pytest.param(MEMBER_SHEET, {"姓名*": "王" * 51}, "姓名", id="name-over-50"),
        pytest.param(MEMBER_SHEET, {"务工单位": "厂" * 101}, "务工单位", id="employer-over-100"),
        pytest.param(MEMBER_SHEET, {"民族": "族" * 21}, "民族", id="ethnicity-over-20"),
        pytest.param(HOUSEHOLD_SHEET, {"帮扶责任人": "帮" * 51}, "帮扶责任人", id="helper-over-50"),
        pytest.param(HOUSEHOLD_SHEET, {"村民小组*": 40000}, "村民小组", id="group-over-smallint"),
    ],
)
def test_a_value_the_model_cannot_hold_is_rejected_at_the_check(alice, sheet, cells, column):
    households, members = [household(H1)], wang_family()
    if sheet == HOUSEHOLD_SHEET:
        households[0] = {**households[0], **cells}
    else:
        members[0] = {**members[0], **cells}

    job = start(alice, workbook(households, members))

    assert job.status == ImportStatus.REJECTED
    assert [error[:3] for error in row_errors(job)] == [(sheet, 2, column)]


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        pytest.param({"识别年度*": 0}, "识别年度", id="identification-year-0"),
        pytest.param({"脱贫年度": 0}, "脱贫年度", id="exit-year-0-not-exited"),
    ],
)
def test_a_zero_year_is_rejected_at_the_check(alice, cells, column):
    job = start(alice, workbook([household(H1, **cells)], wang_family()))

    assert job.status == ImportStatus.REJECTED
    assert [error[:3] for error in row_errors(job)] == [(HOUSEHOLD_SHEET, 2, column)]


def test_a_write_the_database_refuses_ends_failed_and_writes_nothing(alice, monkeypatch):
    job = start(alice, both_families())
    # Another cadre's transaction registers 刘小红 after the re-plan read the registry:
    # the plan cannot see her, the database's unique index does.
    HouseholdFactory(number="6109021012010099")
    MemberFactory(household=Household.objects.get(number="6109021012010099"), id_number=LIU_DAUGHTER)
    monkeypatch.setattr(PreloadedLookups, "id_clashes", lambda self, numbers, *, keep_pks: [])
    before = registry_snapshot()

    job = import_confirm(by=alice, job=job)

    assert job.status == ImportStatus.FAILED
    assert job.message == "保存失败：户编号或证件号码刚被他人登记，未导入任何数据。请重新上传该文件核对。"
    assert registry_snapshot() == before


def test_a_second_report_shows_only_the_errors_left(alice, mode):
    job = start(alice, bad_file())
    book = error_workbook(job)
    book[MEMBER_SHEET]["C6"] = LIU_DAUGHTER  # fix one of the two errors

    job = start(alice, save(book))
    assert row_errors(job) == [(HOUSEHOLD_SHEET, 2, "联系电话", PHONE)]
    book = error_workbook(job)

    households, members = book[HOUSEHOLD_SHEET], book[MEMBER_SHEET]
    assert [cell.value for cell in households[1]].count("错误说明") == 1
    assert members["C6"].fill.fgColor.rgb != ERROR_FILL and members["C6"].comment is None
    assert not any("校验位" in str(cell.value) for cell in members[6])


def test_formulas_in_the_upload_come_back_as_text_in_the_error_workbook(alice, mode):
    """The report goes to town and county officials: what the uploader typed as a
    formula must reach them as inert text (issue 16), in the bad cell, another cell and
    a sheet of the cadre's own."""
    hyperlink = '=HYPERLINK("http://example.org/x","点我")'
    members = [*wang_family(), *liu_family()]
    members[4] = {**members[4], "证件号码*": ID_BAD}

    def notes(book):
        sheet = book.create_sheet("备注")
        sheet.append(["合计", "=1+1"])

    content = workbook([household(H1, 联系电话="=1+1", 备注=hyperlink), household(H2)], members, edit=notes)
    job = start(alice, content)
    assert job.status == ImportStatus.REJECTED

    book = error_workbook(job)
    formulas = [
        (sheet.title, cell.coordinate)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    households_sheet = book[HOUSEHOLD_SHEET]
    values = {cell.value for row in households_sheet.iter_rows(min_row=2, max_row=2) for cell in row}
    assert {"=1+1", hyperlink} <= values
    assert book["备注"]["B1"].value == "=1+1" and book["备注"]["B1"].data_type == "s"
