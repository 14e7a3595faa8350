#!/usr/bin/env python
"""Run every ``bench/bench_*.py`` and record the results.

Each benchmark module has ``NAME``, ``TARGET`` (a sentence) and ``run() -> dict`` that
returns measurements including ``passed`` (bool) and ``summary`` (one line). Results go
to ``bench/results.json`` (machine-readable) and a table in ``BENCHMARKS.md``.

Benchmarks run on PostgreSQL (``BENCH_DATABASE_URL``, default a ``povertyexit_bench``
database on 127.0.0.1) because city-scale targets are about the production database.
``python bench/run.py seed`` runs only the benchmarks whose file name contains "seed".
"""

import importlib.util
import json
import platform
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str]) -> int:
    selected = argv[1:]
    results_path = BENCH_DIR / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    failed = False
    for path in sorted(BENCH_DIR.glob("bench_*.py")):
        if selected and not any(s in path.stem for s in selected):
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"==> {module.NAME}: {module.TARGET}", flush=True)
        result = module.run()
        result.update(
            name=module.NAME,
            target=module.TARGET,
            # Django switches the process's TZ when a benchmark sets it up: be explicit.
            when=datetime.now(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds"),
            machine=f"{platform.machine()}, {platform.python_version()}",
        )
        results[path.stem] = result
        failed |= not result["passed"]
        print(f"    {'PASS' if result['passed'] else 'FAIL'}: {result['summary']}", flush=True)
    results_path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    write_markdown(results)
    return 1 if failed else 0


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
        verdict = "pass" if result["passed"] else "**FAIL**"
        lines.append(f"| {result['name']} | {result['target']} | {verdict} | {result['summary']} | {result['when']} |")
    if "bench_load" in results:
        lines += _load_table(results["bench_load"])
    if "bench_pages" in results:
        lines += _growth_table(results["bench_pages"])
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")


def _load_table(result: dict) -> list[str]:
    """The load benchmark per number of users."""
    lines = [
        "",
        "## Load at city scale (bench_load)",
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
