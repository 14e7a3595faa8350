"""Builders for the import pipeline tests: real .xlsx files as a cadre fills them in, the
uploads that carry them through ``import_start``/``import_confirm``, and readers for
what the pipeline leaves behind (stored rows, history, the error workbook).

Rows are dicts header → cell, the headers of the template (``*`` on required columns),
based on ``HOUSEHOLD_ROW`` / ``MEMBER_ROW`` of the parser's tests. ``BLANK`` in a row
list leaves an empty row.

Two families of 西关村 (alice's village A) most stories start from:

- 王 family, 户编号 ``H1``: 王建国 户主 (1972), 张秀兰 配偶 (1975, ID ending in X),
  王小明 之子 (2012, in 七年级).
- 刘 family, 户编号 ``H2``: 刘大山 户主 (1965), 刘小红 之女 (2015, in 小学).

Their ID numbers are born on other days than the factories' (1980-05-17), so the two
never collide.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook
from stdnum.cn import ric

from households.excel import HOUSEHOLD_SHEET, MEMBER_SHEET
from households.models import Household, Member
from households.services import HOUSEHOLD_FIELDS, MEMBER_FIELDS
from imports.models import ImportJob, ImportKind, ImportStatus
from imports.services import import_confirm, import_start
from tests.conftest import VILLAGE_A
from tests.households.test_importing import HOUSEHOLD_ROW, MEMBER_ROW

BLANK = None  # an empty row in a sheet
HOUSEHOLD_HEADERS = list(HOUSEHOLD_ROW)
MEMBER_HEADERS = list(MEMBER_ROW)

H1 = "6109021012010001"
H2 = "6109021012010002"


def person_id(birth: str, serial: int, *, check: str | None = None) -> str:
    """A valid resident ID of 汉滨区 born on ``birth`` (YYYYMMDD); an odd ``serial`` is a
    man. With ``check``, the next serial of the same sex whose check digit is it."""
    while True:
        body = f"610902{birth}{serial:03d}"
        digit = ric.calc_check_digit(body + "0")
        if check is None or digit == check:
            return body + digit
        serial += 2


WANG_HEAD = person_id("19720411", 11)
WANG_SPOUSE = person_id("19750302", 12, check="X")
WANG_SON = person_id("20120901", 13)
LIU_HEAD = person_id("19650805", 21)
LIU_DAUGHTER = person_id("20150612", 22)
assert WANG_SPOUSE.endswith("X") and not LIU_HEAD.endswith("X")

NOT_WORKING = {"务工状况": "未务工", "务工地点": None, "务工月数": None, "务工单位": None}
PUPIL = {"文化程度": None, "劳动技能*": "无劳动力", **NOT_WORKING}


# Headers the template does not have, which a cadre adds (the importer ignores them),
# and the exit outcome the registry's own ledger carries (read, never required).
EXTRA_HEADERS = frozenset(["备注"])
OUTCOME_HEADERS = frozenset(["脱贫状态", "脱贫年度"])


def _known(cells: dict, headers: list[str]) -> dict:
    unknown = set(cells) - set(headers) - EXTRA_HEADERS - OUTCOME_HEADERS
    assert not unknown, f"not a template header (required ones end in *): {unknown}"
    return cells


def household(number: str = H1, **cells) -> dict:
    """A 户信息 row of an unexited household of village A."""
    _known(cells, HOUSEHOLD_HEADERS)
    return {
        **HOUSEHOLD_ROW,
        "户编号*": number,
        "村区划代码*": VILLAGE_A,
        "易地扶贫搬迁户": "否",
        "搬迁方式": None,
        **cells,
    }


def member(number: str, name: str, id_number: object, relationship: str, **cells) -> dict:
    """A 成员信息 row: a healthy adult working outside the province unless ``cells`` say otherwise."""
    _known(cells, MEMBER_HEADERS)
    return {
        **MEMBER_ROW,
        "户编号*": number,
        "姓名*": name,
        "证件号码*": id_number,
        "与户主关系*": relationship,
        **cells,
    }


def wang_family(number: str = H1) -> list[dict]:
    return [
        member(number, "王建国", WANG_HEAD, "户主"),
        member(number, "张秀兰", WANG_SPOUSE, "配偶", **{"文化程度": "小学", **NOT_WORKING}),
        member(number, "王小明", WANG_SON, "之子", **{"在校生状况": "七年级", **PUPIL}),
    ]


def liu_family(number: str = H2) -> list[dict]:
    return [
        member(number, "刘大山", LIU_HEAD, "户主", **{"务工状况": "县外省内务工", "务工地点": "西安市"}),
        member(number, "刘小红", LIU_DAUGHTER, "之女", **{"在校生状况": "小学", **PUPIL}),
    ]


def _headers(base: list[str], rows: Iterable[dict | None]) -> list[str]:
    headers = list(base)
    for row in rows:
        for header in row or ():
            if header not in headers:
                headers.append(header)
    return headers


def workbook(
    households: Iterable[dict | None] = (),
    members: Iterable[dict | None] = (),
    *,
    edit: Callable[[Workbook], None] | None = None,
    exact_numbers: dict[int, str] | None = None,
) -> bytes:
    """An .xlsx with the two data sheets, header on row 1 (every template column, plus
    any other header a row names), one row per dict. ``edit(workbook)`` may change it
    before saving. ``exact_numbers`` maps a placeholder number used in a cell to the
    digits the saved file holds instead: a number cell with all 18 digits of an ID,
    which neither Excel nor openpyxl would write (they keep 15 significant digits)."""
    book = Workbook()
    book.remove(book.active)
    for name, base, rows in (
        (HOUSEHOLD_SHEET, HOUSEHOLD_HEADERS, list(households)),
        (MEMBER_SHEET, MEMBER_HEADERS, list(members)),
    ):
        sheet = book.create_sheet(name)
        headers = _headers(base, rows)
        sheet.append(headers)
        for row in rows:
            sheet.append([] if row is BLANK else [row.get(header) for header in headers])
    if edit is not None:
        edit(book)
    buffer = io.BytesIO()
    book.save(buffer)
    content = buffer.getvalue()
    return _replace_numbers(content, exact_numbers) if exact_numbers else content


def _replace_numbers(content: bytes, numbers: dict[int, str]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                for placeholder, digits in numbers.items():
                    data = data.replace(f"<v>{placeholder}</v>".encode(), f"<v>{digits}</v>".encode())
            target.writestr(info, data)
    return out.getvalue()


def save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- running an import -----------------------------------------------------------------


def upload(content: bytes, name: str = "贫困户导入.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def start(user, content: bytes, name: str = "贫困户导入.xlsx") -> ImportJob:
    return import_start(by=user, kind=ImportKind.HOUSEHOLDS, upload=upload(content, name))


def import_file(user, content: bytes) -> ImportJob:
    """Upload and confirm a file that must be clean; the applied job."""
    job = start(user, content)
    assert job.status == ImportStatus.READY, job.errors or job.message
    job = import_confirm(by=user, job=job)
    assert job.status == ImportStatus.APPLIED, job.errors or job.message
    return job


def counts(households: dict | None = None, members: dict | None = None) -> dict:
    """A job's counts, zero where not given: counts({"new": 2}, {"new": 5})."""
    zero = {"new": 0, "updated": 0, "unchanged": 0, "rejected": 0, "held": 0}
    return {"households": {**zero, **(households or {})}, "members": {**zero, **(members or {})}}


