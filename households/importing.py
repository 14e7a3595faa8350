"""Parsing layer of the registry Excel import (DOMAIN.md §2): read an uploaded .xlsx
into plain dicts of model values, one per row, and cell-level errors.

Pure functions, no database access: the import pipeline later hands the parsed dicts
to the registry service's rules (households/import_plan.py). Here we only turn what a
cadre typed into values: headers found wherever they are in the first rows, labels
mapped to ``TextChoices`` values, numbers read from Excel's number formatting, and a
Chinese message for everything that cannot be.

Text goes through the registry's one normaliser (households/normalize.py) already
here, because 户编号, 证件号码 and 区划代码 are matched against the registry before the
rules run; for the same reason a cell with control characters is refused here, with
the message the service gives on every other path.
"""

from __future__ import annotations

import datetime
import functools
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException

from households.excel import HOUSEHOLD_COLUMNS, HOUSEHOLD_SHEET, MEMBER_COLUMNS, MEMBER_SHEET, ExcelColumn
from households.idnumbers import normalize_id_number, parse_id_number
from households.models import PovertyCause
from households.normalize import CONTROL_CHARACTERS, TextKind, has_control_characters, kind_of, normalize_text

MAX_ROWS = 50000  # data rows per sheet
HEADER_SEARCH_ROWS = 5
PROGRESS_EVERY = 1000
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls, and every password-protected .xlsx

INTEGER_FIELDS = frozenset(["group_no", "identification_year", "exit_year", "disability_grade", "work_months"])
# What rosters write after a number ("2016年", "3组", "6个月", "2级"): dropped when the
# rest is the number.
INTEGER_UNITS = {
    "group_no": ("组",),
    "identification_year": ("年度", "年"),
    "exit_year": ("年度", "年"),
    "disability_grade": ("级",),
    "work_months": ("个月", "月"),
}
# A leading apostrophe typed (or pasted from a system export) to keep Excel from turning a
# long number into a float: part of the cell's text when the file was not made in Excel.
TEXT_MARKERS = ("'", "‘", "’", "`")
MULTI_CHOICE_FIELDS: dict[str, type[models.TextChoices]] = {"other_causes": PovertyCause}
ID_NUMBER_FIELDS = frozenset(["id_number"])
HOUSEHOLD_NUMBER_FIELDS = frozenset(["number", "household"])
EXCEL_SIGNIFICANT_DIGITS = 15
ID_MASKED = gettext_noop(
    "证件号码已隐去部分数字（含 *），无法确定是哪一位成员；请导出“含完整证件号码”的成员台账，修改后再导入。"
)

YES_VALUES = frozenset(["是", "Y", "YES", "1", "√", "✓", "✔", "TRUE"])
NO_VALUES = frozenset(["否", "N", "NO", "0", "×", "✗", "FALSE", ""])
MULTI_SEPARATORS = re.compile(r"[、,，;；]")
SCIENTIFIC_RE = re.compile(r"^[0-9]+(\.[0-9]+)?E[+-]?[0-9]+$")
DATE_RE = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?$")
COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
MAX_EXCEL_SERIAL = 2958465  # 9999-12-31

NOT_XLSX = gettext_noop("文件已加密或不是 .xlsx 格式，请另存为 Excel 工作簿（.xlsx）后上传")
ID_LOST_DIGITS = gettext_noop("证件号码被Excel按数字保存，末尾数字已丢失，请将该列设为文本后重新录入")
NUMBER_LOST_DIGITS = gettext_noop("户编号被Excel按数字保存，末尾数字可能已丢失，请将该列设为文本后重新录入")


class ImportFileError(Exception):
    """The file as a whole cannot be read: wrong format, missing sheet or header, too big."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RowError:
    sheet: str
    row: int  # the Excel row number, as the cadre sees it
    column_header: str
    message: str


@dataclass
class ParsedWorkbook:
    """Rows are dicts of model field → cleaned value, plus ``row_number``. A field whose
    cell had an error is left out of its row (the error says why)."""

    households: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def row_count(self) -> int:
        return len(self.households) + len(self.members)

    def to_json(self) -> dict:
        """Plain JSON (the columns hold text, numbers, booleans and lists only), kept
        between an import's preview and its confirmation."""
        return {
            "households": self.households,
            "members": self.members,
            "errors": [[e.sheet, e.row, e.column_header, e.message] for e in self.errors],
        }

    @classmethod
    def from_json(cls, data: dict) -> ParsedWorkbook:
        return cls(data["households"], data["members"], [RowError(*e) for e in data["errors"]])


