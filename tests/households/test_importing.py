"""The parsing layer of the registry import: real .xlsx files built with openpyxl, read
back through ``read_workbook``; and the cell parsers on their own."""

import datetime
import io
import random
import zipfile

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook, load_workbook
from stdnum.cn import ric

from households import importing
from households.excel import HOUSEHOLD_COLUMNS, HOUSEHOLD_SHEET, MEMBER_COLUMNS, MEMBER_SHEET, household_template
from households.importing import (
    ID_LOST_DIGITS,
    NOT_XLSX,
    ImportFileError,
    RowError,
    normalize_header,
    parse_date,
    parse_id_cell,
    parse_integer,
    parse_yes_no,
    read_workbook,
)
from households.models import Relationship

ENCRYPTED = "文件已加密或不是 .xlsx 格式，请另存为 Excel 工作簿（.xlsx）后上传"


def id_number(serial: int = 1, *, check: str | None = None) -> str:
    """A valid ID born 1980-05-17 in 610902; with ``check``, the first whose check digit is it."""
    while True:
        body = f"61090219800517{serial:03d}"
        digit = ric.calc_check_digit(body + "0")
        if check is None or digit == check:
            return body + digit
        serial += 1


HEAD_ID = id_number(1)
X_ID = id_number(100, check="X")

