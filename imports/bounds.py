"""What an uploaded .xlsx may unpack to (issue 16), checked before openpyxl opens it.

An .xlsx is a zip of XML parts, and its directory says whatever the file likes about
their sizes. openpyxl reads the whole shared-string table into memory even in
read-only mode, holds styles and drawings whole, and the error workbook copies every
sheet: a 233 KB upload holding one 200 MB cell took a web process to 1.2 GB and came
back as a 209 MB error workbook. So before openpyxl sees a file, ``workbook_check``
reads every part once, a block at a time, counting the bytes it actually gets (the
directory is only believed once they agree), and refuses, with a message naming the
sheet, row and column where there is one:

- a part or the whole file unpacking past ``IMPORT_MAX_PART_BYTES`` /
  ``IMPORT_MAX_UNPACKED_BYTES``, a part compressed more than
  ``IMPORT_MAX_COMPRESSION_RATIO`` to one (a "zip bomb" of repeated bytes packs a
  thousandfold, a real sheet about tenfold), or a zip of more than ``MAX_PARTS`` parts;
- in the shared strings and every worksheet, a cell whose text passes
  ``IMPORT_MAX_CELL_CHARS``, and a sheet of more than ``IMPORT_MAX_ROWS`` rows.

Both scans of a part's XML hold one block and one cell's worth of text at most:

- the fast scan, for the common file, works on the bytes at zlib's pace (a county
  roster of 45,000 rows in well under a second): a cell's text longer than the limit
  is a run of more than that many bytes without a ``<``, which a look at every
  half-limit stretch finds; rows are counted by their tags;
- expat, for a part the fast scan cannot judge by runs alone — rich text (a cell's
  text split into runs openpyxl joins again), CDATA, comments, an encoding other than
  UTF-8 — and again over a part the fast scan found wrong, to say exactly where.

``unpacks_within`` is the request's cheap question — does the file unpack to at most a
few MB, decompressing no more than that? — so that only such a file is checked and
imported inside the request (imports/services.py); every other goes to a worker.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError, ParserCreate

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter

from households.importing import HEADER_SEARCH_ROWS, NOT_XLSX, ImportFileError, normalize_header

BLOCK_SIZE = 64 * 1024
# An Excel workbook has tens of parts; zipfile parses the whole directory up front.
MAX_PARTS = 10_000
# Parts openpyxl holds whole in memory, far below the cap on worksheets (which it
# streams): the shared strings (a 300,000-member roster has ~1M distinct texts, ~30 MB),
# and styles, drawings, comments and the like (well under 1 MB in a real workbook).
SHARED_STRINGS_MAX_BYTES = 64 * 1024 * 1024
OTHER_PART_MAX_BYTES = 16 * 1024 * 1024
# A part this small says nothing by its ratio (a sheet of empty formatted rows is 50:1).
RATIO_FLOOR_BYTES = 1024 * 1024
# Bytes a parser may have to hold at once: one tag, comment or attribute (never a
# cell's text, which is handed over as it arrives). More than this is no spreadsheet.
PENDING_MAX_BYTES = 1024 * 1024
# Header text kept per cell of the first rows, to name a column in a message.
HEADER_CHARS = 64
PROGRESS_EVERY = 4 * 1024 * 1024
DAMAGED = gettext_noop("文件内容已损坏或无法识别，请用 Excel 打开确认后另存为 .xlsx 重新上传。")

WORKSHEET, SHARED_STRINGS, OTHER = "worksheet", "sst", "other"
EOCD = struct.Struct("<4s4H2LH")  # the zip's end-of-central-directory record

# The fast scan. The root element, after an optional BOM and XML declaration.
ROOT = re.compile(rb"(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>)?\s*(<)(?:[\w.-]+:)?([\w.-]+)[\s>/]")
# What only expat can judge: a rich-text run (<r>, prefixed or not), CDATA, a comment,
# a processing instruction, a DTD.
RICH_RUN = re.compile(rb"<r[\s>/]")
PREFIXED_RICH_RUN = re.compile(rb":r[\s>/]")
# The end of a tag: quoted attribute values may hold ">".
TAG_END = re.compile(rb"(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
ENTITY = re.compile(r"&#?[\w]+;")


@dataclass(frozen=True)
class Limits:
    unpacked: int
    part: int
    ratio: int
    cell_chars: int
    rows: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            unpacked=settings.IMPORT_MAX_UNPACKED_BYTES,
            part=settings.IMPORT_MAX_PART_BYTES,
            ratio=settings.IMPORT_MAX_COMPRESSION_RATIO,
            cell_chars=settings.IMPORT_MAX_CELL_CHARS,
            rows=settings.IMPORT_MAX_ROWS,
        )


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(size // 1024, 1)} KB"
    return f"{size / 1024 / 1024:.0f} MB"


# --- the request's question -------------------------------------------------------------


def unpacks_within(file: Any, budget: int) -> bool:
    """Whether ``file`` unpacks to at most ``budget`` bytes, decompressing no more than
    that and holding one block at a time. A file that is no zip at all is "within"
    (openpyxl refuses it at once); anything else odd is not, and a worker looks closer."""
    try:
        if (_declared_parts(file) or 0) > MAX_PARTS:
            return False
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        file.seek(0)
        return True
    try:
        with archive:
            infos = archive.infolist()
            if len(infos) > MAX_PARTS or sum(info.file_size for info in infos) > budget:
                return False
            total = 0
            for info in infos:
                if _unsupported(info):
                    return False
                with archive.open(info) as stream:
                    while block := stream.read(BLOCK_SIZE):
                        total += len(block)
                        if total > budget:
                            return False
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, zlib.error):
        return False
    finally:
        file.seek(0)
    return True


def unpacked_size(file: Any) -> int:
    """What ``file`` unpacks to by its zip directory: once ``workbook_check`` has read
    every part, that is what zipfile (and so openpyxl) will hand over."""
    try:
        with zipfile.ZipFile(file) as archive:
            return sum(info.file_size for info in archive.infolist())
    finally:
        file.seek(0)


def _declared_parts(file: Any) -> int | None:
    """The number of parts the zip's last record announces, read before zipfile parses
    the directory itself (None: no such record, or a ZIP64 count zipfile must read)."""
    file.seek(0, io.SEEK_END)
    end = file.tell()
    start = max(0, end - EOCD.size - 0xFFFF)  # the record, and a comment of at most 64 KB
    file.seek(start)
    tail = file.read(end - start)
    file.seek(0)
    position = tail.rfind(b"PK\x05\x06")
    if position < 0 or len(tail) - position < EOCD.size:
        return None
    entries = EOCD.unpack_from(tail, position)[4]  # the total number of parts
    return None if entries == 0xFFFF else entries


def _unsupported(info: zipfile.ZipInfo) -> bool:
    """Encrypted, or packed otherwise than Excel packs: bzip2 and lzma hand over all a
    compressed block holds in one read, however much that is."""
    return bool(info.flag_bits & 0x1) or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


# --- the worker's check -------------------------------------------------------------------


def workbook_check(
    file: Any,
    *,
    headers: dict[str, list[str]] | None = None,
    progress: Callable[[int, int], None] | None = None,
    limits: Limits | None = None,
) -> None:
    """Raise ImportFileError, with a message a cadre can act on, when ``file`` (a binary
    file of an uploaded .xlsx) passes a limit; leave the file at its start. ``headers``
    (sheet → the importer's column headers) lets a message name the column it means.
    ``progress`` gets (bytes unpacked, bytes expected) now and then."""
    limits = limits or Limits.from_settings()
    try:
        declared = _declared_parts(file)
        if declared is not None and declared > MAX_PARTS:
            raise _too_many_parts(declared)
        try:
            archive = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise ImportFileError(_(NOT_XLSX)) from None
        with archive:
            _Check(archive, limits, headers or {}, progress).run()
    finally:
        file.seek(0)


def _too_many_parts(count: int) -> ImportFileError:
    return ImportFileError(
        _(
            "文件内部由 %(count)d 个部分组成，超过 %(max)d 个的上限，不是正常的 Excel 工作簿。"
            "请将数据复制到导入模板后重新上传。"
        )
        % {"count": count, "max": MAX_PARTS}
    )


class _Inexact(Exception):
    """The fast scan cannot judge this part (or found it wrong): expat reads it again."""


class _Stop(Exception):
    """Done looking into a part: only its bytes are counted from here on."""


class _Check:
    """One pass over an archive's parts: the directory, then the shared strings (so that
    a cell using a too-long one can be named), then the rest in the directory's order."""

    def __init__(self, archive: zipfile.ZipFile, limits: Limits, headers: dict, progress):
        self.archive = archive
        self.limits = limits
        self.headers = headers
        self.progress = progress
        self.infos = archive.infolist()
        self.total = 0
        self.reported = 0
        self.declared = sum(info.file_size for info in self.infos)
        self.names = _sheet_names(archive)
        self.long_string: int | None = None  # the first shared string over the limit

    def run(self) -> None:
        limits = self.limits
        if len(self.infos) > MAX_PARTS:
            raise _too_many_parts(len(self.infos))
        # What the directory admits is refused before a byte is decompressed.
        for info in self.infos:
            if _unsupported(info):
                raise ImportFileError(_(NOT_XLSX))
            if info.file_size > limits.part:
                raise self._part_too_big(info, limits.part)
        if self.declared > limits.unpacked:
            raise self._too_big()
        for info in sorted(self.infos, key=lambda i: not _is_shared_strings(i)):
            self._read(info)
        if self.long_string is not None:  # no sheet uses it, yet openpyxl would load it
            raise ImportFileError(
                _("文件中有一段文字超过 %(max)d 个字的上限，单元格内容不能这么长，请检查后重新上传。")
                % {"max": limits.cell_chars}
            )

    def _read(self, info: zipfile.ZipInfo, *, exact: bool = False) -> None:
        scanner = _Scanner(self, info) if exact else _FastScan(self, info)
        produced = 0
        try:
            with self.archive.open(info) as stream:
                while block := stream.read(BLOCK_SIZE):
                    produced += len(block)
                    self.total += len(block)
                    self._within(info, produced, scanner.kind)
                    if scanner.wants_more:
                        scanner.feed(block)
                    elif scanner.kind == SHARED_STRINGS:
                        break  # a string too long: the file is refused, the rest need not be read
                    self._report()
                if scanner.wants_more:
                    scanner.feed(b"", final=True)
        except _Inexact:
            self.total -= produced
            self._read(info, exact=True)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error, RuntimeError):
            raise ImportFileError(_(DAMAGED)) from None

    def _within(self, info: zipfile.ZipInfo, produced: int, kind: str | None) -> None:
        if self.total > self.limits.unpacked:
            raise self._too_big()
        cap = self.limits.part
        if kind == SHARED_STRINGS:
            cap = min(cap, SHARED_STRINGS_MAX_BYTES)
        elif kind == OTHER:
            cap = min(cap, OTHER_PART_MAX_BYTES)
        if produced > cap:
            raise self._part_too_big(info, cap)
        if produced > max(RATIO_FLOOR_BYTES, self.limits.ratio * info.compress_size):
            raise self._ratio(info)

    def _report(self) -> None:
        if self.progress and self.total - self.reported >= PROGRESS_EVERY:
            self.reported = self.total
            self.progress(self.total, max(self.declared, self.total))

    # --- messages ---

    def sheet(self, info: zipfile.ZipInfo) -> str:
        return self.names.get(info.filename, "")

    def _too_big(self) -> ImportFileError:
        return ImportFileError(
            _("文件解压后的内容超过 %(max)s 的上限（.xlsx 是压缩文件），请删除无关的工作表、图片，或拆分后分批导入。")
            % {"max": _size(self.limits.unpacked)}
        )

    def _part_too_big(self, info: zipfile.ZipInfo, cap: int) -> ImportFileError:
        sheet = self.sheet(info)
        if sheet:
            return ImportFileError(
                _("“%(sheet)s”表解压后的内容超过 %(max)s 的上限，请拆分后分批导入。")
                % {"sheet": sheet, "max": _size(cap)}
            )
        return ImportFileError(
            _(
                "文件中的“%(part)s”部分解压后超过 %(max)s 的上限，"
                "请删除图片、批注等无关内容，或将数据复制到导入模板后重新上传。"
            )
            % {"part": info.filename, "max": _size(cap)}
        )

    def _ratio(self, info: zipfile.ZipInfo) -> ImportFileError:
        return ImportFileError(
            _(
                "文件中的“%(part)s”压缩比超过 %(ratio)d 倍，不是正常的 Excel 工作簿"
                "（可能已损坏，或是恶意构造的“压缩炸弹”），未导入。请用 Excel 打开确认后另存为 .xlsx 重新上传。"
            )
            % {"part": self.sheet(info) or info.filename, "ratio": self.limits.ratio}
        )

    def cell_too_long(self, info: zipfile.ZipInfo, row: int, column: int, head: dict) -> ImportFileError:
        sheet = self.sheet(info) or info.filename
        header = self._header(sheet, head.get(column, []))
        values = {
            "sheet": sheet,
            "row": row,
            "column": get_column_letter(column) if column else "?",
            "header": header,
            "max": self.limits.cell_chars,
        }
        if header:
            message = _(
                "“%(sheet)s”表第 %(row)d 行 %(column)s 列（%(header)s）的内容超过 %(max)d 个字的上限，"
                "请检查该单元格（是否误粘贴了大段文字）后重新上传。"
            )
        else:
            message = _(
                "“%(sheet)s”表第 %(row)d 行 %(column)s 列的内容超过 %(max)d 个字的上限，"
                "请检查该单元格（是否误粘贴了大段文字）后重新上传。"
            )
        return ImportFileError(message % values)

    def text_too_long(self, info: zipfile.ZipInfo) -> ImportFileError:
        return ImportFileError(
            _("“%(part)s”中有一段文字超过 %(max)d 个字的上限，不是正常的 Excel 工作簿，请检查后重新上传。")
            % {"part": self.sheet(info) or info.filename, "max": self.limits.cell_chars}
        )

    def too_many_rows(self, info: zipfile.ZipInfo) -> ImportFileError:
        return ImportFileError(
            _("“%(sheet)s”表超过 %(max)d 行的上限（含设置了格式的空行），请删除多余的行，或拆分后分批导入。")
            % {"sheet": self.sheet(info) or info.filename, "max": self.limits.rows}
        )

    def _header(self, sheet: str, cells: list[tuple[str | None, str]]) -> str:
        """The importer's header among a column's first cells, if one of them is one."""
        known = {normalize_header(header): header for header in self.headers.get(sheet, [])}
        for cell_type, text in cells:
            if cell_type == "s":
                text = self._shared_string(text)
            header = known.get(normalize_header(text))
            if header:
                return header
        return ""

    def _shared_string(self, index: str) -> str:
        """One shared string, read again (the table has passed: the read is bounded)."""
        try:
            wanted = int(index)
            for info in self.infos:
                if _is_shared_strings(info):
                    return _ShortString(self.archive, info, wanted).text
        except (ValueError, ExpatError, zipfile.BadZipFile, OSError, zlib.error):
            pass
        return ""


