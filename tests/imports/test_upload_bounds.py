"""Uploads within bounds (issue 16, point 4): what an .xlsx unpacks to — its parts,
cells and rows — is checked before openpyxl holds any of it, and only a file small
both packed and unpacked is checked inside the request.

The hostile files are built here by writing the zip directly, a block at a time, so a
file holding a 32 MB cell costs the test a few KB of memory. Each goes through the
upload page and the API alike, uploaded by alice (village cadre of 西关村); a file the
request hands to the worker is then run as the worker runs it. A refused file ends the
job 文件无法导入 with a message naming the limit, and nothing is written: not the
registry, not the parsed rows, not an error workbook.
"""

import io
import re
import struct
import tracemalloc
import zipfile
from collections.abc import Callable

import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils import get_column_letter

from core import jobs
from households.excel import HOUSEHOLD_SHEET, MEMBER_SHEET
from households.models import Household
from imports import bounds, errorbook
from imports.models import ImportJob, ImportStatus
from tests.imports.pages_helpers import upload
from tests.imports.workbooks import (
    H1,
    H2,
    HOUSEHOLD_HEADERS,
    MEMBER_HEADERS,
    error_workbook,
    header_column,
    household,
    liu_family,
    member,
    registry_snapshot,
    start,
    wang_family,
    workbook,
)

pytestmark = pytest.mark.django_db

PAGE = "/imports/households/new/"
API = "/api/v1/imports/households/"
HUGE = 32 * 1024 * 1024  # one cell's text, in bytes
BLOCK = b"a" * (1024 * 1024)
# Loading the huge cell would cost at least its size; the check holds a block or two
# (what a request traces besides is mostly the modules it imports on first use).
MEMORY_BOUND = HUGE // 2


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(params=["page", "api"])
def via(request):
    return request.param


class Broker:
    """Stands in for Celery: keeps what the request hands over; ``run`` is the worker."""

    def __init__(self):
        self.sent: list[tuple] = []

    def names(self) -> list[str]:
        return [task.name for task, _args in self.sent]

    def run(self) -> None:
        while self.sent:
            task, args = self.sent.pop(0)
            task(*args)


@pytest.fixture
def broker(monkeypatch):
    broker = Broker()
    monkeypatch.setattr(jobs, "send", lambda task, *args: broker.sent.append((task, args)))
    return broker


@pytest.fixture
def post(client, alice, via, django_capture_on_commit_callbacks):
    """Upload a file as alice by the page or the API: (the job, the request's peak of
    traced memory). The request's on-commit work (handing to the broker) runs."""
    client.force_login(alice)

    def post(content: bytes, name: str = "贫困户导入.xlsx") -> tuple[ImportJob, int]:
        tracemalloc.start()
        try:
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(PAGE if via == "page" else API, {"file": upload(content, name)})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert response.status_code == (302 if via == "page" else 201), response.content[:500]
        return ImportJob.objects.get(), peak

    return post


def shown(client, via, job: ImportJob) -> str:
    """The job's status and message as the uploader sees them."""
    if via == "page":
        response = client.get(f"/imports/{job.pk}/")
        assert response.status_code == 200
        return response.content.decode()
    response = client.get(f"/api/v1/imports/{job.pk}/")
    assert response.status_code == 200
    data = response.json()
    return f"{data['status_display']} {data['message']}"


def assert_refused(job: ImportJob, message: str, media) -> None:
    """Ended 文件无法导入 with ``message``; nothing kept but the upload itself."""
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportStatus.FAILED, message)
    assert (job.errors, job.error_report, job.parsed_file, job.total_rows) == ([], "", "", None)
    assert not Household.objects.exists()
    assert [path.name for path in media.rglob("*") if path.is_file()] == ["original.xlsx"]


# --- building files ---------------------------------------------------------------------

Writer = Callable[[io.BufferedIOBase], None]


def parts_of(content: bytes) -> dict[str, bytes | Writer]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    return {info.filename: archive.read(info) for info in archive.infolist()}