HOUSEHOLD_ROW = {
    "户编号*": "6109021012010001",
    "村区划代码*": "610902101201",
    "村民小组*": 3,
    "联系电话": "13800138000",
    "识别标准*": "国家标准",
    "贫困户属性*": "一般贫困户",
    "主要致贫原因*": "因病",
    "其他致贫原因": "缺技术、缺资金",
    "识别年度*": 2014,
    "易地扶贫搬迁户": "是",
    "搬迁方式": "集中安置",
    "帮扶责任人": "李四",
    "帮扶责任人单位": "汉滨区农业局",
    "帮扶责任人电话": "13900139000",
    "失联人员": "否",
    "刑满释放人员": None,
    "特殊情况说明": None,
}
MEMBER_ROW = {
    "户编号*": "6109021012010001",
    "姓名*": "王建国",
    "证件号码*": HEAD_ID,
    "与户主关系*": "户主",
    "民族": "汉族",
    "政治面貌": "群众",
    "文化程度": "初中",
    "在校生状况": None,
    "长期慢性病": "否",
    "患有大病": "否",
    "残疾": "否",
    "残疾类别": None,
    "残疾等级": None,
    "劳动技能*": "普通劳动力",
    "务工状况": "省外务工",
    "务工地点": "广东省深圳市",
    "务工月数": 10,
    "务工单位": "某电子厂",
    "医保*": "城乡居民基本医疗保险",
    "大病保险": "是",
    "家庭医生签约": "是",
    "低保": "否",
    "特困": "否",
}
HOUSEHOLD_PARSED = {
    "number": "6109021012010001",
    "village": "610902101201",
    "group_no": 3,
    "phone": "13800138000",
    "identification_standard": "national",
    "attribute": "general",
    "main_cause": "illness",
    "other_causes": ["lack_skills", "lack_funds"],
    "identification_year": 2014,
    "is_relocated": True,
    "relocation_mode": "centralised",
    "helper_name": "李四",
    "helper_unit": "汉滨区农业局",
    "helper_phone": "13900139000",
    "lost_contact": False,
    "released_prisoner": False,
    "special_notes": "",
}
MEMBER_PARSED = {
    "household": "6109021012010001",
    "name": "王建国",
    "id_number": HEAD_ID,
    "relationship": "head",
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


def build(households=(HOUSEHOLD_ROW,), members=(MEMBER_ROW,), *, sheets=(HOUSEHOLD_SHEET, MEMBER_SHEET), edit=None):
    """An .xlsx in a BytesIO: header row 1, then one row per dict (header → cell value).
    ``edit(workbook)`` may change the sheets before saving."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in ((HOUSEHOLD_SHEET, households), (MEMBER_SHEET, members)):
        if name not in sheets:
            continue
        sheet = workbook.create_sheet(name)
        headers = list(rows[0]) if rows else []
        sheet.append(headers)
        for row in rows:
            sheet.append([row.get(header) for header in headers])
    if edit is not None:
        edit(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def parse_members(**cells):
    """Read a workbook whose single member row has ``cells`` (header → value) changed."""
    row = {**MEMBER_ROW, **cells}
    return read_workbook(build(members=(row,)))


def member_errors(**cells) -> list[str]:
    return [error.message for error in parse_members(**cells).errors]


def parse_households(**cells):
    return read_workbook(build(households=({**HOUSEHOLD_ROW, **cells},)))


# --- the whole file ------------------------------------------------------------------


def test_reads_a_template_shaped_workbook_into_model_values():
    parsed = read_workbook(build())
    assert parsed.errors == []
    assert parsed.households == [{"row_number": 2, **HOUSEHOLD_PARSED}]
    assert parsed.members == [{"row_number": 2, **MEMBER_PARSED}]


def test_reads_from_a_path(tmp_path):
    path = tmp_path / "import.xlsx"
    path.write_bytes(build().getvalue())
    assert read_workbook(path).members[0]["id_number"] == HEAD_ID
    assert read_workbook(str(path)).households[0]["number"] == "6109021012010001"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"\xd0\xcf\x11\xe0" + b"\x00" * 2000, id="xls-or-encrypted"),
        pytest.param("户编号,姓名\n6109021012010001,王建国\n".encode(), id="csv"),
        pytest.param(random.Random(0).randbytes(4096), id="random-bytes"),
        pytest.param(b"", id="empty"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 100, id="broken-zip"),
    ],
)
def test_a_file_that_is_not_xlsx_is_refused_with_a_chinese_message(content):
    with pytest.raises(ImportFileError) as raised:
        read_workbook(io.BytesIO(content))
    assert raised.value.message == ENCRYPTED == NOT_XLSX


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    buffer.seek(0)
    with pytest.raises(ImportFileError, match="不是 .xlsx 格式"):
        read_workbook(buffer)


@pytest.mark.parametrize("alone", [HOUSEHOLD_SHEET, MEMBER_SHEET])
def test_either_sheet_is_read_on_its_own(alone):
    """A corrected 户台账 or 成员台账 is uploaded back on its own (issue 18)."""
    parsed = read_workbook(build(sheets=(alone,)))
    assert parsed.errors == []
    assert (len(parsed.households), len(parsed.members)) == ((1, 0) if alone == HOUSEHOLD_SHEET else (0, 1))


def test_a_file_with_neither_sheet_names_both():
    def rename(workbook):
        workbook[HOUSEHOLD_SHEET].title = "Sheet1"
        workbook[MEMBER_SHEET].title = "Sheet2"

    with pytest.raises(ImportFileError) as raised:
        read_workbook(build(edit=rename))
    assert raised.value.message == "文件中没有“户信息”或“成员信息”工作表，请使用系统提供的导入模板或系统导出的台账。"


def test_a_masked_id_number_says_why_it_cannot_be_matched():
    masked = id_number(3)[:6] + "********" + id_number(3)[-4:]
    errors = member_errors(**{"证件号码*": masked})
    assert errors == [importing.ID_MASKED]


def test_a_missing_required_header_is_named():
    row = {header: value for header, value in MEMBER_ROW.items() if header not in ("证件号码*", "医保*")}
    with pytest.raises(ImportFileError) as raised:
        read_workbook(build(members=(row,)))
    assert raised.value.message == "“成员信息”表缺少必填列：证件号码、医保。请使用系统提供的导入模板。"


def test_a_missing_optional_header_is_fine_and_the_field_is_absent():
    row = {header: value for header, value in MEMBER_ROW.items() if header != "民族"}
    parsed = read_workbook(build(members=(row,)))
    assert parsed.errors == []
    assert "ethnicity" not in parsed.members[0]


def test_headers_without_star_with_spaces_newlines_and_full_width_are_recognised():
    renamed = {
        "户编号*": " 户编号 ",
        "姓名*": "姓名",
        "证件号码*": "证件\n号码＊",
        "与户主关系*": "与户主关系 *",
        "劳动技能*": "\u3000劳动技能*\u3000",
        "医保*": "医保",
    }
    row = {renamed.get(header, header): value for header, value in MEMBER_ROW.items()}
    parsed = read_workbook(build(members=(row,)))
    assert parsed.errors == []
    assert parsed.members == [{"row_number": 2, **MEMBER_PARSED}]


def test_normalize_header():
    assert normalize_header(" 证件号码＊\n") == "证件号码"
    assert normalize_header("与户主\n关系*") == "与户主关系"
    assert normalize_header(None) == ""


def test_header_on_row_3_under_a_merged_title_with_extra_and_merged_header_cells():
    headers = list(MEMBER_ROW)

    def layout(workbook):
        sheet = workbook[MEMBER_SHEET]
        sheet.delete_rows(1, sheet.max_row)
        sheet.cell(row=1, column=1, value="汉滨区贫困户家庭成员信息表")
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers) + 2)
        sheet.cell(row=2, column=1, value="填表单位：某某村")
        for col, header in enumerate(headers, start=1):
            sheet.cell(row=3, column=col, value=header)
        # An unknown column in the middle of nothing, and a merged header spanning two columns.
        sheet.cell(row=3, column=len(headers) + 1, value="备注")
        sheet.merge_cells(start_row=3, start_column=len(headers) + 1, end_row=3, end_column=len(headers) + 2)
        for col, header in enumerate(headers, start=1):
            sheet.cell(row=4, column=col, value=MEMBER_ROW[header])
        sheet.cell(row=4, column=len(headers) + 1, value="随便写点什么")
        second = {**MEMBER_ROW, "姓名*": "张秀兰", "证件号码*": id_number(2), "与户主关系*": "配偶"}
        for col, header in enumerate(headers, start=1):
            sheet.cell(row=6, column=col, value=second[header])

    parsed = read_workbook(build(edit=layout))
    assert parsed.errors == []
    assert [member["row_number"] for member in parsed.members] == [4, 6]
    assert parsed.members[0] == {"row_number": 4, **MEMBER_PARSED}
    assert parsed.members[1]["name"] == "张秀兰"
    assert parsed.members[1]["relationship"] == "spouse"
    assert "备注" not in parsed.members[0]


def test_extra_unknown_columns_are_ignored():
    row = {**MEMBER_ROW, "备注": "外出", "性别": "男"}
    parsed = read_workbook(build(members=(row,)))
    assert parsed.errors == []
    assert parsed.members == [{"row_number": 2, **MEMBER_PARSED}]


def test_blank_rows_are_skipped_and_row_numbers_are_excel_rows():
    blank = dict.fromkeys(MEMBER_ROW)
    spaces = dict.fromkeys(MEMBER_ROW, "  ")
    second = {**MEMBER_ROW, "姓名*": "张秀兰", "证件号码*": "bad", "与户主关系*": "配偶"}
    parsed = read_workbook(build(members=(MEMBER_ROW, blank, spaces, second)))
    assert [member["row_number"] for member in parsed.members] == [2, 5]
    assert parsed.errors == [RowError(MEMBER_SHEET, 5, "证件号码", "证件号码应为18位，当前为3位。")]
    assert "id_number" not in parsed.members[1]  # the field in error is left out


def test_too_many_rows_names_the_sheet(monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 2)
    rows = [{**MEMBER_ROW, "证件号码*": id_number(n)} for n in range(1, 4)]
    assert len(read_workbook(build(members=rows[:2])).members) == 2
    with pytest.raises(ImportFileError) as raised:
        read_workbook(build(members=rows))
    assert raised.value.message == "“成员信息”表超过2行数据的上限，请拆分后分批导入。"


def test_the_template_headers_are_all_recognised():
    """The blank template's own header row (with * on required columns) maps every column."""
    headers = {f"{c.header}*" if c.required else c.header: None for c in HOUSEHOLD_COLUMNS}
    _, mapping = importing.find_header([tuple(headers)], HOUSEHOLD_COLUMNS)
    assert list(mapping.values()) == HOUSEHOLD_COLUMNS
    headers = [f"{c.header}*" if c.required else c.header for c in MEMBER_COLUMNS]
    _, mapping = importing.find_header([tuple(headers)], MEMBER_COLUMNS)
    assert list(mapping.values()) == MEMBER_COLUMNS


# --- cells ---------------------------------------------------------------------------


def test_text_is_stripped_of_stray_and_full_width_spaces_and_full_width_alnum():
    parsed = parse_members(
        **{"姓名*": "\u3000王 建国 ", "务工地点": " 广东省\u3000深圳市 ", "务工单位": "ＡＢＣ电子厂３号"}
    )
    member = parsed.members[0]
    assert member["name"] == "王建国"
    assert member["work_place"] == "广东省 深圳市"
    assert member["employer"] == "ABC电子厂3号"


def test_code_columns_are_nfkc_and_numbers_become_text():
    parsed = parse_households(
        **{"户编号*": "６１０９０２１０１２０１０００１", "村区划代码*": 610902101201, "联系电话": 13800138000}
    )
    assert parsed.errors == []
    household = parsed.households[0]
    assert household["number"] == "6109021012010001"
    assert household["village"] == "610902101201"
    assert household["phone"] == "13800138000"


def test_phone_as_a_float_cell():
    parsed = parse_households(**{"帮扶责任人电话": 13900139000.0})
    assert parsed.households[0]["helper_phone"] == "13900139000"


def test_enumerations_map_labels_to_values_after_stripping():
    parsed = parse_members(**{"与户主关系*": " 之子\u3000", "务工状况": "乡（镇）内务工", "医保*": "未参保"})
    assert parsed.errors == []
    member = parsed.members[0]
    assert (member["relationship"], member["work_status"], member["medical_insurance"]) == (
        "son",
        "in_town",
        "uninsured",
    )


def test_an_unknown_enumeration_label_lists_the_options():
    parsed = parse_members(**{"政治面貌": "党员"})
    assert parsed.errors == [
        RowError(MEMBER_SHEET, 2, "政治面貌", "“党员”不是有效的选项，可选：中共党员、中共预备党员、共青团员、群众")
    ]
    assert "political_status" not in parsed.members[0]
    relationship = member_errors(**{"与户主关系*": "儿子"})
    assert relationship == ["“儿子”不是有效的选项，可选：" + "、".join(str(label) for label in Relationship.labels)]


def test_a_blank_optional_enumeration_is_empty():
    assert parse_members(**{"政治面貌": None}).members[0]["political_status"] == ""


def test_a_blank_required_cell_is_an_error():
    parsed = parse_members(**{"与户主关系*": "  ", "姓名*": None})
    assert parsed.errors == [
        RowError(MEMBER_SHEET, 2, "姓名", "请填写“姓名”。"),
        RowError(MEMBER_SHEET, 2, "与户主关系", "请填写“与户主关系”。"),
    ]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("y", True),
        ("N", False),
        ("n", False),
        ("1", True),
        ("0", False),
        (1, True),
        (0, False),
        (1.0, True),
        ("√", True),
        (" 是 ", True),
        (None, False),
        ("", False),
        (True, True),
        (False, False),
    ],
)
def test_yes_no(cell, expected):
    assert parse_yes_no(cell) is expected