# --- cell normalisation -------------------------------------------------------------


def _without_text_marker(value: str) -> str:
    """ "'610902…" → "610902…": the apostrophe that kept a number as text, not part of it."""
    stripped = value.strip()
    if stripped[:1] in TEXT_MARKERS and stripped[1:].strip():
        return stripped[1:].strip()
    return value


def _without_unit(value: object, units: tuple[str, ...]) -> object:
    """ "2016年" → "2016" for a year column; anything else unchanged (and then refused
    by the integer parser as it always was)."""
    if isinstance(value, str):
        text = value.strip()
        for unit in units:
            if text.endswith(unit) and text[: -len(unit)].strip():
                return text[: -len(unit)].strip()
    return value


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number_text(value: int | float) -> str:
    """A number cell in a text column: 13800138000.0 → "13800138000"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_text(value: object, *, kind: TextKind = TextKind.TEXT) -> str:
    """A cell as text (numbers, dates and booleans as a cadre reads them), through the
    registry's normaliser for ``kind``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return normalize_text(str(value), kind)


def _label_key(label: object) -> str:
    return normalize_text(str(label), TextKind.CODE)


@functools.cache
def _labels_of(choices: type[models.TextChoices], language: str | None) -> dict[str, str]:
    """{normalised label → value} of an enumeration, built once per language (a cell
    used to translate every label of its column, 2 million times for 45,000 rows)."""
    return {_label_key(label): choice for choice, label in choices.choices}


def parse_choice(value: object, choices: type[models.TextChoices]) -> str:
    """A Chinese label → its ``TextChoices`` value; blank → ""."""
    text = parse_text(value)
    if not text:
        return ""
    by_label = _labels_of(choices, get_language())
    key = _label_key(text)
    if key in by_label:
        return by_label[key]
    options = "、".join(str(label) for label in choices.labels)
    raise ValidationError(_("“%(value)s”不是有效的选项，可选：%(options)s") % {"value": text, "options": options})


def parse_multi_choice(value: object, choices: type[models.TextChoices]) -> list[str]:
    """Labels separated by 、,，;； → values in order, without repeats."""
    result: list[str] = []
    for part in MULTI_SEPARATORS.split(parse_text(value)):
        if part.strip():
            choice = parse_choice(part, choices)
            if choice not in result:
                result.append(choice)
    return result


