"""The household ledger (户台账) of the whole city: 300,000 households exported as .xlsx,
against the bare openpyxl write-only workbook of the same rows (issue 4, point 7).
Targets: time ≤ 1.5× the bare write; peak memory ≤ 300 MB.

Runs on the database ``bench_seed_demo`` builds (``BENCH_DATABASE_URL``); if it holds
fewer than ``BENCH_HOUSEHOLDS`` households it is migrated and topped up with
``manage.py seed_demo``, as the household list benchmark does.

Each measurement is a fresh child process (``python bench/bench_ledger_export.py
--child WHAT OUT``) with DEBUG off, timed from inside, its peak RSS read by the parent
with ``os.wait4`` (ru_maxrss of that child alone):

- export: ``django.test.Client`` logged in (``force_login``) as the demo city
  supervisor (市级督查, the whole city, masked numbers) GETs
  ``households.views.household_ledger_export`` with no filter, and consumes the whole
  streamed response into a file;
- floor: one plain SQL query (psycopg2 server-side cursor, 2,000 rows a fetch — the
  ledger's chunk size) for the same columns — county, town and village names joined,
  户主 name and member count as subqueries — labels mapped with dicts, phones masked,
  written with ``Workbook(write_only=True)`` to a temp file: the same cells as the
  ledger (bold header, text-format 户编号 and phone cells, frozen header, widths);
- floor_plain (for information): the same rows appended as plain values, no cell styles;
- baseline: the export child's setup (Django, the view's modules, the client logged
  in) without the request: what the process holds before exporting.

The export and the floors take turns, best of ``BENCH_RUNS_LEDGER`` (2) each, so that a
busy spell on the machine hits them alike. Afterwards both
workbooks are read back and compared cell by cell: same rows, same values.
Target memory is the export process's whole peak RSS (what a web worker would hold);
the growth over the baseline is reported too.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
HOUSEHOLDS = int(os.environ.get("BENCH_HOUSEHOLDS", "300000"))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/povertyexit_bench")
RUNS = int(os.environ.get("BENCH_RUNS_LEDGER", "2"))
USERNAME = "supervisor"  # the demo 市级督查: the whole city
MAX_RATIO = 1.5
MAX_PEAK_MB = 300
FETCH = 2000  # rows per fetch, as core.exports.CHUNK_SIZE

NAME = "household ledger export (city scale)"
TARGET = (
    f"户台账 of {HOUSEHOLDS:,} households as the city supervisor: ≤ {MAX_RATIO:g}× the bare openpyxl "
    f"write-only workbook of the same rows, peak memory ≤ {MAX_PEAK_MB} MB"
)


# --- the parent ---------------------------------------------------------------------------


def _env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "POVERTYEXIT_DATA_DIR": str(ROOT / "data" / "bench"),
        "DJANGO_SETTINGS_MODULE": "povertyexit.settings",
        "DJANGO_DEBUG": "0",
    }


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=_env(), check=True, stdout=subprocess.DEVNULL)


def _ensure_database() -> dict:
    """Create, migrate and top up the bench database to HOUSEHOLDS households; ANALYZE it."""
    base, name = DATABASE_URL.rsplit("/", 1)
    conn = psycopg2.connect(base + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    _manage("migrate", "-v0")
    with psycopg2.connect(DATABASE_URL) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM households_household")
        existing = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM accounts_user WHERE username = %s", [USERNAME])
        has_user = cursor.fetchone()[0] == 1
    seeded_seconds = 0.0
    if existing < HOUSEHOLDS:
        started = time.monotonic()
        # Adds households (numbers continue each village's sequence) and resets the demo accounts.
        _manage("seed_demo", "--households", str(HOUSEHOLDS - existing), "--seed", str(1 + existing))
        seeded_seconds = time.monotonic() - started
    elif not has_user:
        _manage("seed_demo", "--households", "0")
    conn = psycopg2.connect(DATABASE_URL)
    conn.autocommit = True
    with conn.cursor() as cursor:
        # What autovacuum does after a bulk load, done now rather than during a measurement
        # (right after seeding, its passes over a million fresh rows skewed timings by 50%).
        cursor.execute(
            "VACUUM (ANALYZE) households_household, households_member, households_historicalhousehold, "
            "households_historicalmember, regions_region"
        )
        cursor.execute("SELECT count(*) FROM households_household")
        households = cursor.fetchone()[0]
    conn.close()
    return {
        "households": households,
        "seeded_households": max(0, HOUSEHOLDS - existing),
        "seed_seconds": round(seeded_seconds, 1),
    }


def _child(what: str, out: Path) -> dict:
    """Run one child; its JSON result plus its own peak RSS in MB."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", what, str(out)], env=_env(), stdout=subprocess.PIPE, text=True
    )
    stdout = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"child {what} failed ({process.returncode})")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # KiB on Linux
    print(f"    [ledger] {what}: {result}", file=sys.stderr, flush=True)
    return result