def test_yes_no_in_a_sheet_and_an_invalid_one():
    parsed = parse_members(**{"低保": "√", "特困": "Y", "残疾": 1, "大病保险": None, "家庭医生签约": "有"})
    member = parsed.members[0]
    assert (member["is_dibao"], member["is_tekun"], member["is_disabled"], member["critical_illness_insurance"]) == (
        True,
        True,
        True,
        False,
    )
    assert parsed.errors == [RowError(MEMBER_SHEET, 2, "家庭医生签约", "“有”不是有效的选项，请填写“是”或“否”")]


@pytest.mark.parametrize(
    ("cell", "expected"), [(3, 3), (3.0, 3), ("3", 3), ("３", 3), (" 3 ", 3), ("3.0", 3), (None, None)]
)
def test_integers(cell, expected):
    assert parse_integer(cell) == expected


@pytest.mark.parametrize("cell", [3.5, "三", "3.5", True])
def test_not_an_integer(cell):
    with pytest.raises(ValidationError) as raised:
        parse_integer(cell)
    assert raised.value.messages == [f"“{cell}”不是整数"]


def test_integers_in_a_sheet():
    parsed = parse_households(**{"村民小组*": "３", "识别年度*": 2014.0, "脱贫年度": "二〇一八"})
    household = parsed.households[0]
    assert (household["group_no"], household["identification_year"]) == (3, 2014)
    assert parsed.errors == [RowError(HOUSEHOLD_SHEET, 2, "脱贫年度", "“二〇一八”不是整数")]