def row_errors(job: ImportJob) -> list[tuple[str, int, str, str]]:
    return [(e["sheet"], e["row"], e["column"], e["message"]) for e in job.errors]


# --- what is stored --------------------------------------------------------------------


def stored_household(number: str) -> dict:
    household = Household.objects.get(number=number)
    values = {name: getattr(household, name) for name in HOUSEHOLD_FIELDS if name != "village"}
    return values | {"village": household.village_id}


def stored_members(number: str) -> list[dict]:
    members = Member.objects.filter(household__number=number).order_by("pk")
    return [{name: getattr(m, name) for name in [*MEMBER_FIELDS, "sex", "birth_date"]} for m in members]


def registry_snapshot() -> dict:
    """Every registry row and the number of history rows: equal before and after an
    import means the import wrote nothing."""
    return {
        "households": list(Household.objects.order_by("pk").values()),
        "members": list(Member.objects.order_by("pk").values()),
        "household_history": Household.history.count(),
        "member_history": Member.history.count(),
    }


def error_workbook(job: ImportJob, **options) -> Workbook:
    assert job.error_report, "the job has no error report"
    with default_storage.open(job.error_report, "rb") as handle:
        return load_workbook(io.BytesIO(handle.read()), **options)


def header_column(sheet, header: str, row: int = 1) -> int | None:
    """The 1-based column of ``header`` in ``row``, or None."""
    for cell in sheet[row]:
        if cell.value == header:
            return cell.column
    return None
