"""Every list page and API list, single user, as the data grows (issue 17, point 2).

Each role's pages — the cadre's household list, the officials' case lists, approval queue
and notice list, the supervisor's home and dashboards, the API lists — are timed through
``django.test.Client`` with DEBUG off (server-side time: the view, its SQL and the
template; no network) on databases of different sizes:

- ``povertyexit_bench_2k``: 2,000 households, made here with ``seed_demo`` when missing;
- the shared city-scale bench database (``BENCH_DATABASE_URL``, 300,000 households,
  ``bench_seed_demo``/``bench_household_list`` build it);
- with ``BENCH_PROVINCE=1``: ``povertyexit_bench_1m``, 1,000,000 households (a province's
  city cluster; seeding it takes about half an hour, so it is opt-in).

Targets: at 300,000 households every page ≤ 150 ms (median of ``RUNS``), and no page more
than 2× its time at 2,000 households. Each size is measured in its own process (Django
binds one database per process); the slowest statement of each page is EXPLAINed into
``bench/results.json`` so a regression shows its plan.

``python bench/bench_pages.py measure`` is that per-size process: it prints one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

RUNS = int(os.environ.get("BENCH_PAGE_RUNS", "9"))
WARMUP = 2
LIMIT_MS = 150
MAX_GROWTH = 2.0
CITY_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/povertyexit_bench")
SMALL_URL = CITY_URL.rsplit("/", 1)[0] + "/povertyexit_bench_2k"
PROVINCE_URL = CITY_URL.rsplit("/", 1)[0] + "/povertyexit_bench_1m"
PROVINCE = os.environ.get("BENCH_PROVINCE") == "1"

NAME = "pages as the data grows"
TARGET = (
    f"every list page and API list, single user, ≤ {LIMIT_MS} ms server-side at 300,000 households "
    f"and ≤ {MAX_GROWTH:g}× its time at 2,000 (median of {RUNS})"
)

# (role user, label, path): what each role opens in a working day. The demo accounts of
# seed_demo; paths take the current campaign by default.
PAGES = [
    ("cadre", "户列表（村）", "/households/"),
    ("cadre", "退出案件（村）", "/exits/"),
    ("cadre", "首页（村）", "/"),
    ("town", "退出案件（镇）", "/exits/"),
    ("town", "首页（镇）", "/"),
    ("county", "户列表（县）", "/households/"),
    ("county", "户列表 未脱贫+搜索（县）", "/households/?exit_status=not_exited&q=%E7%8E%8B"),
    ("county", "退出案件（县）", "/exits/"),
    ("county", "退出案件 逾期（县）", "/exits/?overdue=true"),
    ("county", "审批队列（县）", "/exits/approvals/"),
    ("county", "公示名单（县）", "/exits/notice-list/"),
    ("county", "监测对象（县）", "/monitoring/"),
    ("county", "首页（县）", "/"),
    ("county", "进度看板（县）", "/dashboard/deadlines/"),
    ("supervisor", "首页（市）", "/"),
    ("supervisor", "退出案件（市）", "/exits/"),
    ("supervisor", "户列表（市）", "/households/"),
    ("supervisor", "监测对象（市）", "/monitoring/"),
    ("supervisor", "进度看板（市）", "/dashboard/deadlines/"),
    ("supervisor", "监测看板（市）", "/dashboard/monitoring/"),
    ("county", "API 户（县）", "/api/v1/households/"),
    ("county", "API 退出案件（县）", "/api/v1/exit-cases/"),
    ("county", "API 监测对象（县）", "/api/v1/monitoring-cases/"),
    ("supervisor", "API 退出案件（市）", "/api/v1/exit-cases/"),
]


# --- the per-size process ------------------------------------------------------------------------


class SqlLog:
    """The statements one request runs, with their parameters and times."""

    def __init__(self):
        self.queries: list[tuple[float, str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append(((time.perf_counter() - started) * 1000, sql, params))

    def __enter__(self):
        from django.db import connection

        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)


def _explain(sql: str, params) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return [row[0] for row in cursor.fetchall()]


def measure() -> dict:
    """Time every page on the database this process was started with."""
    from django.db import connection
    from django.test import Client

    from accounts.models import User
    from dashboards.snapshots import snapshots_refresh
    from households.models import Household
    from regions.tallies import tallies_refresh

    # What the beat jobs keep fresh every minute (regions.tallies, dashboards.snapshots).
    tallies_refresh()
    snapshots_refresh()
    out = {"households": Household.objects.count(), "pages": []}
    clients: dict[str, Client] = {}
    for username, label, path in PAGES:
        if username not in clients:
            clients[username] = Client()
            clients[username].force_login(User.objects.get(username=username))
        client = clients[username]
        for _ in range(WARMUP):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        spent, sql_spent = [], []
        for _ in range(RUNS):
            with SqlLog() as log:
                started = time.perf_counter()
                response = client.get(path)
                spent.append((time.perf_counter() - started) * 1000)
            sql_spent.append(sum(q[0] for q in log.queries))
        slowest_ms, slowest_sql, params = max(log.queries, key=lambda q: q[0]) if log.queries else (0.0, "", None)
        plan = []
        if (
            slowest_sql
            and connection.vendor == "postgresql"
            and not slowest_sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "RELEASE"))
        ):
            try:
                plan = _explain(slowest_sql, params)
            except Exception as exc:  # a plan is for information: never fail the run on it
                plan = [f"(EXPLAIN failed: {exc})"]
        out["pages"].append(
            {
                "user": username,
                "label": label,
                "path": path,
                "ms": round(statistics.median(spent), 1),
                "sql_ms": round(statistics.median(sql_spent), 1),
                "queries": len(log.queries),
                "bytes": len(response.content),
                "slowest_sql_ms": round(slowest_ms, 1),
                "slowest_sql": slowest_sql[:300],
                "plan": plan[:40],
            }
        )
    return out


# --- the benchmark ---------------------------------------------------------------------------


def _ensure_small() -> None:
    import psycopg2

    base, name = SMALL_URL.rsplit("/", 1)
    conn = psycopg2.connect(base + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
        if not exists:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    if exists:
        return
    env = {**os.environ, "DATABASE_URL": SMALL_URL, "POVERTYEXIT_DATA_DIR": str(ROOT / "data" / "bench")}
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    subprocess.run([*manage, "seed_demo", "--households", "2000", "--seed", "1"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def _ensure_province() -> None:
    import bench_household_list

    saved = bench_household_list.DATABASE_URL, bench_household_list.HOUSEHOLDS
    bench_household_list.DATABASE_URL, bench_household_list.HOUSEHOLDS = PROVINCE_URL, 1_000_000
    try:
        bench_household_list._ensure_database()
    finally:
        bench_household_list.DATABASE_URL, bench_household_list.HOUSEHOLDS = saved


def _measure_at(url: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "measure"],
        env={**os.environ, "BENCH_MEASURE_URL": url},
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def run() -> dict:
    import bench_household_list

    bench_household_list._ensure_database()
    _ensure_small()
    sizes = {"2k": _measure_at(SMALL_URL), "300k": _measure_at(CITY_URL)}
    if PROVINCE:
        _ensure_province()
        sizes["1m"] = _measure_at(PROVINCE_URL)
    small = {page["label"]: page for page in sizes["2k"]["pages"]}
    rows, failures = [], []
    for page in sizes["300k"]["pages"]:
        growth = page["ms"] / max(small[page["label"]]["ms"], 0.1)
        row = {
            "label": page["label"],
            "2k_ms": small[page["label"]]["ms"],
            "300k_ms": page["ms"],
            "300k_sql_ms": page["sql_ms"],
            "queries_2k": small[page["label"]]["queries"],
            "queries_300k": page["queries"],
            "growth": round(growth, 2),
        }
        if PROVINCE:
            big = next(p for p in sizes["1m"]["pages"] if p["label"] == page["label"])
            row["1m_ms"] = big["ms"]
        rows.append(row)
        if page["ms"] > LIMIT_MS or growth > MAX_GROWTH:
            failures.append(f"{page['label']} {page['ms']:.0f} ms ({growth:.1f}×)")
    worst = max(rows, key=lambda r: r["300k_ms"])
    summary = (
        f"{len(rows)} pages at {sizes['300k']['households']:,} vs {sizes['2k']['households']:,} households: "
        f"slowest {worst['label']} {worst['300k_ms']:.0f} ms; largest growth "
        f"{max(r['growth'] for r in rows):.2f}×"
        + (f"; over target: {', '.join(failures)}" if failures else "; all within target")
    )
    return {"passed": not failures, "summary": summary, "rows": rows, "sizes": sizes}


if __name__ == "__main__":
    if sys.argv[1:] == ["measure"]:
        from bench_household_list import _setup_django

        _setup_django(os.environ["BENCH_MEASURE_URL"])
        print(json.dumps(measure(), ensure_ascii=False))
    else:
        print(json.dumps(run(), ensure_ascii=False, indent=2))