def _sheet_rows(path: Path):
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()


def compare_workbooks(ours: Path, floor: Path) -> dict:
    """Whether both files hold the same sheet: the CRCs of their zip members (the
    creation time in docProps/core.xml aside); when they differ, cell by cell."""
    with zipfile.ZipFile(ours) as a, zipfile.ZipFile(floor) as b:
        crcs = [{i.filename: i.CRC for i in z.infolist() if i.filename != "docProps/core.xml"} for z in (a, b)]
    if crcs[0] == crcs[1]:
        return {"identical": True, "how": "same CRC-32 of every zip member (sheet XML, styles, workbook)"}
    rows = differing = 0
    first_differences = []
    sentinel = object()
    for x, y in itertools.zip_longest(_sheet_rows(ours), _sheet_rows(floor), fillvalue=sentinel):
        rows += 1
        if x != y:
            differing += 1
            if len(first_differences) < 3:
                first_differences.append({"row": rows, "ours": repr(x), "floor": repr(y)})
    return {
        "identical": False,
        "how": "cell by cell",
        "rows_with_header": rows,
        "differing_rows": differing,
        "first_differences": first_differences,
    }


def run() -> dict:
    database = _ensure_database()
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        ours_file, floor_file, plain_file = Path(tmp) / "ours.xlsx", Path(tmp) / "floor.xlsx", Path(tmp) / "plain.xlsx"
        exports, floors, plains = [], [], []
        for _ in range(RUNS):
            floors.append(_child("floor", floor_file))
            exports.append(_child("export", ours_file))
            plains.append(_child("floor_plain", plain_file))
        baseline = _child("baseline", Path(tmp) / "none")
        comparison = compare_workbooks(ours_file, floor_file)
        sizes = {"ours_mb": ours_file.stat().st_size / 2**20, "floor_mb": floor_file.stat().st_size / 2**20}
    export = min(exports, key=lambda r: r["seconds"])
    floor = min(floors, key=lambda r: r["seconds"])
    plain = min(plains, key=lambda r: r["seconds"])
    ratio = export["seconds"] / floor["seconds"]
    plain_ratio = export["seconds"] / plain["seconds"]
    peak = max(r["peak_rss_mb"] for r in exports)
    growth = peak - baseline["peak_rss_mb"]
    rows = export["rows"]
    same = comparison["identical"] and floor["rows"] == rows
    passed = ratio <= MAX_RATIO and peak <= MAX_PEAK_MB and same
    summary = (
        f"{rows:,} households ({sizes['ours_mb']:.1f} MB .xlsx): export {export['seconds']:.1f} s "
        f"({rows / export['seconds']:,.0f} rows/s) vs bare write-only {floor['seconds']:.1f} s = {ratio:.2f}× "
        f"(≤ {MAX_RATIO:g}; vs unstyled bare {plain['seconds']:.1f} s = {plain_ratio:.2f}×); "
        f"peak RSS {peak:.0f} MB (≤ {MAX_PEAK_MB}; baseline {baseline['peak_rss_mb']:.0f} MB, "
        f"+{growth:.0f} MB exporting); the two files are {'identical' if same else 'DIFFERENT'}"
    )
    result = {
        "passed": passed,
        "summary": summary,
        "database": database,
        "user": USERNAME,
        "runs": RUNS,
        "export": export | {"runs_seconds": [r["seconds"] for r in exports]},
        "floor": floor | {"runs_seconds": [r["seconds"] for r in floors]},
        "floor_plain": plain | {"runs_seconds": [r["seconds"] for r in plains]},
        "baseline": baseline,
        "ratio": round(ratio, 2),
        "ratio_vs_unstyled_floor": round(plain_ratio, 2),
        "peak_rss_mb": peak,
        "peak_growth_mb": round(growth, 1),
        "file_mb": {k: round(v, 1) for k, v in sizes.items()},
        "comparison": comparison,
    }
    if ratio > MAX_RATIO or os.environ.get("BENCH_PROFILE") == "1":
        with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
            result["export_breakdown"] = _child("breakdown", Path(tmp) / "breakdown.xlsx")
            result["export_profile"] = _child("profile", Path(tmp) / "profile.xlsx")
        parts = result["export_breakdown"]
        labels = {"识别标准", "贫困户属性", "主要致贫原因", "脱贫状态", "搬迁方式", "其他致贫原因"}
        display = sum(c["seconds"] for c in parts["column_values_by_column"] if c["column"] in labels)
        result["summary"] += (
            f". Where the export's {parts['seconds']:.0f} s go (instrumented copy of its loop): "
            f"rows from the ORM {parts['fetch_rows']:.0f} s, "
            f"column values {parts['column_values']:.0f} s (of which the 6 label columns "
            f"{display:.0f} s), _cell {parts['core_exports_cell']:.0f} s, "
            f"openpyxl append + save {parts['openpyxl_append'] + parts['openpyxl_save']:.0f} s"
        )
    return result


