"""The monitoring dashboard at city scale (issue 7, DOMAIN.md §5): each child region's
monitoring cases by stage, responses overdue and measures overdue, and the region's cases
by category, discovery channel and risk type — for the city supervisor at the city root
and for one county drill-down (汉滨区), and for the county official on their own county,
each against the bare SQL that yields the same numbers. Target: at most 1.5× that floor,
all three.

Runs in-process on the benchmark database (``BENCH_DATABASE_URL``), created, migrated and
topped up to ``BENCH_HOUSEHOLDS`` households as ``bench_household_list`` does. The
monitoring cases are those the 系统监测 scan opened (``bench_scans`` runs it over the
whole registry; if the database holds fewer than ``MIN_CASES`` cases,
``monitoring.scans.at_risk_scan`` is run here first).

The scan opens every case in 全面排查 through 系统监测, all discovered on the day it ran,
and no measures — a dashboard with one column and one bar. So the setup (this database
only, raw SQL, no history rows) makes the monitoring data a pure function of each case's
pk, idempotently (an ``UPDATE … WHERE … IS DISTINCT FROM`` that rewrites nothing on a
re-run, and measures inserted only for cases that have none of this benchmark's yet):

- every case: stage by ``pk % 20`` (10 全面排查, 2 综合研判, 4 精准帮扶, 2 动态销号,
  2 研判排除 in 20, with the matching note / decision / closing fields), channel by
  ``pk % 7`` (4 系统监测, 1 each 自我申报, 镇村研判, 行业比对), category by ``pk % 11``
  (8 脱贫不稳定户, 2 边缘易致贫户, 1 其他), discovered ``pk % 45`` days before ``TODAY``
  and due for a response ``response_days`` later (so about two thirds of the cases still
  being screened or assessed are past their response deadline); risk types stay as the
  scan found them;
- every case in 精准帮扶 or 动态销号: one or two measures (``content`` =
  ``MEASURE_MARK``), due between 25 days before and 34 days after ``TODAY``; a closed
  case's measures are done, an open case's every third one.

Measures already in the database (``seed_demo``'s, in 汉滨区) are kept and counted like
any other. The day is fixed at ``TODAY`` so the overdue numbers do not move with the
calendar.

App path: ``dashboards.monitoring.monitoring_progress`` (the totals, child rows and
breakdown the page shows). Floor: ONE hand-written statement through
``connection.cursor()`` — the visible child regions with their names, left-joined to the
cases counted by child-code prefix (one ``FILTER`` per stage and for response overdue)
and to the overdue measures of open cases counted the same way, cross-joined to the
region's breakdown (its cases grouped by category, channel and risk-type list, then one
``FILTER`` sum per category, channel and risk type over those few hundred groups, jsonb
``@>`` for risk types — the app groups the same way and sums in Python). Its numbers are
asserted equal to the app's before anything is timed; app and floor take turns within
each timed round. Each view has its own floor: cases are placed by the region's code
prefix, and by the user's scope prefix too where the scope is wider (the drill-down);
at the user's own region that one ``LIKE`` is all.

History: the county drill-down measured 1.57× and the county official's own view 1.44×
(for information then): the per-child counts were built and compiled by the ORM on each
call, about a millisecond of Python apiece, and the official's statements carried
``village_id LIKE '610902%'`` twice (scope and region: PostgreSQL squares the
selectivity and under-estimates tenfold). ``dashboards.counting`` now compiles them once
per scope and says the region once; the official's view is a pass/fail measurement
since.
"""

import datetime
import json
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import bench_dashboard  # noqa: E402 - per-query medians
import bench_household_list  # noqa: E402 - the shared bench database and its helpers

RUNS = bench_household_list.RUNS
WARMUP = bench_household_list.WARMUP
MAX_RATIO = 1.5
TODAY = datetime.date(2021, 6, 30)
MIN_CASES = 10_000
CITY_USER = "supervisor"
COUNTY_USER, COUNTY_CODE = "county", "610902000000"
MEASURE_MARK = "基准测试帮扶措施（bench_monitoring_dashboard）"

NAME = "monitoring dashboard (city scale)"
TARGET = (
    f"monitoring dashboard numbers (stages, responses and measures overdue per child region, breakdown by "
    f"category / channel / risk type) over the 系统监测 scan's cases at 300,000 households, the city, one "
    f"county drill-down and the county official's own view, ≤ {MAX_RATIO:g}× the bare SQL of the same "
    f"numbers (median of {RUNS})"
)

# --- the data --------------------------------------------------------------------------------