def zipped(parts: dict[str, bytes | Writer], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``parts``; a callable part is written as a stream, a block at a time."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in parts.items():
            if callable(data):
                with archive.open(name, "w") as part:
                    data(part)
            else:
                archive.writestr(name, data)
    return out.getvalue()


def stretched(text: str, size: int = HUGE) -> Writer:
    """Writes ``text`` as ``size`` bytes of "a" in its place: one cell, not one buffer."""

    def write(part):
        for _ in range(size // len(BLOCK)):
            part.write(BLOCK)

    write.stands_for = text.encode()
    return write


INLINE = re.compile(rb'<c ([^>]*?)t="inlineStr"([^>]*)><is><t[^>]*>(.*?)</t></is></c>')
SHARED_STRINGS_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SHARED_STRINGS_RELATION = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def as_excel_saves(content: bytes, *, huge: Writer | None = None) -> bytes:
    """``content`` (openpyxl writes every text inline, in its cell) as Excel saves it:
    each distinct text once in xl/sharedStrings.xml, cells pointing at it. ``huge``
    streams its text's entry instead (the 233 KB file of issue 16)."""
    parts = parts_of(content)
    strings: list[bytes] = []
    index: dict[bytes, int] = {}

    def shared(match: re.Match) -> bytes:
        text = match.group(3)
        index.setdefault(text, len(strings))
        if index[text] == len(strings):
            strings.append(text)
        return b'<c %st="s"%s><v>%d</v></c>' % (match.group(1), match.group(2), index[text])

    for name in list(parts):
        if name.startswith("xl/worksheets/sheet"):
            parts[name] = INLINE.sub(shared, parts[name])
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/></Types>' % SHARED_STRINGS_TYPE
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rIdStrings" Type="%s" Target="sharedStrings.xml"/></Relationships>'
        % SHARED_STRINGS_RELATION,
    )

    def table(part):
        part.write(b'<?xml version="1.0" encoding="UTF-8"?>\n')
        part.write(
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" uniqueCount="%d">' % len(strings)
        )
        for text in strings:
            part.write(b"<si><t>")
            if huge is not None and text == huge.stands_for:
                huge(part)
            else:
                part.write(text)
            part.write(b"</t></si>")
        part.write(b"</sst>")

    parts["xl/sharedStrings.xml"] = table
    return zipped(parts)


def with_inline(content: bytes, sheet: str, text: str, writer: Writer) -> bytes:
    """``content`` with the inline cell holding ``text`` on ``sheet`` (a part name)
    streamed by ``writer`` instead."""
    parts = parts_of(content)
    before, after = parts[sheet].split(b"<t>%s</t>" % text.encode())

    def write(part):
        part.write(before + b"<t>")
        writer(part)
        part.write(b"</t>" + after)

    parts[sheet] = write
    return zipped(parts)


def families() -> bytes:
    return workbook([household(H1), household(H2)], [*wang_family(), *liu_family()])


def column_of(headers: list[str], header: str) -> str:
    return get_column_letter(headers.index(header) + 1)


def too_long(sheet: str, row: int, column: str, header: str, limit: int = 1000) -> str:
    return (
        f"“{sheet}”表第 {row} 行 {column} 列（{header}）的内容超过 {limit} 个字的上限，"
        "请检查该单元格（是否误粘贴了大段文字）后重新上传。"
    )


# 刘大山 is on row 5 of 成员信息 (after the header and the three 王).
LIU_NAME = too_long(MEMBER_SHEET, 5, column_of(MEMBER_HEADERS, "姓名*"), "姓名")


# --- a file as Excel saves it goes through -----------------------------------------------


def test_it_imports_a_file_saved_with_shared_strings_inside_the_request(client, via, post, broker):
    job, _peak = post(as_excel_saves(families()))

    assert (job.status, job.message, broker.names()) == (ImportStatus.READY, "", [])
    assert job.counts["members"]["new"] == 5


# --- one huge cell: the 233 KB file of issue 16 ---------------------------------------------


@pytest.mark.parametrize("where", ["shared-strings", "inline"])
def test_it_refuses_a_small_file_with_a_huge_cell_in_the_worker_without_loading_it(
    client, via, post, broker, media, where
):
    big = stretched("刘大山")
    if where == "shared-strings":
        content = as_excel_saves(families(), huge=big)
    else:
        content = with_inline(families(), "xl/worksheets/sheet2.xml", "刘大山", big)
    assert len(content) < 256 * 1024  # below IMPORT_INLINE_MAX_BYTES: once checked in the request
    before = registry_snapshot()

    job, request_peak = post(content)

    # The request only learnt that the file unpacks to more than it checks inline.
    assert (job.status, broker.names()) == (ImportStatus.QUEUED, ["imports.check"])
    assert request_peak < MEMORY_BOUND
    tracemalloc.start()
    try:
        broker.run()
        worker_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert worker_peak < MEMORY_BOUND
    assert_refused(job, LIU_NAME, media)
    assert registry_snapshot() == before
    page = shown(client, via, job)
    assert "文件无法导入" in page and LIU_NAME in page


def test_a_cell_just_over_the_limit_is_refused_inside_the_request_naming_its_cell(client, via, post, media):
    notes = "情" * 1001
    job, _peak = post(workbook([household(H1, 特殊情况说明=notes)], wang_family()))

    column = column_of(HOUSEHOLD_HEADERS, "特殊情况说明")
    assert_refused(job, too_long(HOUSEHOLD_SHEET, 2, column, "特殊情况说明"), media)


def test_a_cell_at_the_limit_is_imported(post):
    job, _peak = post(workbook([household(H1, 特殊情况说明="情" * 1000)], wang_family()))

    assert (job.status, job.message) == (ImportStatus.READY, "")


def test_a_cell_cut_into_rich_text_runs_counts_as_one(via, post, media):
    """openpyxl joins a rich-text cell's runs again: 20 runs of 60 characters are one
    cell of 1,200, though no run alone passes the limit."""

    def rich(book):
        runs = [TextBlock(InlineFont(b=index % 2 == 0), "说" * 60) for index in range(20)]
        book[HOUSEHOLD_SHEET].cell(
            row=2, column=header_column(book[HOUSEHOLD_SHEET], "特殊情况说明")
        ).value = CellRichText(runs)

    job, _peak = post(workbook([household(H1)], wang_family(), edit=rich))

    column = column_of(HOUSEHOLD_HEADERS, "特殊情况说明")
    assert_refused(job, too_long(HOUSEHOLD_SHEET, 2, column, "特殊情况说明"), media)


def test_the_cell_limit_is_a_setting(settings, post, media):
    settings.IMPORT_MAX_CELL_CHARS = 20  # an ID number is 18
    job, _peak = post(workbook([household(H1, 帮扶责任人="帮" * 21)], wang_family()))

    column = column_of(HOUSEHOLD_HEADERS, "帮扶责任人")
    assert_refused(job, too_long(HOUSEHOLD_SHEET, 2, column, "帮扶责任人", limit=20), media)


# --- rows ---------------------------------------------------------------------------------


def test_a_sheet_over_the_row_limit_is_refused(settings, via, post, media):
    settings.IMPORT_MAX_ROWS = 4  # 户信息 has 3 rows, 成员信息 6 (the header and 5 people)

    job, _peak = post(families())

    assert_refused(job, "“成员信息”表超过 4 行的上限（含设置了格式的空行），请删除多余的行，或拆分后分批导入。", media)


# --- zip bombs ------------------------------------------------------------------------------


def zeros(size: int) -> Writer:
    def write(part):
        block = bytes(1024 * 1024)
        for _ in range(size // len(block)):
            part.write(block)

    return write


def test_a_highly_compressed_part_is_refused_by_its_ratio(client, via, post, broker, media):
    parts = parts_of(families())
    parts["xl/media/image1.bin"] = zeros(64 * 1024 * 1024)  # 64 MB of zeros pack to 64 KB

    job, request_peak = post(zipped(parts))
    assert (job.status, broker.names()) == (ImportStatus.QUEUED, ["imports.check"])
    broker.run()

    assert request_peak < MEMORY_BOUND
    assert_refused(
        job,
        "文件中的“xl/media/image1.bin”压缩比超过 100 倍，不是正常的 Excel 工作簿"
        "（可能已损坏，或是恶意构造的“压缩炸弹”），未导入。请用 Excel 打开确认后另存为 .xlsx 重新上传。",
        media,
    )


def test_a_sheet_padded_with_markup_is_refused_naming_the_sheet(post, broker, media):
    """Empty cells without a row are no text and no rows, only bytes: the ratio stops them."""
    parts = parts_of(families())
    before, after = parts["xl/worksheets/sheet2.xml"].split(b"</sheetData>")

    def padded(part):
        part.write(before)
        block = b"<c/>" * (256 * 1024)
        for _ in range(32):
            part.write(block)
        part.write(b"</sheetData>" + after)

    parts["xl/worksheets/sheet2.xml"] = padded
    job, _peak = post(zipped(parts))
    broker.run()

    assert_refused(
        job,
        "文件中的“成员信息”压缩比超过 100 倍，不是正常的 Excel 工作簿（可能已损坏，或是恶意构造的“压缩炸弹”），"
        "未导入。请用 Excel 打开确认后另存为 .xlsx 重新上传。",
        media,
    )


def test_a_nested_zip_is_counted_by_its_own_bytes_and_never_opened(post, broker):
    """A zip bomb carried inside (42.zip and the like: zips of zips of zeros) is a part
    like an embedded object: nothing opens it, so it costs what it weighs."""
    bomb = zipped({"zeros.bin": zeros(16 * 1024 * 1024)})
    nested = zipped({f"{n}.zip": zipped({f"{m}.zip": bomb for m in range(8)}) for n in range(8)})
    parts = parts_of(families())
    parts["xl/embeddings/oleObject1.bin"] = nested

    job, request_peak = post(zipped(parts))
    tracemalloc.start()
    try:
        broker.run()
        worker_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert max(request_peak, worker_peak) < MEMORY_BOUND
    job.refresh_from_db()
    assert (job.status, job.message) == (ImportStatus.READY, "")


def test_a_zip_of_too_many_parts_is_refused(monkeypatch, via, post, broker, media):
    monkeypatch.setattr(bounds, "MAX_PARTS", 40)
    parts = parts_of(families())
    parts.update({f"customXml/item{n}.xml": b"<a/>" for n in range(40)})

    job, _peak = post(zipped(parts))
    assert broker.names() == ["imports.check"]
    broker.run()

    count = len(parts)
    assert_refused(
        job,
        f"文件内部由 {count} 个部分组成，超过 40 个的上限，不是正常的 Excel 工作簿。请将数据复制到导入模板后重新上传。",
        media,
    )


def test_the_unpacked_size_limit_is_a_setting(settings, via, post, media):
    content = families()
    assert sum(len(part) for part in parts_of(content).values()) > 16 * 1024
    settings.IMPORT_MAX_UNPACKED_BYTES = 16 * 1024

    job, _peak = post(content)

    assert_refused(
        job,
        "文件解压后的内容超过 16 KB 的上限（.xlsx 是压缩文件），请删除无关的工作表、图片，或拆分后分批导入。",
        media,
    )


def test_a_part_over_its_limit_is_refused_naming_the_sheet(settings, post, media):
    """The members sheet, with a long 备注 on every row, is the largest part."""
    notes = "备" * 900
    content = workbook(
        [household(H1), household(H2)], [{**row, "备注": notes} for row in (*wang_family(), *liu_family())]
    )
    sizes = {name: len(part) for name, part in parts_of(content).items()}
    assert max(sizes, key=sizes.get) == "xl/worksheets/sheet2.xml"
    settings.IMPORT_MAX_PART_BYTES = sizes["xl/worksheets/sheet2.xml"] - 1

    job, _peak = post(content)

    limit = settings.IMPORT_MAX_PART_BYTES // 1024
    assert_refused(job, f"“成员信息”表解压后的内容超过 {limit} KB 的上限，请拆分后分批导入。", media)


def lying_about(content: bytes, name: str, size: int) -> bytes:
    """``content`` whose directory says part ``name`` unpacks to ``size`` bytes."""
    data = bytearray(content)
    entry = data.find(b"PK\x01\x02")
    while entry >= 0:
        name_length = struct.unpack_from("<H", data, entry + 28)[0]
        if data[entry + 46 : entry + 46 + name_length] == name.encode():
            struct.pack_into("<L", data, entry + 24, size)
            return bytes(data)
        entry = data.find(b"PK\x01\x02", entry + 46)
    raise AssertionError(f"no part {name}")


def test_a_part_bigger_than_its_directory_says_is_refused(via, post, broker, media):
    """The directory is only believed as far as the bytes agree: a sheet that says
    1 KB and unpacks to 32 MB is read to its first KB and refused."""
    content = with_inline(families(), "xl/worksheets/sheet2.xml", "刘大山", stretched("刘大山"))

    job, _peak = post(lying_about(content, "xl/worksheets/sheet2.xml", 1024))
    broker.run()

    assert_refused(job, "文件内容已损坏或无法识别，请用 Excel 打开确认后另存为 .xlsx 重新上传。", media)


# --- what goes to the worker ------------------------------------------------------------------


def test_a_file_small_packed_but_not_unpacked_is_checked_by_the_worker(settings, via, post, broker):
    settings.IMPORT_INLINE_MAX_UNPACKED_BYTES = 16 * 1024

    job, _peak = post(families())
    assert (job.status, broker.names()) == (ImportStatus.QUEUED, ["imports.check"])
    broker.run()

    job.refresh_from_db()
    assert (job.status, job.counts["members"]["new"]) == (ImportStatus.READY, 5)


# --- the error workbook: text stays text ----------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://x","y")'
FORMULA_LOOKING = {"帮扶责任人": "+1", "帮扶责任人单位": "-1+2", "特殊情况说明": "@SUM(A1)"}


@pytest.fixture(params=["full", "streamed"])
def mode(request, monkeypatch):
    if request.param == "streamed":
        monkeypatch.setattr(errorbook, "FULL_COPY_MAX_BYTES", 0)
    return request.param


def test_text_that_looks_like_a_formula_comes_back_as_text_in_the_error_workbook(alice, mode):
    """+1, -1+2 and @SUM(A1) are strings in the upload and stay strings, quote-prefixed
    so that editing the cell in Excel does not make a formula of them either; a formula
    the uploader typed comes back as its text; a negative number stays a number."""
    members = [*wang_family(), *liu_family()]
    members[0] = member(H1, "王建国", members[0]["证件号码*"], "户主", 务工月数=-1, 务工单位="\t=1+1")
    content = workbook([household(H1, 备注=HYPERLINK, **FORMULA_LOOKING), household(H2)], members)

    job = start(alice, content)

    assert job.status == ImportStatus.REJECTED
    book = error_workbook(job)
    assert [
        (sheet.title, cell.coordinate)
        for sheet in book
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ] == []
    households_sheet = book[HOUSEHOLD_SHEET]
    for header, value in {**FORMULA_LOOKING, "备注": HYPERLINK}.items():
        column = header_column(households_sheet, header) or header_column(households_sheet, f"{header}*")
        cell = households_sheet.cell(row=2, column=column)
        assert (header, cell.value, cell.data_type, cell.quotePrefix) == (header, value, "s", True)
    members_sheet = book[MEMBER_SHEET]
    employer = members_sheet.cell(row=2, column=header_column(members_sheet, "务工单位"))
    assert (employer.value, employer.data_type, employer.quotePrefix) == ("\t=1+1", "s", True)
    months = members_sheet.cell(row=2, column=header_column(members_sheet, "务工月数"))
    assert (months.value, months.data_type) == (-1, "n")