def _is_shared_strings(info: zipfile.ZipInfo) -> bool:
    return info.filename.lower().endswith("sharedstrings.xml")


def _text_chars(text: bytes) -> int:
    """The characters a run of XML text stands for: ``&amp;`` is one."""
    decoded = text.decode("utf-8")
    return len(decoded) - sum(len(entity) - 1 for entity in ENTITY.findall(decoded))


class _FastScan:
    """A worksheet or the shared strings, on the bytes. Every text between tags in a
    part without rich text is one cell's whole text (or text openpyxl keeps outside
    any cell), and it is longer than the limit only as a run of more bytes than that
    without a ``<``; such a run holds a whole ``window``-sized stretch, so looking at
    every window finds it. Anything it cannot judge this way goes to expat."""

    def __init__(self, check: _Check, info: zipfile.ZipInfo):
        self.check, self.info = check, info
        self.limit = check.limits.cell_chars
        self.window = max(1, (self.limit + 1) // 2)
        # A tag and the longest text a cell may hold (4 bytes a character in UTF-8).
        self.carry_max = 4 * self.limit + 1024
        self.kind: str | None = None
        self.wants_more = True
        self.carry = b""
        self.rows = 0
        long_string = check.long_string
        self.needle = None if long_string is None else b">%d<" % long_string

    def feed(self, block: bytes, *, final: bool = False) -> None:
        data = self.carry + block
        if self.kind is None:
            data = self._root(data, final)
            if self.kind is None or self.kind == OTHER:
                self.carry = data
                return
        # Up to the last "<": every run before it is whole; the rest waits for the next block.
        cut = len(data) if final else max(data.rfind(b"<"), 0)
        region, self.carry = data[:cut], data[cut:]
        if len(self.carry) > self.carry_max:
            raise _Inexact  # more than a tag and a cell's text without a "<": expat says what it is
        if not region:
            return
        if b"<!" in region or b"<?" in region or RICH_RUN.search(region) or PREFIXED_RICH_RUN.search(region):
            raise _Inexact
        if self.kind == WORKSHEET:
            self.rows += region.count(b"<row") + region.count(b":row")
            if self.rows > self.check.limits.rows:
                raise self.check.too_many_rows(self.info)
            if self.needle is not None and self.needle in region:
                raise _Inexact  # maybe the cell using the too-long string: expat finds it
        self._runs(region)

    def _root(self, data: bytes, final: bool) -> bytes:
        """Find the root element; the bytes from its tag on (the declaration gone)."""
        match = ROOT.match(data)
        if match is None:
            if not final and len(data) < BLOCK_SIZE:
                return data  # wait for more
            if data.lstrip()[:1] in (b"<", b"\xef", b"\xff", b"\xfe"):
                raise _Inexact  # XML, but a comment first or not UTF-8
            self.kind, self.wants_more = OTHER, False  # an image, a binary part
            return b""
        root = match.group(2)
        if root == b"worksheet":
            self.kind = WORKSHEET
        elif root == b"sst":
            self.kind = SHARED_STRINGS
        else:
            self.kind, self.wants_more = OTHER, False
            return b""
        return data[match.start(1) :]

    def _runs(self, region: bytes) -> None:
        window, size, find = self.window, len(region), region.find
        start = 0
        while start + window <= size:
            if find(b"<", start, start + window) >= 0:
                start += window
                continue
            begin = region.rfind(b"<", 0, start) + 1
            end = find(b"<", start)
            end = size if end < 0 else end
            self._run(region[begin:end])
            start = end

    def _run(self, run: bytes) -> None:
        """A stretch between two "<": the rest of a tag, then text."""
        tag = TAG_END.match(run)
        if tag is None or tag.end() > PENDING_MAX_BYTES:
            raise _Inexact
        text = run[tag.end() :]
        if len(text) > self.limit:
            try:
                too_long = _text_chars(text) > self.limit
            except UnicodeDecodeError:
                raise _Inexact from None
            if too_long:
                raise _Inexact  # expat reads it again, to say which cell


class _Scanner:
    """A part through expat. Its root element says what it is: the shared strings and
    worksheets are looked into cell by cell, anything else (styles, drawings, an image)
    only has its bytes counted. A DTD is refused wherever it appears: no part of a
    workbook has one, and entities are how XML grows without bound."""

    def __init__(self, check: _Check, info: zipfile.ZipInfo):
        self.check, self.info = check, info
        self.limit = check.limits.cell_chars
        self.kind: str | None = None
        self.wants_more = True
        self.fed = 0
        parser = self.parser = ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._doctype
        parser.StartElementHandler = self._root
        self.chars = 0  # the current cell's text so far
        self.loose = 0  # text outside any cell, since the last tag
        self.in_cell = False
        self.row = 0
        self.rows = 0
        self.cells_in_row = 0
        self.cell_ref: str | None = None
        self.cell_type: str | None = None
        self.text: list[str] | None = None  # a short text kept: a header, an index
        self.head: dict[int, list[tuple[str | None, str]]] = {}
        self.strings = -1  # shared strings: the index of the current one

    def feed(self, block: bytes, *, final: bool = False) -> None:
        try:
            self.parser.Parse(block, final)
        except _Stop:
            self.wants_more = False
            return
        except ExpatError:
            if self.kind is None:  # no XML at all: an image, a binary part
                self.wants_more = False
                return
            raise ImportFileError(_(DAMAGED)) from None
        self.fed += len(block)
        if self.fed - self.parser.CurrentByteIndex > PENDING_MAX_BYTES:
            raise ImportFileError(_(DAMAGED))

    def _doctype(self, *args) -> None:
        raise ImportFileError(_(DAMAGED))

    def _root(self, name: str, attrs: dict) -> None:
        local = name.rpartition(" ")[2]
        parser = self.parser
        if local == "worksheet":
            self.kind = WORKSHEET
            parser.StartElementHandler = self._sheet_start
            parser.EndElementHandler = self._sheet_end
            parser.CharacterDataHandler = self._sheet_text
        elif local == "sst":
            self.kind = SHARED_STRINGS
            parser.StartElementHandler = self._string_start
            parser.CharacterDataHandler = self._string_text
        else:
            self.kind = OTHER
            raise _Stop

    # --- shared strings: each <si>, rich-text runs and all, is one cell's text ---

    def _string_start(self, name: str, attrs: dict) -> None:
        if name.rpartition(" ")[2] == "si":
            self.strings += 1
            self.chars = 0

    def _string_text(self, data: str) -> None:
        self.chars += len(data)
        if self.chars > self.limit:
            # Named by the first cell that uses it, found while the sheets are read.
            self.check.long_string = max(self.strings, 0)
            raise _Stop

    # --- worksheets ---

    def _sheet_start(self, name: str, attrs: dict) -> None:
        self.loose = 0
        local = name.rpartition(" ")[2]
        if local == "c":
            self.in_cell = True
            self.chars = 0
            self.cells_in_row += 1
            self.cell_ref = attrs.get("r")
            self.cell_type = attrs.get("t")
            locating = self.check.long_string is not None and self.cell_type == "s"
            self.text = [] if self.row <= HEADER_SEARCH_ROWS or locating else None
        elif local == "row":
            number = attrs.get("r")
            self.row = int(number) if number and number.isdigit() else self.row + 1
            self.cells_in_row = 0
            self.rows += 1
            if self.rows > self.check.limits.rows:
                raise self.check.too_many_rows(self.info)

    def _sheet_end(self, name: str) -> None:
        self.loose = 0
        if self.in_cell and name.rpartition(" ")[2] == "c":
            self.in_cell = False
            if self.text is not None:
                self._cell_done("".join(self.text))
                self.text = None

    def _sheet_text(self, data: str) -> None:
        if not self.in_cell:
            self.loose += len(data)
            if self.loose > self.limit:
                raise self.check.text_too_long(self.info)
            return
        self.chars += len(data)
        if self.chars > self.limit:
            raise self.check.cell_too_long(self.info, *self._position(), self.head)
        if self.text is not None and sum(map(len, self.text)) < HEADER_CHARS:
            self.text.append(data)

    def _position(self) -> tuple[int, int]:
        """(row, column) of the current cell, from its reference when it has one."""
        if self.cell_ref:
            try:
                letters, row = coordinate_from_string(self.cell_ref)
                return row, column_index_from_string(letters)
            except ValueError:
                pass
        return self.row, self.cells_in_row

    def _cell_done(self, text: str) -> None:
        row, column = self._position()
        long_string = self.check.long_string
        if long_string is not None and self.cell_type == "s" and text.strip() == str(long_string):
            raise self.check.cell_too_long(self.info, row, column, self.head)
        if row <= HEADER_SEARCH_ROWS and text:
            self.head.setdefault(column, []).append((self.cell_type, text[:HEADER_CHARS]))


class _ShortString:
    """The text of shared string number ``wanted``, cut at ``HEADER_CHARS``."""

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, wanted: int):
        self.wanted, self.index, self.parts = wanted, -1, []
        parser = ParserCreate(namespace_separator=" ")
        parser.StartDoctypeDeclHandler = self._stop
        parser.StartElementHandler = self._start
        parser.CharacterDataHandler = self._text
        try:
            with archive.open(info) as stream:
                while block := stream.read(BLOCK_SIZE):
                    parser.Parse(block, False)
        except _Stop:
            pass

    @property
    def text(self) -> str:
        return "".join(self.parts)[:HEADER_CHARS]

    def _stop(self, *args) -> None:
        raise _Stop

    def _start(self, name: str, attrs: dict) -> None:
        if name.rpartition(" ")[2] == "si":
            self.index += 1
            if self.index > self.wanted:
                raise _Stop

    def _text(self, data: str) -> None:
        if self.index == self.wanted and sum(map(len, self.parts)) < HEADER_CHARS:
            self.parts.append(data)


