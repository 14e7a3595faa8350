"""The error report a cadre downloads: the workbook they uploaded, with every bad cell
filled red and carrying its message as a comment, and an 错误说明 column at the end of
each row that has errors. They fix the cells and upload the same file again; the
importer ignores the extra column.

Files that unpack to at most ``FULL_COPY_MAX_BYTES`` are opened whole, so formats,
dropdowns and hidden sheets survive. Larger ones are copied value by value through
read-only and write-only workbooks (memory stays flat); text columns keep the text
format so ID numbers do not turn into 6.1E+17 on the way. The report is never much
larger than the upload: the import's check (imports/bounds.py) has bounded every cell,
row and part of it before it gets here.

Either way a formula the uploader typed (``=HYPERLINK(…)``, ``=1+1``), and text that
starts like one (``+1``, ``-1+2``, ``@SUM(A1)``), comes back as the text it was, never
as a live formula (core.exports.as_text): the report goes to town and county officials.
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

from core.exports import as_text
from households.excel import ExcelColumn
from households.importing import HEADER_SEARCH_ROWS, find_header
from imports.bounds import unpacked_size

# Unpacked: openpyxl holds every cell of a whole workbook, ~10 times its XML in memory.
FULL_COPY_MAX_BYTES = 8 * 1024 * 1024
NOTE_HEADER = "错误说明"
ERROR_RGB = "FFC7CE"
ERROR_FILL = PatternFill("solid", fgColor=ERROR_RGB)
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


def marked_up_workbook(source: Any, errors: list[dict], sheets: dict[str, list[ExcelColumn]]) -> bytes:
    """``source`` is a binary file of the uploaded .xlsx, which has passed the import's
    check; ``errors`` are dicts with sheet, row, column (header) and message."""
    grouped = _by_row(errors)
    if unpacked_size(source) <= FULL_COPY_MAX_BYTES:
        return _full_copy(source, grouped, sheets)
    return _streamed_copy(source, grouped, sheets)


def _note_column(header: tuple) -> int | None:
    """The 错误说明 column an earlier report added (1-based), if the file is one."""
    names = {NOTE_HEADER, str(_(NOTE_HEADER))}
    for position, value in enumerate(header, start=1):
        if isinstance(value, str) and value.strip() in names:
            return position
    return None


def _is_ours(cell) -> bool:
    fill = cell.fill
    return bool(fill and fill.fill_type == "solid" and str(fill.fgColor.rgb).upper().endswith(ERROR_RGB))


def _formula_text(value: Any) -> str:
    """What a formula cell shows as text: ``=1+1``, or an array formula's own text."""
    return value if isinstance(value, str) else str(getattr(value, "text", value) or "")


def _formulas_as_text(workbook) -> None:
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.value = _formula_text(cell.value)
                as_text(cell)


def _full_copy(source: Any, grouped: dict, sheets: dict[str, list[ExcelColumn]]) -> bytes:
    workbook = load_workbook(source)
    _formulas_as_text(workbook)
    first_with_errors = None
    for name, columns in sheets.items():
        if name not in workbook.sheetnames:
            continue
        sheet = workbook[name]
        head = [tuple(cell.value for cell in row) for row in sheet.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS)]
        header_row, positions = _positions(head, columns)
        earlier = _note_column(head[header_row - 1]) if len(head) >= header_row else None
        # A report uploaded again: forget what the earlier report marked.
        for row in sheet.iter_rows(min_row=header_row):
            for cell in row:
                if earlier is not None and cell.column == earlier and cell.row > header_row:
                    cell.value = None
                if cell.row > header_row and _is_ours(cell):
                    cell.fill, cell.font = PatternFill(fill_type=None), Font()
                if cell.comment is not None and cell.comment.author == AUTHOR:
                    cell.comment = None
        rows = grouped.get(name, {})
        if not rows:
            if earlier is not None:
                header = sheet.cell(row=header_row, column=earlier)
                header.value, header.fill, header.font = None, PatternFill(fill_type=None), Font()
            continue
        first_with_errors = first_with_errors or name
        note_column = earlier or sheet.max_column + 1
        header = sheet.cell(row=header_row, column=note_column, value=_(NOTE_HEADER))
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
            note = as_text(sheet.cell(row=row_number, column=note_column, value=_row_note(row_errors)))
            note.font = ERROR_FONT
    if first_with_errors:
        # Open where the first error is.
        workbook.active = workbook.sheetnames.index(first_with_errors)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _streamed_copy(source: Any, grouped: dict, sheets: dict[str, list[ExcelColumn]]) -> bytes:
    reader = load_workbook(source, read_only=True)  # formulas as their text, like the full copy
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
    header = head[header_row - 1] if len(head) >= header_row else ()
    earlier = _note_column(header) if columns else None
    # The 错误说明 column: the earlier report's, or the one after the header row.
    note_column = earlier or len(header) + 1

    def write(row_number: int, values: tuple) -> None:
        row_errors = rows.get(row_number, [])
        bad: dict[int, list[str]] = defaultdict(list)
        for error in row_errors:
            bad[positions.get(error["column"], 1)].append(error["message"])
        width = max(len(values), note_column if (rows and columns) else 0)
        cells = []
        for column in range(1, width + 1):
            value = values[column - 1] if column <= len(values) else None
            if columns and rows and column == note_column and row_number == header_row:
                value = _(NOTE_HEADER)
            elif columns and rows and column == note_column and row_number > header_row:
                value = _row_note(row_errors) if row_errors else None
            elif earlier is not None and column == earlier and row_number >= header_row:
                value = None  # an earlier report's note, on a sheet with no errors left
            cell = WriteOnlyCell(copy, value=value)
            if cell.data_type == "f":
                cell.value = _formula_text(value)
            as_text(cell)
            if column in text_columns:
                cell.number_format = "@"
            if column in bad:
                cell.fill = ERROR_FILL
                cell.font = ERROR_FONT
                cell.comment = Comment("\n".join(bad[column]), AUTHOR)
            elif columns and rows and column == note_column and row_number >= header_row and value:
                cell.font = ERROR_HEADER_FONT if row_number == header_row else ERROR_FONT
                if row_number == header_row:
                    cell.fill = ERROR_FILL
            cells.append(cell)
        copy.append(cells)

    for row_number, values in enumerate(head, start=1):
        write(row_number, values)
    for row_number, values in enumerate(rows_iter, start=len(head) + 1):
        write(row_number, tuple(values))