def test_other_causes_split_on_every_separator():
    parsed = parse_households(**{"其他致贫原因": "因病,因残，因学;因灾；缺水、缺水"})
    assert parsed.households[0]["other_causes"] == ["illness", "disability", "schooling", "disaster", "lack_water"]
    assert parse_households(**{"其他致贫原因": None}).households[0]["other_causes"] == []


def test_other_causes_with_an_unknown_label():
    parsed = parse_households(**{"其他致贫原因": "因病、没钱"})
    assert parsed.errors[0].column_header == "其他致贫原因"
    assert parsed.errors[0].message.startswith("“没钱”不是有效的选项，可选：因病、因残、")


# --- ID numbers ----------------------------------------------------------------------


def test_id_number_as_text_with_lower_x_spaces_and_full_width():
    assert X_ID.endswith("X")
    full_width = HEAD_ID.translate({ord(d): ord(d) + 0xFEE0 for d in "0123456789"})
    assert parse_members(**{"证件号码*": X_ID.lower()}).members[0]["id_number"] == X_ID
    assert parse_members(**{"证件号码*": f" {HEAD_ID[:6]} {HEAD_ID[6:]}\u3000"}).members[0]["id_number"] == HEAD_ID
    assert parse_members(**{"证件号码*": full_width}).members[0]["id_number"] == HEAD_ID