SETUP_CASES_SQL = """
WITH target AS (
    SELECT id,
           CASE WHEN id %% 20 < 10 THEN 'screening' WHEN id %% 20 < 12 THEN 'assessment'
                WHEN id %% 20 < 16 THEN 'assistance' WHEN id %% 20 < 18 THEN 'closed'
                ELSE 'dismissed' END AS stage,
           (ARRAY['system', 'system', 'system', 'system', 'self', 'assessment', 'sector'])[id %% 7 + 1] AS channel,
           CASE WHEN id %% 11 < 8 THEN 'unstable' WHEN id %% 11 < 10 THEN 'marginal' ELSE 'other' END AS category,
           %(today)s::date - (id %% 45)::int AS discovered_on
    FROM monitoring_monitoringcase
), wanted AS (
    SELECT id, stage, channel, category, discovered_on,
           discovered_on + %(response_days)s::int AS response_due,
           CASE WHEN stage = 'screening' THEN '' ELSE '基准测试：入户排查' END AS screening_note,
           CASE WHEN stage = 'screening' THEN NULL ELSE (discovered_on + 3)::timestamptz END AS assessed_at,
           CASE WHEN stage IN ('screening', 'assessment') THEN NULL
                ELSE (discovered_on + 10)::timestamptz END AS decided_at,
           CASE WHEN stage IN ('screening', 'assessment') THEN ''
                ELSE '基准测试：研判意见' END AS decision_reason,
           CASE WHEN stage = 'closed' THEN %(today)s::date - (id %% 10)::int END AS closed_on,
           CASE WHEN stage = 'closed' THEN '基准测试：风险消除' ELSE '' END AS close_method
    FROM target
)
UPDATE monitoring_monitoringcase c
SET stage = w.stage, channel = w.channel, category = w.category, discovered_on = w.discovered_on,
    response_due = w.response_due, screening_note = w.screening_note, assessed_at = w.assessed_at,
    decided_at = w.decided_at, decision_reason = w.decision_reason, closed_on = w.closed_on,
    close_method = w.close_method
FROM wanted w
WHERE c.id = w.id
  AND (c.stage, c.channel, c.category, c.discovered_on, c.response_due, c.screening_note, c.assessed_at,
       c.decided_at, c.decision_reason, c.closed_on, c.close_method)
      IS DISTINCT FROM
      (w.stage, w.channel, w.category, w.discovered_on, w.response_due, w.screening_note, w.assessed_at,
       w.decided_at, w.decision_reason, w.closed_on, w.close_method)
"""

SETUP_MEASURES_SQL = """
INSERT INTO monitoring_measure (case_id, type, content, responsible_person, due_on, done_on, created_at)
SELECT c.id,
       (ARRAY['industry', 'employment', 'finance', 'public_post', 'health', 'education', 'housing', 'water',
              'safety_net', 'social', 'relocation', 'motivation'])[(c.id + k) %% 12 + 1],
       %(mark)s, '基准测试',
       %(today)s::date + ((c.id * 7 + k * 11) %% 60 - 25)::int AS due_on,
       CASE WHEN c.stage = 'closed' OR (c.id + k) %% 3 = 0
            THEN %(today)s::date + ((c.id * 7 + k * 11) %% 60 - 25)::int - 1 END,
       now()
FROM monitoring_monitoringcase c
CROSS JOIN LATERAL generate_series(1, 1 + (c.id %% 2)::int) AS k
WHERE c.stage IN ('assistance', 'closed')
  AND NOT EXISTS (SELECT 1 FROM monitoring_measure m WHERE m.case_id = c.id AND m.content = %(mark)s)
"""


def _ensure_monitoring_data() -> dict:
    """The scan's cases (run it if there are too few) set up as the module docstring says;
    returns what the setup changed and what there is."""
    from django.db import connection

    from monitoring.models import Measure, MonitoringCase, MonitoringSettings
    from monitoring.scans import at_risk_scan

    scanned = None
    if MonitoringCase.objects.count() < MIN_CASES:
        scanned = at_risk_scan()
    params = {"today": TODAY, "response_days": MonitoringSettings.current().response_days, "mark": MEASURE_MARK}
    with connection.cursor() as cursor:
        cursor.execute(SETUP_CASES_SQL, params)
        cases_updated = cursor.rowcount
        cursor.execute(SETUP_MEASURES_SQL, params)
        measures_created = cursor.rowcount
        cursor.execute("ANALYZE monitoring_monitoringcase, monitoring_measure, regions_region")
    cases = MonitoringCase.objects.count()
    assert cases >= MIN_CASES, f"only {cases} monitoring cases after the scan"
    return {
        "cases": cases,
        "measures": Measure.objects.count(),
        "scan_run": scanned,
        "cases_updated": cases_updated,
        "measures_created": measures_created,
    }


# --- the floor -------------------------------------------------------------------------------