# --- the children -----------------------------------------------------------------------------


def _setup_django() -> None:
    import warnings

    sys.path.insert(0, str(ROOT))
    warnings.filterwarnings("ignore", "No directory at", UserWarning)
    import django

    django.setup()


def _logged_in_client():
    from django.test import Client

    import core.exports  # noqa: F401 - loaded before the baseline is read, as the export loads it
    import households.views  # noqa: F401
    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=USERNAME))
    return client


def child_export(out: Path, query: str = "") -> dict:
    from django.urls import reverse

    client = _logged_in_client()
    url = reverse("households:export_households") + query
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, (response.status_code, response.content[:300])
    size = 0
    with open(out, "wb") as handle:
        for block in response.streaming_content:
            handle.write(block)
            size += len(block)
    response.close()
    seconds = time.perf_counter() - started
    from households.models import Household

    return {"seconds": round(seconds, 2), "bytes": size, "rows": Household.objects.count(), "url": url}


PROFILE_REGION = "610902000000"  # 汉滨区: a tenth of the city, the same rows per second


def child_profile(out: Path, top: int = 25) -> dict:
    """The real view under cProfile, for one county (cProfile doubles the run time):
    the top functions by own time and by cumulative time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    export = child_export(out, f"?region={PROFILE_REGION}")
    profiler.disable()
    result = {"url": export["url"], "profiled_seconds": export["seconds"]}
    for key in ("tottime", "cumulative"):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(key).print_stats(top)
        lines = stream.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
        result[key] = [line.replace(str(ROOT) + "/", "").rstrip() for line in lines[start : start + top + 1]]
    return result


def child_breakdown(out: Path) -> dict:
    """Where the export's time goes, without a profiler's distortion: the loop of
    ``core.exports.xlsx_streaming_response`` run again over the view's own queryset and
    columns, with a clock around each step — fetching the rows (SQL and building
    each row), each column's value function, ``_cell``, openpyxl's ``append`` — and
    the final ``save``. A diagnostic copy of the loop, not the code path measured above."""
    from django.test import RequestFactory
    from django.urls import reverse
    from django.utils import translation
    from openpyxl import Workbook

    from accounts.models import User
    from core.exports import CHUNK_SIZE, _cell
    from households import exports, views
    from households.excel import HOUSEHOLD_SHEET

    perf = time.perf_counter
    user = User.objects.select_related("region").get(username=USERNAME)
    request = RequestFactory().get(reverse("households:export_households"))
    request.user = user
    with translation.override("zh-hans"):
        started = perf()
        households, _full, _query = views._ledger_households(request)
        columns = exports.household_ledger_columns(False, region_names=exports.ledger_region_names(user=user))
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=HOUSEHOLD_SHEET)
        sheet.append([str(column.header) for column in columns])
        fetch = cells = append = 0.0
        spent = [0.0] * len(columns)
        rows = exports.household_ledger_rows(households).iterator(chunk_size=CHUNK_SIZE)
        count = 0
        while True:
            t0 = perf()
            row = next(rows, None)
            t1 = perf()
            fetch += t1 - t0
            if row is None:
                break
            values = []
            for i, column in enumerate(columns):
                a = perf()
                values.append(column.value(row))
                spent[i] += perf() - a
            t2 = perf()
            written = [_cell(sheet, value, text=column.text) for value, column in zip(values, columns, strict=True)]
            t3 = perf()
            sheet.append(written)
            append += perf() - t3
            cells += t3 - t2
            count += 1
        t4 = perf()
        workbook.save(out)
        save = perf() - t4
        total = perf() - started
    by_column = sorted(
        ({"column": str(c.header), "seconds": round(t, 2)} for c, t in zip(columns, spent, strict=True)),
        key=lambda item: -item["seconds"],
    )
    return {
        "rows": count,
        "seconds": round(total, 2),
        "fetch_rows": round(fetch, 2),
        "column_values": round(sum(spent), 2),
        "column_values_by_column": by_column,
        "core_exports_cell": round(cells, 2),
        "openpyxl_append": round(append, 2),
        "openpyxl_save": round(save, 2),
    }


FLOOR_SQL = """
    SELECT h.number, c.name, t.name, v.name, h.village_id, h.group_no,
           h.head_name,
           h.phone, h.identification_standard, h.attribute, h.main_cause, h.other_causes,
           h.identification_year, h.exit_status, h.exit_year,
           (SELECT count(*) FROM households_member m WHERE m.household_id = h.id),
           h.is_relocated, h.relocation_mode, h.helper_name, h.helper_unit, h.helper_phone,
           h.lost_contact, h.released_prisoner, h.special_notes
    FROM households_household h
    JOIN regions_region v ON v.code = h.village_id
    LEFT JOIN regions_region c ON c.code = left(h.village_id, 6) || '000000'
    LEFT JOIN regions_region t ON t.code = left(h.village_id, 9) || '000'
    WHERE h.village_id LIKE %s
    ORDER BY h.number
