"""行业比对: a sector department's list (ID number + indicator) through the Excel import
mechanism. Rows are matched to registered members by ID number; each match becomes a
finding (channel 行业比对) that opens or joins the household's monitoring case; rows
that match no member in the department's county are listed on the result, not
imported. The same indicator for the same member is one finding, whichever list it
came in.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from accounts.models import Role, User
from households.excel import ExcelColumn
from households.importing import NOT_XLSX, OLE_MAGIC, ImportFileError, RowError, parse_sheet
from households.models import Member
from monitoring.models import Channel, Finding, MonitoringCase, RiskType
from monitoring.scans import FindingSpec
from monitoring.services import findings_record


class Indicator(models.TextChoices):
    MEDICAL_SPENDING = "medical_spending", gettext_lazy("大额医疗支出")
    UNINSURED = "uninsured", gettext_lazy("未参保")
    DROPOUT = "dropout", gettext_lazy("辍学")
    UNSAFE_HOUSE = "unsafe_house", gettext_lazy("危房")
    DISABILITY = "disability", gettext_lazy("残疾")
    DEATH = "death", gettext_lazy("死亡")


INDICATOR_RISK = {
    Indicator.MEDICAL_SPENDING: RiskType.ILLNESS,
    Indicator.UNINSURED: RiskType.ILLNESS,
    Indicator.DROPOUT: RiskType.SCHOOLING,
    Indicator.UNSAFE_HOUSE: RiskType.HOUSING,
    Indicator.DISABILITY: RiskType.DISABILITY,
    Indicator.DEATH: RiskType.LACK_LABOUR,
}

SHEET = "比对名单"
COLUMNS = [
    ExcelColumn("证件号码", "id_number", required=True, text=True, width=22),
    ExcelColumn("姓名", "name", width=10),
    ExcelColumn("比对指标", "indicator", required=True, choices=Indicator, width=14),
    ExcelColumn("说明", "note", width=40),
]


@dataclass
class ParsedList:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def to_json(self) -> dict:
        return {"rows": self.rows, "errors": [[e.sheet, e.row, e.column_header, e.message] for e in self.errors]}

    @classmethod
    def from_json(cls, data: dict) -> ParsedList:
        return cls(data["rows"], [RowError(*e) for e in data["errors"]])


def read_list(file, *, progress=None) -> ParsedList:
    head = file.read(8)
    file.seek(0)
    if head.startswith(OLE_MAGIC):
        raise ImportFileError(_(NOT_XLSX))
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - anything openpyxl cannot open is not an .xlsx for us
        raise ImportFileError(_(NOT_XLSX)) from None
    try:
        if SHEET not in workbook.sheetnames:
            raise ImportFileError(_("文件中没有“%(sheets)s”工作表，请使用系统提供的导入模板。") % {"sheets": SHEET})
        sheet = workbook[SHEET]
        sheet.reset_dimensions()
        rows, errors = parse_sheet(SHEET, sheet.iter_rows(values_only=True), COLUMNS)
        return ParsedList(rows, errors)
    finally:
        workbook.close()


@dataclass
class ListPlan:
    specs: list[FindingSpec] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped: list[RowError] = field(default_factory=list)
    matched: int = 0
    known: int = 0

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        return {
            "rows": {
                "new": len(self.specs) - self.known,
                "updated": 0,
                "unchanged": self.known,
                "rejected": len(self.errors) + len(self.skipped),
            }
        }


def plan_list(parsed: ParsedList, *, by: User, progress=None) -> ListPlan:
    from monitoring.models import Finding

    plan = ListPlan(errors=list(parsed.errors))
    bad_rows = {e.row for e in parsed.errors}
    rows = [r for r in parsed.rows if r["row_number"] not in bad_rows]
    numbers = {r["id_number"] for r in rows}
    members = {
        number: (pk, household_id)
        for pk, number, household_id in Member.objects.visible_to(by)
        .filter(id_number__in=numbers)
        .values_list("pk", "id_number", "household_id")
    }
    for row in rows:
        match = members.get(row["id_number"])
        if match is None:
            plan.skipped.append(
                RowError(SHEET, row["row_number"], "证件号码", _("本辖区建档立卡成员中没有该证件号码，未导入。"))
            )
            continue
        member_id, household_id = match
        indicator = Indicator(row["indicator"])
        detail = _("行业比对：%(name)s %(indicator)s") % {"name": row.get("name") or "", "indicator": indicator.label}
        if row.get("note"):
            detail += f"（{row['note']}）"
        plan.specs.append(
            FindingSpec(f"sector:{indicator.value}:{member_id}", household_id, INDICATOR_RISK[indicator], detail)
        )
    plan.matched = len(plan.specs)
    existing = set(Finding.objects.filter(key__in=[s.key for s in plan.specs]).values_list("key", flat=True))
    plan.known = sum(1 for s in plan.specs if s.key in existing)
    return plan


def apply_list(plan: ListPlan, *, by: User, progress=None) -> None:
    findings_record(plan.specs, channel=Channel.SECTOR, by=by)


def list_template(user: User) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=f"{column.header}*" if column.required else column.header)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        sheet.column_dimensions[cell.column_letter].width = column.width
    for row in range(2, 2002):
        sheet.cell(row=row, column=1).number_format = "@"
    options = ",".join(str(label) for label in Indicator.labels)
    validation = DataValidation(type="list", formula1=f'"{options}"', allow_blank=False, showErrorMessage=True)
    validation.add("C2:C2001")
    sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    notes.column_dimensions["A"].width = 90
    for i, line in enumerate(
        [
            _("行业部门比对名单：一行一人，按证件号码与建档立卡成员比对。"),
            _("证件号码列为文本格式，请勿改为数字，否则末尾数字会丢失。"),
            _("比对指标从下拉选项中选择：%(options)s。") % {"options": "、".join(map(str, Indicator.labels))},
            _("匹配到的成员所在户进入防返贫监测（全面排查）；未匹配的行在结果中列出，不导入。"),
        ],
        start=1,
    ):
        notes.cell(row=i, column=1, value=line)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _importer():
    from imports.kinds import Importer
    from imports.models import ImportKind

    return Importer(
        kind=ImportKind.SECTOR_COMPARISON,
        sheets={SHEET: COLUMNS},
        count_labels={"rows": gettext_lazy("名单行")},
        template=list_template,
        template_filename="行业比对名单模板.xlsx",
        parse=read_list,
        load_parsed=ParsedList.from_json,
        plan=plan_list,
        apply=apply_list,
        result_url_name="monitoring:list",
        roles=frozenset({Role.SECTOR, Role.COUNTY_OFFICIAL}),
        title=gettext_lazy("行业比对名单"),
        description=gettext_lazy("上传本部门的比对名单（证件号码 + 比对指标），匹配到的成员所在户进入防返贫监测。"),
        models=(MonitoringCase, Finding),
    )