@pytest.mark.parametrize("cast", [int, float], ids=["int", "float"])
def test_id_number_as_a_number_cell_is_refused_even_when_it_passes_the_check_digit(cast):
    """Excel keeps 15 significant digits: a rounded number passes the check digit about
    one time in eleven and is then another person. So no number cell is accepted, not
    even one that (from a writer that stores big integers exactly) kept all 18 digits."""
    digits = id_number(1, check="0")
    with pytest.raises(ValidationError) as raised:
        parse_id_cell(cast(digits))
    assert raised.value.messages == [ID_LOST_DIGITS]


def test_a_rounded_id_number_that_passes_the_check_digit_is_refused():
    """The case of issue 14: the number Excel rounded to 15 digits is itself a valid ID
    (another person's), and used to be stored without a warning."""
    rounded = next(
        number for day in range(1, 29) if ric.calc_check_digit(number := f"610902198005{day:02d}0000") == "0"
    )
    assert parse_id_cell(rounded) == rounded  # as text, a valid ID number
    assert parse_members(**{"证件号码*": int(rounded)}).errors == [
        RowError(MEMBER_SHEET, 2, "证件号码", ID_LOST_DIGITS)
    ]


def test_id_number_cell_saved_as_a_number_by_excel_loses_digits():
    """openpyxl, like Excel, stores the number with 15 significant digits: the read-back
    value is no longer the ID number."""
    digits = id_number(1, check="0")
    parsed = parse_members(**{"证件号码*": int(digits)})
    assert parsed.errors == [RowError(MEMBER_SHEET, 2, "证件号码", ID_LOST_DIGITS)]


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(610902198005170000, id="int-digits-lost"),
        pytest.param(6.10902198005171e17, id="float"),
        pytest.param(610902198005, id="short-int"),
        pytest.param(6109021980.5, id="fraction"),
        pytest.param("6.10902E+17", id="scientific-text"),
        pytest.param("6.10902e+17", id="scientific-lower"),
        pytest.param("6.10902198005171E17", id="scientific-no-sign"),
    ],
)
def test_id_number_stored_as_a_number_lost_its_digits(cell):
    parsed = parse_members(**{"证件号码*": cell})
    assert parsed.errors == [RowError(MEMBER_SHEET, 2, "证件号码", ID_LOST_DIGITS)]
    assert ID_LOST_DIGITS == "证件号码被Excel按数字保存，末尾数字已丢失，请将该列设为文本后重新录入"
    assert "id_number" not in parsed.members[0]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (HEAD_ID[:17] + ("1" if HEAD_ID[17] != "1" else "2"), "证件号码校验位错误，请核对是否录入有误。"),
        ("610902198002300011", "证件号码中的出生日期 19800230 不是有效日期。"),
        ("61090219800517001", "证件号码应为18位，当前为17位。"),
    ],
)
def test_id_number_errors_come_from_parse_id_number(cell, message):
    assert member_errors(**{"证件号码*": cell}) == [message]


def test_parse_id_cell_directly():
    digits = id_number(1, check="0")
    assert parse_id_cell(digits) == digits
    with pytest.raises(ValidationError) as raised:
        parse_id_cell(float(digits))
    assert raised.value.messages == [ID_LOST_DIGITS]


# --- dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        datetime.datetime(2020, 10, 13, 0, 0),
        datetime.date(2020, 10, 13),
        44117,
        44117.0,
        "2020.10.13",
        "2020-10-13",
        "2020/10/13",
        "2020年10月13日",
        " 2020 年 10 月 13 日 ",
        "２０２０－１０－１３",
        "20201013",
        20201013,
    ],
)
def test_parse_date(cell):
    assert parse_date(cell) == datetime.date(2020, 10, 13)


def test_parse_date_short_parts_and_blank():
    assert parse_date("2020.1.3") == datetime.date(2020, 1, 3)
    assert parse_date(None) is None
    assert parse_date("  ") is None


