"""Builders shared by the import page, API and browser tests: files a cadre would upload
(built with ``tests.households.test_importing.build``), jobs started through the service,
and bare job rows for the history list.

ID numbers here are born 1975-03-08 (members) and 1976-xx (spouses), so they never meet
the factories' 1980-05-17 numbers nor test_importing's ``HEAD_ID``.
"""

from __future__ import annotations

import io
import uuid
from html.parser import HTMLParser

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook
from stdnum.cn import ric

from imports import services
from imports.models import ImportJob, ImportKind, ImportStatus
from tests.conftest import VILLAGE_A
from tests.households.test_importing import HOUSEHOLD_ROW, MEMBER_ROW, build

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ID_LOST_DIGITS = "证件号码被Excel按数字保存，末尾数字已丢失，请将该列设为文本后重新录入"


def id_number(serial: int, *, birth: str = "19750308", male: bool = True) -> str:
    """A valid 18-digit resident ID of 汉滨区; odd sequence digits are men."""
    sequence = serial * 2 + (1 if male else 0)
    body = f"610902{birth}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def household_number(n: int, village: str = VILLAGE_A) -> str:
    return f"{village}{n:04d}"


def household_row(n: int, *, village: str = VILLAGE_A, **cells) -> dict:
    return {**HOUSEHOLD_ROW, "户编号*": household_number(n, village), "村区划代码*": village, **cells}


def member_row(n: int, id_: str, name: str, relationship: str = "户主", *, village: str = VILLAGE_A, **cells) -> dict:
    return {
        **MEMBER_ROW,
        "户编号*": household_number(n, village),
        "姓名*": name,
        "证件号码*": id_,
        "与户主关系*": relationship,
        **cells,
    }


def families(count: int = 2, *, village: str = VILLAGE_A, first: int = 1) -> tuple[list[dict], list[dict]]:
    """``count`` households, each a head and a spouse: (household rows, member rows)."""
    households, members = [], []
    for n in range(first, first + count):
        households.append(household_row(n, village=village))
        members.append(member_row(n, id_number(n), f"王户主{n}", village=village))
        members.append(member_row(n, id_number(n, birth="19760411", male=False), f"张配偶{n}", "配偶", village=village))
    return households, members


def clean_file(count: int = 2, **kwargs) -> bytes:
    households, members = families(count, **kwargs)
    return build(households=households, members=members).getvalue()


def file_with_bad_member(count: int = 2) -> tuple[bytes, int]:
    """``count`` clean households whose last member row's ID lost its end in Excel.
    Returns (content, the bad row's Excel row number on the members sheet)."""
    households, members = families(count)
    members[-1] = {**members[-1], "证件号码*": lost_digits(members[-1]["证件号码*"])}
    return build(households=households, members=members).getvalue(), len(members) + 1


def lost_digits(number: str) -> float:
    """What Excel keeps of an ID typed into a number cell: 15 significant digits."""
    return float(number[:15] + "000")


def upload(content: bytes | io.BytesIO, name: str = "贫困户导入.xlsx") -> SimpleUploadedFile:
    if isinstance(content, io.BytesIO):
        content = content.getvalue()
    return SimpleUploadedFile(name, content, content_type=XLSX)


def start(user, content: bytes | io.BytesIO, name: str = "贫困户导入.xlsx") -> ImportJob:
    """A job started through the service, as the upload page would (checked inline)."""
    return services.import_start(by=user, kind=ImportKind.HOUSEHOLDS, upload=upload(content, name))


def bare_job(user, *, status: str = ImportStatus.READY, name: str = "导入.xlsx", **fields) -> ImportJob:
    """A job row without a stored file, for the history list."""
    counts = {
        "households": {"new": 2, "updated": 0, "unchanged": 0, "rejected": 0},
        "members": {"new": 4, "updated": 0, "unchanged": 0, "rejected": 0},
    }
    token = uuid.uuid4().hex
    return ImportJob.objects.create(
        kind=ImportKind.HOUSEHOLDS,
        status=status,
        uploaded_by=user,
        region_id=user.region_id,
        token=token,
        original_name=name,
        file_size=1024,
        file=f"imports/test/{token}/original.xlsx",
        counts=fields.pop("counts", counts),
        progress=100,
        **fields,
    )


def body(response) -> bytes:
    """The bytes of a plain or streamed (FileResponse) answer."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def workbook(response_or_bytes):
    content = response_or_bytes if isinstance(response_or_bytes, bytes) else body(response_or_bytes)
    return load_workbook(io.BytesIO(content))


def header_columns(sheet) -> dict[str, int]:
    """{header without the required star → 1-based column} of a sheet's first row."""
    return {str(cell.value).rstrip("*"): cell.column for cell in sheet[1] if cell.value is not None}


class _TableReader(HTMLParser):
    def __init__(self, testid: str):
        super().__init__(convert_charrefs=True)
        self.testid = testid
        self.depth = 0  # <table> nesting inside the wanted table
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (self.depth or attrs.get("data-testid") == self.testid):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table(response, testid: str) -> list[list[str]]:
    """The cell texts, row by row (header row first), of the table with ``data-testid``."""
    reader = _TableReader(testid)
    reader.feed(response if isinstance(response, str) else response.content.decode())
    return reader.rows