def parse_yes_no(value: object) -> bool:
    """是/否, Y/N, 1/0, √; blank is 否."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = parse_text(value, kind=TextKind.CODE).upper()
    if text in YES_VALUES:
        return True
    if text in NO_VALUES:
        return False
    raise ValidationError(_("“%(value)s”不是有效的选项，请填写“是”或“否”") % {"value": parse_text(value)})


def parse_integer(value: object) -> int | None:
    """3, 3.0, "3", "３" → 3; blank → None."""
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValidationError(_("“%(value)s”不是整数") % {"value": value})
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValidationError(_("“%(value)s”不是整数") % {"value": value})
    text = parse_text(value, kind=TextKind.CODE)
    if re.fullmatch(r"[+-]?\d+(\.0*)?", text):
        return int(text.split(".")[0])
    raise ValidationError(_("“%(value)s”不是整数") % {"value": parse_text(value)})


def parse_id_cell(value: object) -> str:
    """An ID number cell → the 18-character number (check digit and birth date checked).

    A number cell is always refused. Excel keeps 15 significant digits: the last three
    are rounded away, and about one rounded number in eleven still passes the check
    digit — another, valid-looking person. No number cell can be told apart from that.
    """
    if isinstance(value, bool):
        raise ValidationError(_("请填写证件号码。"))
    if isinstance(value, int | float):
        raise ValidationError(_(ID_LOST_DIGITS))
    number = normalize_id_number(value)  # NFKC, no spaces, x → X
    if "*" in number:
        raise ValidationError(_(ID_MASKED))
    if SCIENTIFIC_RE.match(number):
        raise ValidationError(_(ID_LOST_DIGITS))
    return parse_id_number(number).number


def parse_household_number(value: object) -> str:
    """A 户编号 cell. Excel keeps 15 significant digits of a number: a longer 户编号 typed
    into a number cell, or shown as 6.10902E+17, has lost its end and is refused."""
    if isinstance(value, bool):
        raise ValidationError(_("“%(value)s”不是有效的户编号。") % {"value": value})
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            raise ValidationError(_(NUMBER_LOST_DIGITS))
        digits = str(int(value))
        if len(digits) > EXCEL_SIGNIFICANT_DIGITS:
            raise ValidationError(_(NUMBER_LOST_DIGITS))
        return digits
    text = parse_text(value, kind=TextKind.CODE)
    if SCIENTIFIC_RE.match(text.upper()):
        raise ValidationError(_(NUMBER_LOST_DIGITS))
    return text


def parse_date(value: object) -> datetime.date | None:
    """A date cell, an Excel serial number (44117 → 2020-10-13), or text such as
    2020-10-13, 2020/10/13, 2020.10.13, 2020年10月13日 or 20201013; blank → None."""
    if _is_blank(value):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    error = ValidationError(
        _("“%(value)s”不是有效的日期，请写作 2020-10-13、2020/10/13、2020.10.13 或 2020年10月13日")
        % {"value": parse_text(value)}
    )
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value <= MAX_EXCEL_SERIAL:
            return from_excel(value).date()
        if isinstance(value, int) or value.is_integer():
            value = str(int(value))  # 20201013 typed as a number
        else:
            raise error
    text = parse_text(value, kind=TextKind.CODE)
    match = DATE_RE.match(text) or COMPACT_DATE_RE.match(text)
    if not match:
        raise error
    try:
        return datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise error from None


def parse_cell(column: ExcelColumn, value: object) -> Any:
    """One cell of ``column`` → its model value; raise ValidationError with a Chinese message."""
    if column.required and _is_blank(value):
        raise ValidationError(_("请填写“%(header)s”。") % {"header": column.header})
    if isinstance(value, str) and has_control_characters(value):
        raise ValidationError(_(CONTROL_CHARACTERS))
    if isinstance(value, str) and (column.text or column.field in INTEGER_FIELDS):
        value = _without_text_marker(value)
    if column.field in ID_NUMBER_FIELDS:
        return parse_id_cell(value)
    if column.field in HOUSEHOLD_NUMBER_FIELDS:
        return parse_household_number(value)
    if column.field in MULTI_CHOICE_FIELDS:
        return parse_multi_choice(value, MULTI_CHOICE_FIELDS[column.field])
    if column.choices is not None:
        return parse_choice(value, column.choices)
    if column.yes_no:
        return parse_yes_no(value)
    if column.field in INTEGER_FIELDS:
        return parse_integer(_without_unit(value, INTEGER_UNITS.get(column.field, ())))
    kind = kind_of(column.field)
    return parse_text(value, kind=TextKind.CODE if column.text and kind is TextKind.TEXT else kind)


# --- headers and rows ---------------------------------------------------------------


def normalize_header(value: object) -> str:
    """'  证件号码＊\\n' → '证件号码': NFKC, no spaces, no trailing required-marker."""
    if value is None:
        return ""
    return normalize_text(str(value), TextKind.CODE).rstrip("*")


def find_header(rows: list[tuple], columns: list[ExcelColumn]) -> tuple[int, dict[int, ExcelColumn]]:
    """Among the first rows, the header: (0-based index of its last row, {column index →
    column}). Unknown and repeated headers are ignored.

    A header may span two rows, as when a group title (务工情况) is merged over its
    sub-headers (务工状况, 务工地点 …) and the other titles are merged down over both rows:
    each column then takes its known header from either row.
    """
    known = {normalize_header(name): column for column in columns for name in (column.header, *column.aliases)}

    def mapping_of(*header_rows: tuple) -> dict[int, ExcelColumn]:
        mapping: dict[int, ExcelColumn] = {}
        width = max((len(row) for row in header_rows), default=0)
        for position in range(width):
            for row in header_rows:
                value = row[position] if position < len(row) else None
                column = known.get(normalize_header(value))
                if column is not None and column not in mapping.values():
                    mapping[position] = column
                    break
        return mapping

    best_index, best_map = 0, {}
    head = rows[:HEADER_SEARCH_ROWS]
    for index, row in enumerate(head):
        candidates = [(index, mapping_of(row))]
        if index + 1 < len(head):
            candidates.append((index + 1, mapping_of(row, head[index + 1])))
        for last, mapping in candidates:
            if len(mapping) > len(best_map):
                best_index, best_map = last, mapping
    return best_index, best_map


def parse_sheet(
    sheet_name: str,
    rows: Iterable[tuple],
    columns: list[ExcelColumn],
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[dict], list[RowError]]:
    """The rows of one sheet (values, first row = Excel row 1) → parsed dicts and errors.
    ``progress`` is called with the number of rows read, every PROGRESS_EVERY rows."""
    iterator = iter(rows)
    head: list[tuple] = []
    for row in iterator:
        head.append(tuple(row))
        if len(head) == HEADER_SEARCH_ROWS:
            break
    header_index, mapping = find_header(head, columns)
    missing = [column.header for column in columns if column.required and column not in mapping.values()]
    if missing:
        raise ImportFileError(
            _("“%(sheet)s”表缺少必填列：%(headers)s。请使用系统提供的导入模板。")
            % {"sheet": sheet_name, "headers": "、".join(missing)}
        )

    def data_rows() -> Iterable[tuple[int, tuple]]:
        yield from enumerate(head[header_index + 1 :], start=header_index + 2)
        yield from enumerate(iterator, start=len(head) + 1)

    parsed: list[dict] = []
    errors: list[RowError] = []
    for row_number, row in data_rows():
        if progress and row_number % PROGRESS_EVERY == 0:
            progress(row_number)
        values = {position: row[position] if position < len(row) else None for position in mapping}
        if all(_is_blank(value) for value in values.values()):
            continue
        if len(parsed) >= MAX_ROWS:
            raise ImportFileError(
                _("“%(sheet)s”表超过%(max)d行数据的上限，请拆分后分批导入。") % {"sheet": sheet_name, "max": MAX_ROWS}
            )
        item: dict[str, Any] = {"row_number": row_number}
        for position, column in mapping.items():
            try:
                item[column.field] = parse_cell(column, values[position])
            except ValidationError as error:
                errors.append(RowError(sheet_name, row_number, column.header, error.messages[0]))
        parsed.append(item)
    return parsed, errors


# --- the workbook -------------------------------------------------------------------


def _head_bytes(file: Any) -> bytes:
    if isinstance(file, str | Path):
        with open(file, "rb") as handle:
            return handle.read(8)
    position = file.tell()
    head = file.read(8)
    file.seek(position)
    return head


def _recorded_rows(sheet: Any) -> int:
    try:
        return int(sheet.max_row or 0)
    except (TypeError, ValueError):
        return 0


def read_workbook(file: Any, *, progress: Callable[[int, int], None] | None = None) -> ParsedWorkbook:
    """Parse an uploaded .xlsx (a path or a binary file object) into household and member
    rows; raise ImportFileError when the file as a whole cannot be used. ``progress``
    gets (rows read, rows expected) now and then; the expectation comes from the
    sheets' recorded dimensions, which some writers leave out (then it is a guess)."""
    if _head_bytes(file).startswith(OLE_MAGIC):  # .xls or encrypted .xlsx
        raise ImportFileError(_(NOT_XLSX))
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError):
        raise ImportFileError(_(NOT_XLSX)) from None
    try:
        # Either sheet may come alone: a 户台账 corrected and uploaded back updates the
        # households and leaves their members as they are; a 成员台账, the members of
        # registered households.
        present = [name for name in (HOUSEHOLD_SHEET, MEMBER_SHEET) if name in workbook.sheetnames]
        if not present:
            raise ImportFileError(
                _("文件中没有“%(sheets)s”工作表，请使用系统提供的导入模板或系统导出的台账。")
                % {"sheets": "”或“".join((HOUSEHOLD_SHEET, MEMBER_SHEET))}
            )
        result = ParsedWorkbook()
        sheets = [
            (name, columns, target)
            for name, columns, target in (
                (HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS, result.households),
                (MEMBER_SHEET, MEMBER_COLUMNS, result.members),
            )
            if name in present
        ]
        expected = [_recorded_rows(workbook[name]) for name, _columns, _target in sheets]
        read_before = 0
        for (name, columns, target), sheet_rows in zip(sheets, expected, strict=True):
            sheet = workbook[name]
            sheet.reset_dimensions()  # some writers record wrong dimensions; read every row

            def report(rows_read: int, before: int = read_before) -> None:
                if progress:
                    done = before + rows_read
                    progress(done, max(sum(expected), done + 1))

            rows, errors = parse_sheet(name, sheet.iter_rows(values_only=True), columns, progress=report)
            read_before += sheet_rows
            target.extend(rows)
            result.errors.extend(errors)
        return result
    finally:
        workbook.close()
