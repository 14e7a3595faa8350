#!/usr/bin/env python
"""Run every ``bench/bench_*.py`` and record the results.

Each benchmark module has ``NAME``, ``TARGET`` (a sentence) and ``run() -> dict`` that
returns measurements including ``passed`` (bool) and ``summary`` (one line). Results go
to ``bench/results.json`` (machine-readable) and a table in ``BENCHMARKS.md``.

Benchmarks run on PostgreSQL (``BENCH_DATABASE_URL``, default a ``povertyexit_bench``
database on 127.0.0.1) because city-scale targets are about the production database.
``python bench/run.py seed`` runs only the benchmarks whose file name contains "seed".

With ``BENCH_PROVINCE=1`` the benchmarks of ``PROVINCE_BENCHMARKS`` run a second time on
``povertyexit_bench_1m`` (1,000,000 households, a province's city cluster; seeded on first
use, about half an hour), each in a process of its own (``--province``), and are reported
under their own rows beside the 300,000 figures. Their targets are the city's: at
province scale they are for information and do not fail the run.
"""

import importlib.util
import json
import os
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))


# Run again at 1,000,000 households with BENCH_PROVINCE=1 (bench_pages has the three
# sizes in one table of its own; the seed is timed at city scale only).
PROVINCE_BENCHMARKS = ["bench_household_list", "bench_dashboard", "bench_monitoring_dashboard", "bench_scans",
                       "bench_load"]  # fmt: skip
PROVINCE_SUFFIX = "@1m"
PROVINCE_HOUSEHOLDS = 1_000_000


def main(argv: list[str]) -> int:
    province = "--province" in argv
    selected = [a for a in argv[1:] if a != "--province"]
    results_path = BENCH_DIR / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    failed = False
    for path in sorted(BENCH_DIR.glob("bench_*.py")):
        if selected and not any(s in path.stem for s in selected):
            continue
        if province and path.stem not in PROVINCE_BENCHMARKS:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"==> {module.NAME}: {module.TARGET}", flush=True)
        result = module.run()
        result.update(
            name=module.NAME + (f" — {PROVINCE_HOUSEHOLDS:,} households" if province else ""),
            target=module.TARGET,
            # Django switches the process's TZ when a benchmark sets it up: be explicit.
            when=datetime.now(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds"),
            machine=f"{platform.machine()}, {platform.python_version()}",
            province=province,
        )
        results[path.stem + (PROVINCE_SUFFIX if province else "")] = result
        # At province scale the city's targets are for information.
        failed |= not result["passed"] and not province
        print(f"    {'PASS' if result['passed'] else 'FAIL'}: {result['summary']}", flush=True)
    results_path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    write_markdown(results)
    if not province and os.environ.get("BENCH_PROVINCE") == "1":
        names = [n for n in PROVINCE_BENCHMARKS if not selected or any(s in n for s in selected)]
        if names:
            failed |= _run_province(names) != 0
    return 1 if failed else 0


def _run_province(names: list[str]) -> int:
    """The ``names`` benchmarks again, on the 1,000,000-household database, in a process
    of their own (each module reads its database from the environment when imported)."""
    city = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/povertyexit_bench")
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": city.rsplit("/", 1)[0] + "/povertyexit_bench_1m",
        "BENCH_HOUSEHOLDS": str(PROVINCE_HOUSEHOLDS),
    }
    return subprocess.run([sys.executable, __file__, "--province", *names], env=env).returncode


def write_markdown(results: dict) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`bench/run.py`); raw numbers in `bench/results.json`.",
        "Run on this project's CI machine kind: 2 cores, PostgreSQL 15 on the same host.",
        "",
        "| benchmark | target | result | measured | when |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results.values():
        if result.get("province"):
            verdict = "pass" if result["passed"] else "over (for information)"
        else:
            verdict = "pass" if result["passed"] else "**FAIL**"
        lines.append(f"| {result['name']} | {result['target']} | {verdict} | {result['summary']} | {result['when']} |")
    for key in ("bench_load", "bench_load" + PROVINCE_SUFFIX):
        if key in results:
            lines += _load_table(results[key])
    if "bench_pages" in results:
        lines += _growth_table(results["bench_pages"])
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")


def _load_table(result: dict) -> list[str]:
    """The load benchmark per number of users."""
    lines = [
        "",
        f"## Load at {result['database']['households']:,} households (bench_load)",
        "",
        f"{result['target']}. {result['seconds_per_level']} s per level; gunicorn "
        f"{result['gunicorn']['workers']} × {result['gunicorn']['threads']} {result['gunicorn']['worker_class']} "
        f"behind {result['proxy']}, {result['database']['households']:,} households.",
        "",
        "| users | req/s | p50 | p95 | p99 | errors | SQL share of server time | server p50 / p95 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for level in result["levels"]:
        lines.append(
            f"| {level['users']} | {level['throughput_rps']:.1f} | {level['p50_ms']:.0f} ms | {level['p95_ms']:.0f} ms "
            f"| {level['p99_ms']:.0f} ms | {level['errors']} | {level['sql_share']:.0%} "
            f"| {level['server_p50_ms']:.0f} / {level['server_p95_ms']:.0f} ms |"
        )
    return lines


def _growth_table(result: dict) -> list[str]:
    """Each page's server-side time at each database size (bench_pages)."""
    sizes = result["sizes"]
    province = "1m" in sizes
    lines = [
        "",
        "## Pages as the data grows (bench_pages)",
        "",
        result["target"] + ". Growth is 300,000 over 2,000.",
        "",
        "| page | 2,000 | 300,000 | " + ("1,000,000 | " if province else "") + "growth | queries |",
        "| --- | --- | --- | " + ("--- | " if province else "") + "--- | --- |",
    ]
    for row in result["rows"]:
        big = f"{row['1m_ms']:.0f} ms | " if province else ""
        over = row["300k_ms"] > 150 or row["growth"] > 2
        growth = f"**{row['growth']:.2f}×**" if over else f"{row['growth']:.2f}×"
        lines.append(
            f"| {row['label']} | {row['2k_ms']:.0f} ms | {row['300k_ms']:.0f} ms | {big}{growth} "
            f"| {row['queries_2k']} / {row['queries_300k']} |"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main(sys.argv))