# --- sheet names, for messages ----------------------------------------------------------

NAMES_MAX_BYTES = 1024 * 1024
RELATIONSHIP_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _small_part(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
        if info.file_size > NAMES_MAX_BYTES or _unsupported(info):
            return None
        with archive.open(info) as stream:
            return stream.read(NAMES_MAX_BYTES)
    except (KeyError, zipfile.BadZipFile, OSError, zlib.error, RuntimeError, EOFError):
        return None


def _xml(content: bytes | None) -> ElementTree.Element | None:
    if content is None or b"<!" in content:
        return None
    try:
        return ElementTree.fromstring(content)
    except ElementTree.ParseError:
        return None


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """{worksheet part → the sheet's name}, found as openpyxl finds them (the package's
    relationships, then the workbook's); {} when the workbook says nothing usable."""
    package = _xml(_small_part(archive, "_rels/.rels"))
    workbook = "xl/workbook.xml"
    for relation in package if package is not None else ():
        if relation.get("Type", "").endswith("/officeDocument"):
            workbook = relation.get("Target", workbook).lstrip("/")
    folder, base = posixpath.split(workbook)
    relations = _xml(_small_part(archive, posixpath.join(folder, "_rels", base + ".rels")))
    book = _xml(_small_part(archive, workbook))
    if relations is None or book is None:
        return {}
    targets = {}
    for relation in relations:
        target = relation.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        targets[relation.get("Id")] = path
    names = {}
    for element in book.iter():
        if element.tag.rpartition("}")[2] == "sheet":
            target = targets.get(element.get(f"{{{RELATIONSHIP_NS}}}id"))
            if target and element.get("name"):
                names[target] = element.get("name")
    return names
