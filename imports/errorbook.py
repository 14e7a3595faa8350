"""The error report a cadre downloads: the workbook they uploaded, with every bad cell
filled red and carrying its message as a comment, and an 错误说明 column at the end of
each row that has errors. They fix the cells and upload the same file again; the
importer ignores the extra column.

Files up to ``FULL_COPY_MAX_BYTES`` are opened whole, so formats, dropdowns and hidden
sheets survive. Larger ones are copied value by value through read-only and write-only
workbooks (memory stays flat); text columns keep the text format so ID numbers do not
turn into 6.1E+17 on the way.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from households.excel import ExcelColumn
from households.importing import HEADER_SEARCH_ROWS, find_header

FULL_COPY_MAX_BYTES = 2 * 1024 * 1024
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_FONT = Font(color="9C0006")
ERROR_HEADER_FONT = Font(bold=True, color="C00000")
AUTHOR = "povertyexit"


def _by_row(errors: Iterable[dict]) -> dict[str, dict[int, list[dict]]]:
    grouped: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for error in errors:
        grouped[error["sheet"]][int(error["row"])].append(error)
    return grouped


def _positions(head: list[tuple], columns: list[ExcelColumn]) -> tuple[int, dict[str, int]]:
    """(header row number, {column header → 1-based column}) as the importer found them."""
    index, mapping = find_header(head, columns)
    return index + 1, {column.header: position + 1 for position, column in mapping.items()}


def _row_note(errors: list[dict]) -> str:
    return "；".join(f"{e['column']}：{e['message']}" for e in errors)


def marked_up_workbook(source: Any, errors: list[dict], sheets: dict[str, list[ExcelColumn]], *, size: int) -> bytes:
    """``source`` is a path or binary file of the uploaded .xlsx; ``errors`` are dicts
    with sheet, row, column (header) and message."""
    grouped = _by_row(errors)
    if size <= FULL_COPY_MAX_BYTES:
        return _full_copy(source, grouped, sheets)
    return _streamed_copy(source, grouped, sheets)


def _full_copy(source: Any, grouped: dict, sheets: dict[str, list[ExcelColumn]]) -> bytes:
    workbook = load_workbook(source)
    for name, rows in grouped.items():
        if name not in workbook.sheetnames or name not in sheets:
            continue
        sheet = workbook[name]
        head = [tuple(cell.value for cell in row) for row in sheet.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS)]
        header_row, positions = _positions(head, sheets[name])
        note_column = sheet.max_column + 1
        header = sheet.cell(row=header_row, column=note_column, value=_("错误说明"))
        header.font = ERROR_HEADER_FONT
        header.fill = ERROR_FILL
        sheet.column_dimensions[header.column_letter].width = 60
        for row_number, row_errors in rows.items():
            by_column: dict[int, list[str]] = defaultdict(list)
            for error in row_errors:
                by_column[positions.get(error["column"], 1)].append(error["message"])
            for column, messages in by_column.items():
                cell = sheet.cell(row=row_number, column=column)
                cell.fill = ERROR_FILL
                cell.font = ERROR_FONT
                cell.comment = Comment("\n".join(messages), AUTHOR, width=300, height=120)
            note = sheet.cell(row=row_number, column=note_column, value=_row_note(row_errors))
            note.font = ERROR_FONT
        # Open where the first error is.
        workbook.active = workbook.sheetnames.index(name)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _streamed_copy(source: Any, grouped: dict, sheets: dict[str, list[ExcelColumn]]) -> bytes:
    reader = load_workbook(source, read_only=True, data_only=True)
    writer = Workbook(write_only=True)
    try:
        for name in reader.sheetnames:
            original = reader[name]
            original.reset_dimensions()
            copy = writer.create_sheet(name)
            if original.sheet_state != "visible":
                copy.sheet_state = original.sheet_state
            _copy_sheet(original.iter_rows(values_only=True), copy, grouped.get(name, {}), sheets.get(name))
        buffer = io.BytesIO()
        writer.save(buffer)
        return buffer.getvalue()
    finally:
        reader.close()


def _copy_sheet(rows_iter, copy, rows: dict[int, list[dict]], columns: list[ExcelColumn] | None) -> None:
    head: list[tuple] = []
    for row in rows_iter:
        head.append(tuple(row))
        if len(head) == HEADER_SEARCH_ROWS:
            break
    header_row, positions = _positions(head, columns) if columns else (1, {})
    text_columns = {positions[c.header] for c in columns or [] if c.text and c.header in positions}
    # The 错误说明 column goes right after the widest of the first rows.
    width = max((len(row) for row in head), default=0)

    def write(row_number: int, values: tuple) -> None:
        row_errors = rows.get(row_number, [])
        bad: dict[int, list[str]] = defaultdict(list)
        for error in row_errors:
            bad[positions.get(error["column"], 1)].append(error["message"])
        cells = []
        for column in range(1, max(width, len(values)) + 1):
            value = values[column - 1] if column <= len(values) else None
            cell = WriteOnlyCell(copy, value=value)
            if column in text_columns:
                cell.number_format = "@"
            if column in bad:
                cell.fill = ERROR_FILL
                cell.font = ERROR_FONT
                cell.comment = Comment("\n".join(bad[column]), AUTHOR)
            cells.append(cell)
        if row_number == header_row and columns and rows:
            note = WriteOnlyCell(copy, value=_("错误说明"))
            note.font = ERROR_HEADER_FONT
            note.fill = ERROR_FILL
            cells.append(note)
        elif row_errors:
            note = WriteOnlyCell(copy, value=_row_note(row_errors))
            note.font = ERROR_FONT
            cells.append(note)
        copy.append(cells)

    for row_number, values in enumerate(head, start=1):
        write(row_number, values)
    for row_number, values in enumerate(rows_iter, start=len(head) + 1):
        write(row_number, tuple(values))
