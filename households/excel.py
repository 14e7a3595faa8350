"""The registry's Excel layout: the columns of the households and members sheets, with
DOMAIN.md §2's Chinese field names, and the blank template cadres fill in.

The column list is the contract between the template and the import pipeline (issue 4):
the importer reads the same headers, so a template and its upload never disagree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from core.exports import as_text
from households.models import (
    Education,
    ExitStatus,
    IdentificationStandard,
    LabourSkill,
    MedicalInsurance,
    PoliticalStatus,
    PovertyAttribute,
    PovertyCause,
    Relationship,
    RelocationMode,
    Schooling,
    WorkStatus,
)

YES_NO = ["是", "否"]
# Rows prepared with text format and dropdowns; Excel extends neither automatically.
TEMPLATE_ROWS = 2000


@dataclass(frozen=True)
class ExcelColumn:
    header: str
    field: str
    required: bool = False
    text: bool = False  # kept as text: ID numbers, phones, codes lose digits as numbers
    choices: type[models.TextChoices] | None = None
    yes_no: bool = False
    note: str = ""
    width: int = 12
    # Read when a file has it, left out of the blank template (脱贫状态 and 脱贫年度: the
    # registry's own ledger carries them, a new file has nothing to say about them).
    in_template: bool = True
    # Other names real rosters give the column (a county's own 花名册, older templates):
    # the importer takes them as this column.
    aliases: tuple[str, ...] = ()

    def options(self) -> list[str]:
        if self.choices is not None:
            return [str(label) for label in self.choices.labels]
        return YES_NO if self.yes_no else []


HOUSEHOLD_COLUMNS = [
    ExcelColumn("户编号", "number", required=True, text=True, width=20, aliases=("户号",)),
    ExcelColumn("村区划代码", "village", required=True, text=True, note="12位统计用区划代码，见“区划代码”表", width=15),
    ExcelColumn("村民小组", "group_no", required=True, note="数字，如 3", width=9, aliases=("组", "村民组", "组别")),
    ExcelColumn("联系电话", "phone", text=True, note="11位手机号码", width=14),
    ExcelColumn("识别标准", "identification_standard", required=True, choices=IdentificationStandard),
    ExcelColumn("贫困户属性", "attribute", required=True, choices=PovertyAttribute, width=16),
    ExcelColumn("主要致贫原因", "main_cause", required=True, choices=PovertyCause, width=16),
    ExcelColumn("其他致贫原因", "other_causes", note="可填多项，用顿号“、”分隔", width=18),
    ExcelColumn("识别年度", "identification_year", required=True, note="如 2014", width=9, aliases=("识别年份",)),
    # The exit workflow's outcome (DOMAIN.md §4): a file may carry the record's own values
    # back (a re-import of the ledger), the registry refuses any other.
    ExcelColumn("脱贫状态", "exit_status", choices=ExitStatus, in_template=False),
    ExcelColumn("脱贫年度", "exit_year", width=9, in_template=False, aliases=("脱贫年份",)),
    ExcelColumn("易地扶贫搬迁户", "is_relocated", yes_no=True),
    ExcelColumn("搬迁方式", "relocation_mode", choices=RelocationMode),
    ExcelColumn("帮扶责任人", "helper_name"),
    ExcelColumn("帮扶责任人单位", "helper_unit", width=16),
    ExcelColumn("帮扶责任人电话", "helper_phone", text=True, width=14),
    ExcelColumn("失联人员", "lost_contact", yes_no=True, width=9),
    ExcelColumn("刑满释放人员", "released_prisoner", yes_no=True),
    ExcelColumn("特殊情况说明", "special_notes", note="标记失联或刑满释放时必填", width=24),
]

MEMBER_COLUMNS = [
    ExcelColumn(
        "户编号", "household", required=True, text=True, note="与“户信息”表的户编号一致", width=20, aliases=("户号",)
    ),
    ExcelColumn("姓名", "name", required=True, width=10),
    ExcelColumn(
        "证件号码",
        "id_number",
        required=True,
        text=True,
        note="18位居民身份证号码",
        width=21,
        aliases=("身份证号码", "身份证号", "公民身份号码", "身份证件号码", "居民身份证号码"),
    ),
    ExcelColumn("与户主关系", "relationship", required=True, choices=Relationship),
    ExcelColumn("民族", "ethnicity", width=8),
    ExcelColumn("政治面貌", "political_status", choices=PoliticalStatus),
    ExcelColumn("文化程度", "education", choices=Education, note="与“在校生状况”只填一项"),
    ExcelColumn("在校生状况", "schooling", choices=Schooling, note="在校生填写", width=16),
    ExcelColumn("长期慢性病", "has_chronic_disease", yes_no=True),
    ExcelColumn("患有大病", "has_serious_illness", yes_no=True),
    ExcelColumn("残疾", "is_disabled", yes_no=True, width=8),
    ExcelColumn("残疾类别", "disability_category"),
    ExcelColumn("残疾等级", "disability_grade", note="1至4"),
    ExcelColumn("劳动技能", "labour_skill", required=True, choices=LabourSkill, width=18),
    ExcelColumn("务工状况", "work_status", choices=WorkStatus, width=18),
    ExcelColumn("务工地点", "work_place", note="务工月数大于0时必填"),
    ExcelColumn("务工月数", "work_months", note="0至12"),
    ExcelColumn("务工单位", "employer"),
    ExcelColumn("医保", "medical_insurance", required=True, choices=MedicalInsurance, width=24),
    ExcelColumn("大病保险", "critical_illness_insurance", yes_no=True),
    ExcelColumn("家庭医生签约", "family_doctor", yes_no=True),
    ExcelColumn("低保", "is_dibao", yes_no=True, width=8),
    ExcelColumn("特困", "is_tekun", yes_no=True, width=8),
]

HOUSEHOLD_SHEET = "户信息"
MEMBER_SHEET = "成员信息"
OPTIONS_SHEET = "选项"
REGIONS_SHEET = "区划代码"
INSTRUCTIONS_SHEET = "填写说明"

INSTRUCTIONS = [
    "本模板用于批量登记或更新贫困户及家庭成员信息（建档立卡）。",
    "“户信息”表一行一户，“成员信息”表一行一人，两表以“户编号”关联；每户必须有且只有一名户主。",
    "表头带 * 的列为必填；带下拉箭头的列请从下拉选项中选择，不要自行输入其他写法。",
    "证件号码、户编号、电话、区划代码列已设为文本格式，请勿改为数字格式，否则末尾数字会丢失。",
    "日期可写作 2020-10-13、2020/10/13、2020.10.13 或 2020年10月13日。",
    "“文化程度”与“在校生状况”只填一项：在校生填在校生状况，其他人填文化程度。",
    "务工月数大于0时必须填写务工地点；16至59周岁、身体健康且不在校的成员不能填“无劳动力”。",
    "同一证件号码在全系统只能登记一次；成员在户之间迁移请在系统中办理“成员转移”。",
    "脱贫状态和脱贫年度由退出程序产生，不能通过导入修改；系统启用前已脱贫的户，请县级审批人员在“历史脱贫登记”中录入。",
    "只能导入本人管辖范围内的村；其他村的行会被拒绝并在错误报告中说明。",
    "导入时按户编号、证件号码更新已有记录；同一文件重复导入不会产生重复数据。",
]

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FONT = Font(bold=True, color="C00000")


def _header(column: ExcelColumn) -> str:
    return f"{column.header}*" if column.required else column.header


def template_columns(columns: list[ExcelColumn]) -> list[ExcelColumn]:
    return [column for column in columns if column.in_template]


def _write_options(workbook: Workbook, columns_by_sheet: list[list[ExcelColumn]]) -> dict[str, str]:
    """One column per enumeration on a hidden sheet; returns header → range formula."""
    sheet = workbook.create_sheet(OPTIONS_SHEET)
    ranges: dict[str, str] = {}
    col = 0
    for columns in columns_by_sheet:
        for column in columns:
            options = column.options()
            if not options or column.header in ranges:
                continue
            col += 1
            letter = get_column_letter(col)
            sheet.cell(row=1, column=col, value=column.header)
            for i, option in enumerate(options, start=2):
                sheet.cell(row=i, column=col, value=option)
            ranges[column.header] = f"'{OPTIONS_SHEET}'!${letter}$2:${letter}${len(options) + 1}"
    sheet.sheet_state = "hidden"
    return ranges


def _data_sheet(workbook: Workbook, title: str, columns: list[ExcelColumn], ranges: dict[str, str]) -> None:
    sheet = workbook.create_sheet(title)
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=_header(column))
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        if column.required:
            cell.font = REQUIRED_FONT
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column.width
        if column.note:
            cell.comment = Comment(column.note, "povertyexit")
        if column.text:
            sheet.column_dimensions[letter].number_format = "@"
            for row in range(2, TEMPLATE_ROWS + 2):
                sheet.cell(row=row, column=index).number_format = "@"
        if column.header in ranges:
            validation = DataValidation(
                type="list",
                formula1=f"={ranges[column.header]}",
                allow_blank=not column.required,
                showErrorMessage=True,
                errorTitle=_("无效的选项"),
                error=_("请从下拉列表中选择“%(h)s”。") % {"h": column.header},
            )
            validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"


def household_template(*, villages: list[tuple[str, str]]) -> bytes:
    """The blank import template as .xlsx bytes. ``villages`` are (code, name) pairs of
    the villages the downloading user may import into, listed on their own sheet."""
    workbook = Workbook()
    instructions = workbook.active
    instructions.title = INSTRUCTIONS_SHEET
    instructions.column_dimensions["A"].width = 100
    instructions.cell(row=1, column=1, value=_("贫困户信息导入模板 · 填写说明")).font = Font(bold=True, size=14)
    for i, line in enumerate(INSTRUCTIONS, start=2):
        instructions.cell(row=i, column=1, value=f"{i - 1}. {line}").alignment = Alignment(wrap_text=True)
    household_columns, member_columns = template_columns(HOUSEHOLD_COLUMNS), template_columns(MEMBER_COLUMNS)
    ranges = _write_options(workbook, [household_columns, member_columns])
    if villages:
        ranges["村区划代码"] = f"'{REGIONS_SHEET}'!$A$2:$A${len(villages) + 1}"
    _data_sheet(workbook, HOUSEHOLD_SHEET, household_columns, ranges)
    _data_sheet(workbook, MEMBER_SHEET, member_columns, ranges)
    regions = workbook.create_sheet(REGIONS_SHEET)
    regions.append([_("区划代码"), _("村名称")])
    regions.column_dimensions["A"].width = 16
    regions.column_dimensions["B"].width = 24
    for code, name in villages:
        regions.append([code, name])
        regions.cell(row=regions.max_row, column=1).number_format = "@"
        as_text(regions.cell(row=regions.max_row, column=2))  # a name is never a formula
    # Open on the households sheet, with the instructions one tab to the left.
    workbook.active = workbook.sheetnames.index(HOUSEHOLD_SHEET)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