def _breakdown_columns() -> list[tuple[str, str, str]]:
    """(group, value, the FILTER condition) for each column of the breakdown, in the
    app's order: categories, channels, risk types (jsonb containment)."""
    from monitoring.models import Category, Channel, RiskType

    columns = [("category", c.value, f"category = '{c.value}'") for c in Category]
    columns += [("channel", c.value, f"channel = '{c.value}'") for c in Channel]
    columns += [("risk_type", r.value, f"""risk_types @> '{json.dumps([r.value])}'::jsonb""") for r in RiskType]
    return columns


def floor_sql(*, narrows: bool = True) -> str:
    """The floor statement; ``narrows``: the user's scope is wider than the region, and
    is filtered on as well (at the user's own region it is the same prefix again)."""
    from dashboards.monitoring import AWAITING_RESPONSE, STAGES
    from monitoring.models import OPEN_STAGES

    scope_code, scope, scope_c = (
        f"AND {column} LIKE %(scope)s" if narrows else "" for column in ("code", "village_id", "c.village_id")
    )

    def in_list(stages):
        return ", ".join(f"'{stage}'" for stage in stages)

    stage_counts = ",\n           ".join(
        f"count(*) FILTER (WHERE stage = '{stage}') AS stage_{stage}" for stage in STAGES
    )
    breakdown = ",\n           ".join(
        f"coalesce(sum(n) FILTER (WHERE {condition}), 0)::bigint AS {group}_{value}"
        for group, value, condition in _breakdown_columns()
    )
    stage_columns = ", ".join(f"coalesce(c.stage_{stage}, 0)" for stage in STAGES)
    breakdown_columns = ", ".join(f"b.{group}_{value}" for group, value, _condition in _breakdown_columns())
    return f"""
WITH kids AS (
    SELECT code, name FROM regions_region
    WHERE level = %(child_level)s AND code LIKE %(region)s {scope_code}
), cases AS (
    SELECT substr(village_id, 1, %(width)s) AS child,
           count(*) AS total,
           count(*) FILTER (WHERE stage IN ({in_list(AWAITING_RESPONSE)}) AND response_due < %(today)s)
               AS response_overdue,
           {stage_counts}
    FROM monitoring_monitoringcase
    WHERE village_id LIKE %(region)s {scope}
    GROUP BY 1
), late AS (
    SELECT substr(c.village_id, 1, %(width)s) AS child, count(*) AS n
    FROM monitoring_measure m JOIN monitoring_monitoringcase c ON c.id = m.case_id
    WHERE c.village_id LIKE %(region)s {scope_c}
      AND c.stage IN ({in_list(OPEN_STAGES)}) AND m.done_on IS NULL AND m.due_on < %(today)s
    GROUP BY 1
), grouped AS (
    SELECT category, channel, risk_types, count(*) AS n
    FROM monitoring_monitoringcase
    WHERE village_id LIKE %(region)s {scope}
    GROUP BY 1, 2, 3
), breakdown AS (
    SELECT {breakdown}
    FROM grouped
)
SELECT kids.code, kids.name, coalesce(c.total, 0), {stage_columns},
       coalesce(c.response_overdue, 0), coalesce(l.n, 0), {breakdown_columns}
FROM kids
LEFT JOIN cases c ON c.child = substr(kids.code, 1, %(width)s)
LEFT JOIN late l ON l.child = substr(kids.code, 1, %(width)s)
CROSS JOIN breakdown b
ORDER BY kids.code
"""


def _floor_params(*, user, region) -> dict:
    from regions.models import Region
    from regions.scoping import scope_prefix

    child_level = Region.CHILD_LEVEL[region.level]
    assert region.prefix.startswith(scope_prefix(user)), "a region outside the user's scope"
    return {
        "child_level": child_level,
        "width": Region.PREFIX_LENGTH[child_level],
        "region": region.prefix + "%",
        "scope": scope_prefix(user) + "%",
        "today": TODAY,
    }