@pytest.mark.parametrize("cell", ["2020-02-30", "去年", "13/10/2020", "2020-10", -5, 1.5e9])
def test_parse_date_errors(cell):
    with pytest.raises(ValidationError) as raised:
        parse_date(cell)
    assert raised.value.messages == [
        f"“{importing.parse_text(cell)}”不是有效的日期，请写作 2020-10-13、2020/10/13、2020.10.13 或 2020年10月13日"
    ]


def test_date_cell_read_back_from_a_workbook():
    """A real date cell comes back from read-only openpyxl as a datetime."""

    def add_date(workbook):
        workbook[MEMBER_SHEET]["Z1"] = "日期"
        workbook[MEMBER_SHEET]["Z2"] = datetime.date(2020, 10, 13)

    workbook = load_workbook(build(edit=add_date), read_only=True, data_only=True)
    value = workbook[MEMBER_SHEET]["Z2"].value
    workbook.close()
    assert parse_date(value) == datetime.date(2020, 10, 13)


def test_the_blank_template_reads_as_no_rows():
    parsed = read_workbook(io.BytesIO(household_template(villages=[("610902101201", "东坝村")])))
    assert (parsed.households, parsed.members, parsed.errors) == ([], [], [])


def test_the_sector_comparison_list_refuses_a_number_cell_in_its_id_column():
    """monitoring/sector_import.py reads its 证件号码 column with the same cell parser."""
    from monitoring.sector_import import SHEET, read_list

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append(["证件号码*", "姓名", "比对指标*", "说明"])
    sheet.append([int(id_number(1, check="0")), "王小明", "辍学", ""])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)

    parsed = read_list(buffer)

    assert parsed.errors == [RowError(SHEET, 2, "证件号码", ID_LOST_DIGITS)]


# --- rosters as counties keep them (issue 18) ---------------------------------------------------


def renamed(row: dict, names: dict) -> dict:
    return {names.get(header, header): value for header, value in row.items()}


@pytest.mark.parametrize("id_header", ["身份证号码", "身份证号", "公民身份号码"])
@pytest.mark.parametrize("group_header", ["组", "村民小组"])
def test_a_roster_s_own_header_names_are_read_as_the_template_s(id_header, group_header):
    households = (renamed(HOUSEHOLD_ROW, {"村民小组*": group_header, "村民小组": group_header}),)
    members = (renamed(MEMBER_ROW, {"证件号码*": id_header, "证件号码": id_header}),)
    assert id_header in members[0] and group_header in households[0]
    parsed = read_workbook(build(households=households, members=members))
    assert parsed.errors == []
    assert parsed.members[0]["id_number"] == read_workbook(build()).members[0]["id_number"]
    assert parsed.households[0]["group_no"] == read_workbook(build()).households[0]["group_no"]


@pytest.mark.parametrize("quote", ["'", "’", "‘", "`"])
def test_a_leading_apostrophe_is_not_part_of_a_number(quote):
    number = id_number(7)
    parsed = parse_members(**{key: quote + number for key in MEMBER_ROW if key.startswith("证件号码")})
    assert parsed.errors == []
    assert parsed.members[0]["id_number"] == number
    households = parse_households(**{key: f"{quote}{value}" for key, value in HOUSEHOLD_ROW.items()
                                     if key.startswith(("户编号", "联系电话"))})  # fmt: skip
    assert households.errors == []
    assert households.households[0]["number"] == read_workbook(build()).households[0]["number"]


@pytest.mark.parametrize(("cell", "year"), [("2016年", 2016), ("2016 年", 2016), ("2016年度", 2016), ("'2016", 2016)])
def test_a_year_written_with_its_unit_is_the_year(cell, year):
    key = next(k for k in HOUSEHOLD_ROW if k.startswith("识别年度"))
    parsed = parse_households(**{key: cell})
    assert parsed.errors == [] and parsed.households[0]["identification_year"] == year


def test_a_unit_with_nothing_before_it_is_still_refused_by_name():
    key = next(k for k in HOUSEHOLD_ROW if k.startswith("识别年度"))
    errors = [e.message for e in parse_households(**{key: "年"}).errors]
    assert errors and "不是整数" in errors[0]


def test_a_group_written_as_3组_is_group_3():
    key = next(k for k in HOUSEHOLD_ROW if k.startswith("村民小组"))
    assert parse_households(**{key: "3组"}).households[0]["group_no"] == 3
