"""The two background scans at city scale (issue 6): the overdue scan over ~50,000 exit
cases and the 系统监测 at-risk scan over 300,000 households, each timed from scratch
(every alert or finding new) and again at steady state (nothing new: the scheduled
case), with its query count. Targets: overdue scan ≤ 5 s, at-risk scan ≤ 60 s, query
counts independent of size (the same count at 300k as in the tests' handful).

Runs in-process on the benchmark database (``BENCH_DATABASE_URL``), which
``bench_seed_demo`` fills; if it holds fewer households it is topped up with
``seed_demo``. Exit cases are enrolled (demo cases at every step of the current campaign)
until there are ``BENCH_EXIT_CASES``; if the registry has too few unexited households
for that, some exited ones are set back to 未脱贫 first — in this database only.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
HOUSEHOLDS = int(os.environ.get("BENCH_HOUSEHOLDS", "300000"))
EXIT_CASES = int(os.environ.get("BENCH_EXIT_CASES", "50000"))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/povertyexit_bench")
OVERDUE_TARGET, AT_RISK_TARGET = 5.0, 60.0

NAME = "background scans (city scale)"
TARGET = (
    f"overdue scan over {EXIT_CASES:,} exit cases ≤ {OVERDUE_TARGET:g} s and 系统监测 scan over "
    f"{HOUSEHOLDS:,} households ≤ {AT_RISK_TARGET:g} s, on PostgreSQL; query counts independent of size"
)


def _manage(*args: str) -> None:
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "POVERTYEXIT_DATA_DIR": str(ROOT / "data" / "bench")}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True, stdout=subprocess.DEVNULL)


def _ensure_households() -> None:
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
    if existing < HOUSEHOLDS:
        _manage("seed_demo", "--households", str(HOUSEHOLDS - existing), "--seed", str(1 + existing))


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["DJANGO_SETTINGS_MODULE"] = "povertyexit.settings"
    os.environ.setdefault("POVERTYEXIT_DATA_DIR", str(ROOT / "data" / "bench"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _ensure_exit_cases() -> int:
    from exits.demo import demo_campaign, seed_current_cases
    from exits.models import ExitCase
    from households.models import ExitStatus, Household

    campaign = demo_campaign()
    have = ExitCase.objects.filter(campaign=campaign).count()
    if have < EXIT_CASES:
        enrolled = ExitCase.objects.filter(campaign=campaign).values("household_id")
        eligible = (
            Household.objects.filter(exit_status=ExitStatus.NOT_EXITED, identification_year__lt=campaign.year)
            .exclude(pk__in=enrolled)
            .count()
        )
        short = int((EXIT_CASES - have) * 1.02) - eligible
        if short > 0:
            # This database only: set some exited households back to 未脱贫 so there are enough to enrol.
            ids = list(
                Household.objects.filter(exit_status=ExitStatus.EXITED, identification_year__lt=campaign.year)
                .exclude(pk__in=enrolled)
                .order_by("pk")
                .values_list("pk", flat=True)[:short]
            )
            Household.objects.filter(pk__in=ids).update(exit_status=ExitStatus.NOT_EXITED, exit_year=None)
        seed_current_cases(share=1.0, seed=7)
    return ExitCase.objects.filter(campaign=campaign).count()


def _timed(function):
    from django.db import connection, reset_queries

    connection.force_debug_cursor = True
    reset_queries()
    started = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - started
    queries = len(connection.queries)
    connection.force_debug_cursor = False
    return elapsed, queries, result


def run() -> dict:
    _ensure_households()
    _setup_django()
    from django.db import connection

    from exits.scans import overdue_scan
    from households.models import Household
    from monitoring.models import Finding, MonitoringCase
    from monitoring.scans import at_risk_scan
    from notifications.models import Alert

    cases = _ensure_exit_cases()
    households = Household.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    # From scratch: no alert and no finding yet.
    Alert.objects.all().delete()
    overdue_first, overdue_first_queries, first = _timed(overdue_scan)
    overdue_again, overdue_again_queries, _ = _timed(overdue_scan)
    Finding.objects.all().delete()
    MonitoringCase.history.all().delete()
    MonitoringCase.objects.all().delete()
    risk_first, risk_first_queries, found = _timed(at_risk_scan)
    risk_again, risk_again_queries, _ = _timed(at_risk_scan)

    overdue = max(overdue_first, overdue_again)
    at_risk = max(risk_first, risk_again)
    passed = overdue <= OVERDUE_TARGET and at_risk <= AT_RISK_TARGET
    raised = first["overdue"]["raised"] + first["at_risk"]["raised"]
    summary = (
        f"{cases:,} exit cases, {households:,} households. Overdue scan: first run {overdue_first:.2f} s "
        f"({raised:,} alerts raised, {overdue_first_queries} queries), again {overdue_again:.2f} s "
        f"({overdue_again_queries} queries) → {overdue:.2f} s (≤ {OVERDUE_TARGET:g}). 系统监测: first run "
        f"{risk_first:.1f} s ({found['findings']:,} findings, {found['opened']:,} cases opened, "
        f"{risk_first_queries} queries), again {risk_again:.1f} s ({risk_again_queries} queries) → "
        f"{at_risk:.1f} s (≤ {AT_RISK_TARGET:g})"
    )
    return {
        "passed": passed,
        "summary": summary,
        "exit_cases": cases,
        "households": households,
        "overdue_first_s": round(overdue_first, 3),
        "overdue_again_s": round(overdue_again, 3),
        "overdue_queries": [overdue_first_queries, overdue_again_queries],
        "at_risk_first_s": round(risk_first, 2),
        "at_risk_again_s": round(risk_again, 2),
        "at_risk_queries": [risk_first_queries, risk_again_queries],
        "alerts_raised": raised,
        "findings": found["findings"],
    }
