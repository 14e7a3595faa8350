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
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