"""


def child_floor(out: Path, *, styled: bool) -> dict:
    """The same ledger written by hand: one query, dict lookups, write-only workbook."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from accounts.models import User
    from households.excel import HOUSEHOLD_SHEET
    from households.exports import household_ledger_columns
    from households.models import ExitStatus, IdentificationStandard, PovertyAttribute, PovertyCause, RelocationMode

    user = User.objects.select_related("region").get(username=USERNAME)
    prefix = user.region.prefix
    # The ledger's headers and which of its columns are text, read from the ledger itself.
    columns = household_ledger_columns(False, region_names={})
    standard, attribute, cause, status, mode = (
        {value: str(label) for value, label in choices.choices}
        for choices in (IdentificationStandard, PovertyAttribute, PovertyCause, ExitStatus, RelocationMode)
    )
    mode[""] = ""
    yes, no = "是", "否"

    def masked(phone: str) -> str:
        return phone[:3] + "*" * (len(phone) - 7) + phone[-4:] if phone else ""

    started = time.perf_counter()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=HOUSEHOLD_SHEET)
    bold = Font(bold=True)
    if styled:
        for index, column in enumerate(columns, 1):
            width = 22 if column.text else max(10, 2 * len(column.header))
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=str(column.header))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
    else:
        sheet.append([str(column.header) for column in columns])

    def text(value: str):
        if not styled:
            return value or None
        cell = WriteOnlyCell(sheet, value=value or None)
        cell.number_format = "@"
        return cell

    conn = psycopg2.connect(DATABASE_URL)
    rows = 0
    try:
        with conn.cursor(name="ledger") as cursor:
            cursor.itersize = FETCH
            cursor.execute(FLOOR_SQL, [prefix + "%"])
            for row in cursor:
                (number, county, town, village, village_code, group_no, head, phone, std, attr, main, others,
                 year, st, exit_year, size, relocated, rmode, helper, unit, helper_phone, lost, released,
                 notes) = row  # fmt: skip
                sheet.append(
                    [
                        text(number), county or "", town or "", village, text(village_code), group_no, head or "",
                        text(masked(phone)), standard[std], attribute[attr], cause[main],
                        "、".join(cause[c] for c in others), year, status[st], exit_year, size,
                        yes if relocated else no, mode[rmode], helper, unit, text(masked(helper_phone)),
                        yes if lost else no, yes if released else no, notes,
                    ]
                )  # fmt: skip
                rows += 1
    finally:
        conn.close()
    workbook.save(out)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "bytes": out.stat().st_size, "rows": rows}


def child(what: str, out: Path) -> None:
    _setup_django()
    if what == "export":
        result = child_export(out)
    elif what == "profile":
        result = child_profile(out)
    elif what == "breakdown":
        result = child_breakdown(out)
    elif what == "floor":
        result = child_floor(out, styled=True)
    elif what == "floor_plain":
        result = child_floor(out, styled=False)
    elif what == "baseline":
        _logged_in_client()
        result = {"seconds": 0}
    else:
        raise SystemExit(f"unknown child {what}")
    result["self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], Path(sys.argv[3]))
    else:
        print(json.dumps(run(), ensure_ascii=False, indent=2))
