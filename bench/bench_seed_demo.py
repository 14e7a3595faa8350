"""seed_demo at city scale on PostgreSQL: 300,000 households (about 1M members) in
under 10 minutes, with their audit rows (issue: foundation, point 11)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
HOUSEHOLDS = int(os.environ.get("BENCH_HOUSEHOLDS", "300000"))
LIMIT_SECONDS = 600
LIMIT_RSS_MB = 400
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/povertyexit_bench")

NAME = "seed_demo (city scale)"
TARGET = (
    f"`seed_demo --households {HOUSEHOLDS:,}` on PostgreSQL in < {LIMIT_SECONDS // 60} min, "
    f"peak memory ≤ {LIMIT_RSS_MB} MB"
)


def _recreate_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        # FORCE: a benchmark that ran before in this process may still hold a connection.
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def run() -> dict:
    _recreate_database(DATABASE_URL)
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "POVERTYEXIT_DATA_DIR": str(ROOT / "data" / "bench")}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*manage, "load_regions"], env=env, check=True, stdout=subprocess.DEVNULL)
    started = time.monotonic()
    seed = subprocess.Popen(
        [*manage, "seed_demo", "--households", str(HOUSEHOLDS), "--seed", "1"], env=env, stdout=subprocess.DEVNULL
    )
    # The seed's own peak (wait4 reports that child alone): RUSAGE_CHILDREN would be the
    # largest of every child this process ever waited for, gunicorn and locust included
    # when `make bench` ran the load benchmark first.
    _pid, status, usage = os.wait4(seed.pid, 0)
    seed.returncode = os.waitstatus_to_exitcode(status)
    if seed.returncode:
        raise subprocess.CalledProcessError(seed.returncode, seed.args)
    elapsed = time.monotonic() - started
    peak_mb = usage.ru_maxrss / 1024
    with psycopg2.connect(DATABASE_URL) as conn, conn.cursor() as cursor:
        counts = {}
        for table in ("households_household", "households_member", "households_historicalmember"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cursor.fetchone()[0]
    members = counts["households_member"]
    return {
        "passed": elapsed < LIMIT_SECONDS and peak_mb <= LIMIT_RSS_MB and counts["households_household"] == HOUSEHOLDS,
        "summary": (
            f"{HOUSEHOLDS:,} households, {members:,} members (+ history) in {elapsed:.0f} s "
            f"({(HOUSEHOLDS + members) / elapsed:,.0f} rows/s), peak RSS {peak_mb:.0f} MB"
        ),
        "seconds": round(elapsed, 1),
        "households": counts["households_household"],
        "members": members,
        "member_history_rows": counts["households_historicalmember"],
        "peak_rss_mb": round(peak_mb),
    }
