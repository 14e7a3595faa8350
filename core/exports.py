"""Excel ledgers (台账导出): one sheet, a bold header row, one row per record.

Every ledger — households, members, and later exits and monitoring — is a list of
columns (a Chinese header and a function of the row) over a scoped queryset, handed to
``xlsx_streaming_response``.

Memory stays bounded whatever the number of rows (a county exports ~300k households):

- the queryset is read with ``.iterator(chunk_size=CHUNK_SIZE)``, so Django neither
  caches the results nor holds more than one chunk of model instances;
- openpyxl's write-only workbook serialises each appended row straight into a
  temporary XML file on disk (it never keeps cells in memory);
- ``save()`` zips that XML into a ``SpooledTemporaryFile``, which stays in memory up to
  ``SPOOL_MAX_SIZE`` and rolls over to disk beyond it;
- the response streams that file back in ``BLOCK_SIZE`` blocks and closes (deletes) it
  when the response is closed.

The workbook is complete before the first byte is sent (an xlsx is a zip whose
directory comes last, so it cannot be streamed while rows are still being read); the
queries therefore run inside the view.

Text is never a formula (issue 16). A name, an address or a note a user typed that
starts like one (``=HYPERLINK(…)``, ``+1``, ``-1+2``, ``@SUM(A1)``) is written as a
string with Excel's quote prefix — the hidden ``'`` a user types before ``=1+1`` — so
neither opening the file nor editing the cell in Excel turns it into a live formula in
a county official's hands. ``as_text`` is the one place that does it, for the ledgers
here, the import error workbook (imports/errorbook.py) and the import templates.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import quote

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK_SIZE = 2000
SPOOL_MAX_SIZE = 8 * 1024 * 1024
BLOCK_SIZE = 64 * 1024
TEXT_FORMAT = "@"
# What makes Excel or LibreOffice read typed text as a formula, at its start: "=", and
# "+", "-", "@", or a tab or carriage return in front of one (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class Column(NamedTuple):
    """A ledger column. ``text`` columns (ID numbers, phones, 户编号) are written as
    strings with the text number format, so Excel shows all 18 digits instead of
    6.10902E+17 and keeps them text when a user edits a cell."""

    header: str
    value: Callable[[Any], Any]
    text: bool = False


def xlsx_streaming_response(
    *,
    filename: str,
    sheet_title: str,
    columns: list[tuple[str, Callable[[Any], Any]] | Column],
    rows: Iterable,
    fallback_filename: str = "export.xlsx",
    on_complete: Callable[[int], None] | None = None,
) -> StreamingHttpResponse:
    """A one-sheet workbook of ``rows``, sent as an attachment named ``filename``.

    ``on_complete`` is called with the number of data rows once the workbook is
    written, e.g. to record a full-number export (DOMAIN.md §9) without counting twice.
    """
    columns = [Column(*column) for column in columns]
    if isinstance(rows, QuerySet):
        rows = rows.iterator(chunk_size=CHUNK_SIZE)

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])  # Excel's limit on sheet names
    # Column widths must be set before the first row in write-only mode.
    for index, column in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(index)].width = 22 if column.text else max(10, 2 * len(column.header))
    sheet.freeze_panes = "A2"

    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = as_text(WriteOnlyCell(sheet, value=str(column.header)))
        cell.font = bold
        header.append(cell)
    sheet.append(header)

    count = 0
    for row in rows:
        sheet.append([_cell(sheet, column.value(row), text=column.text) for column in columns])
        count += 1

    # Not a context manager: the response owns the file and closes it once sent.
    output = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_SIZE)  # noqa: SIM115
    try:
        workbook.save(output)
        if on_complete is not None:
            on_complete(count)
    except BaseException:
        output.close()
        raise
    output.seek(0)

    response = FileResponse(output, content_type=XLSX_CONTENT_TYPE)
    response.block_size = BLOCK_SIZE
    response["Content-Disposition"] = _attachment(filename, fallback_filename)
    return response


def as_text(cell):
    """``cell`` (a worksheet's or a write-only one) keeps the string it holds as text:
    stored as a string, never a formula (openpyxl makes one of any str starting with
    "="), and quote-prefixed when it starts like one. Numbers, dates and blanks are left
    alone: a genuine -5 stays a number. Returns the cell."""
    value = cell.value
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_PREFIXES):
            cell.quotePrefix = True
    return cell


def _cell(sheet, value, *, text: bool):
    if isinstance(value, str):
        # A control character makes openpyxl refuse the whole workbook; one stray
        # character pasted into a name must not cost the county its export.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if text:
        cell = WriteOnlyCell(sheet, value=None if value in (None, "") else str(value))
        cell.number_format = TEXT_FORMAT
        cell.data_type = "s"
        return as_text(cell)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return as_text(WriteOnlyCell(sheet, value=value))
    return value


def _attachment(filename: str, fallback: str) -> str:
    """``filename="<ascii>"; filename*=UTF-8''<percent-encoded>`` (RFC 6266 / RFC 5987):
    browsers that understand ``filename*`` get the Chinese name, the rest the fallback."""
    if filename.isascii():
        return content_disposition_header(as_attachment=True, filename=filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