def floor_once(sql: str, params: dict) -> list[tuple]:
    """One row per child: code, name, total, per stage, response overdue, measures overdue,
    then the region's breakdown (the same on every row)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _floor_as_numbers(rows: list[tuple]) -> tuple[tuple, list[tuple], dict]:
    from dashboards.monitoring import STAGES

    n = len(STAGES)
    children = [(row[0], row[1], row[2], tuple(row[3 : 3 + n]), row[3 + n], row[4 + n]) for row in rows]
    totals = (
        sum(row[2] for row in children),
        tuple(sum(row[3][i] for row in children) for i in range(n)),
        sum(row[4] for row in children),
        sum(row[5] for row in children),
    )
    breakdown: dict[str, list[tuple[str, int]]] = {}
    if rows:
        for (group, value, _condition), count in zip(_breakdown_columns(), rows[0][5 + n :], strict=True):
            breakdown.setdefault(group, []).append((value, count))
    return totals, children, breakdown


def _app_as_numbers(total, rows, breakdown) -> tuple[tuple, list[tuple], dict]:
    from dashboards.monitoring import STAGES

    def stages(progress):
        return tuple(progress.stages[stage] for stage in STAGES)

    totals = (total.total, stages(total), total.response_overdue, total.measures_overdue)
    children = [(r.code, r.name, r.total, stages(r), r.response_overdue, r.measures_overdue) for r in rows]
    counts = {group: [(value, count) for value, _label, count in items] for group, items in breakdown.items()}
    return totals, children, counts


# --- timing ----------------------------------------------------------------------------------


def _measure(*, label: str, username: str, region_code: str) -> dict:
    from accounts.models import User
    from dashboards.monitoring import STAGES, monitoring_progress
    from regions.models import Region

    user = User.objects.select_related("region").get(username=username)
    region = Region.objects.visible_to(user).get(code=region_code)

    def app():
        return monitoring_progress(user=user, region=region, today=TODAY)

    params = _floor_params(user=user, region=region)
    sql = floor_sql(narrows=params["scope"] != params["region"])

    def floor():
        return floor_once(sql, params)

    # The floor must give the dashboard's numbers, or the comparison means nothing.
    app_total, app_rows, app_breakdown = _app_as_numbers(*app())
    floor_total, floor_rows, floor_breakdown = _floor_as_numbers(floor())
    assert app_rows == floor_rows, f"{label}: per-child numbers differ from the floor's"
    assert app_total == floor_total, (label, app_total, floor_total)
    assert app_breakdown == floor_breakdown, (label, app_breakdown, floor_breakdown)
    total, stages, response_overdue, measures_overdue = app_total
    assert total > 0 and all(stages), f"{label}: a stage without cases {stages}"
    assert response_overdue > 0 and measures_overdue > 0, f"{label}: nothing overdue"

    with bench_household_list.QueryLog() as log:
        app()
    app_queries = len(log)

    (app_ms, app_runs), (floor_ms, floor_runs) = bench_household_list._paired_medians(app, floor)
    return {
        "user": username,
        "region": region_code,
        "region_name": region.name,
        "children": len(app_rows),
        "cases": total,
        "stages": dict(zip(STAGES, stages, strict=True)),
        "response_overdue": response_overdue,
        "measures_overdue": measures_overdue,
        "breakdown": {group: dict(items) for group, items in app_breakdown.items()},
        "queries": app_queries,
        "floor_queries": 1,
        "floor_scope_like": params["scope"] != params["region"],
        "median_ms": round(app_ms, 2),
        "floor_median_ms": round(floor_ms, 2),
        "ratio": round(app_ms / floor_ms, 2),
        "runs_ms": [round(t, 2) for t in app_runs],
        "floor_runs_ms": [round(t, 2) for t in floor_runs],
        "app_queries_ms": bench_dashboard._query_medians(app),
        "floor_query_ms": bench_dashboard._query_medians(floor)[0]["ms"],
    }


def run() -> dict:
    database = bench_household_list._ensure_database()
    bench_household_list._setup_django()
    from accounts.models import User

    data = _ensure_monitoring_data()
    city_code = User.objects.get(username=CITY_USER).region_id

    city = _measure(label="city", username=CITY_USER, region_code=city_code)
    county = _measure(label="county drill-down", username=CITY_USER, region_code=COUNTY_CODE)
    county_official = _measure(label="county official", username=COUNTY_USER, region_code=COUNTY_CODE)

    passed = all(view["ratio"] <= MAX_RATIO for view in (city, county, county_official))
    summary = (
        f"{data['cases']:,} monitoring cases, {data['measures']:,} measures, today={TODAY.isoformat()}: "
        f"city ({city['children']} counties, {city['response_overdue']:,} responses and "
        f"{city['measures_overdue']:,} measures overdue) {city['median_ms']:.1f} ms vs SQL "
        f"{city['floor_median_ms']:.1f} ms = {city['ratio']:.2f}×, {city['queries']} queries; county drill-down "
        f"({county['region_name']}, {county['cases']:,} cases, {county['children']} towns) "
        f"{county['median_ms']:.1f} ms vs SQL {county['floor_median_ms']:.1f} ms = {county['ratio']:.2f}×, "
        f"{county['queries']} queries; the county official's own view {county_official['median_ms']:.1f} ms vs "
        f"SQL {county_official['floor_median_ms']:.1f} ms = {county_official['ratio']:.2f}×; floor 1 statement"
    )
    return {
        "passed": passed,
        "summary": summary,
        "database": database,
        "monitoring": data,
        "today": TODAY.isoformat(),
        "runs": RUNS,
        "warmup": WARMUP,
        "max_ratio": MAX_RATIO,
        "city": city,
        "county": county,
        "county_official": county_official,
    }


if __name__ == "__main__":
    print(json.dumps(run(), ensure_ascii=False, indent=2, default=str))
