"""The monitoring dashboard's numbers (issue 7, DOMAIN.md §5): for a region, each child
region's monitoring cases by stage, responses overdue, measures overdue and the closure
rate; and the region's cases by category, discovery channel and risk type.

Four queries whatever the number of cases: the child regions, the cases counted by child
region with one conditional count per stage, the open measures past due by child
region, and the region's cases grouped by (category, channel, risk types) for the
breakdown.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet, TextField
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from dashboards.counting import compiled_rows, visible_in
from dashboards.deadlines import child_regions
from monitoring.models import OPEN_STAGES, Category, Channel, Measure, MonitoringCase, RiskType, Stage
from regions.models import Region

STAGES = [Stage.SCREENING, Stage.ASSESSMENT, Stage.ASSISTANCE, Stage.CLOSED, Stage.DISMISSED]
# Stages where the county has not yet answered: the response deadline still runs (§5).
AWAITING_RESPONSE = (Stage.SCREENING, Stage.ASSESSMENT)


@dataclass
class MonitoringProgress:
    code: str
    name: str
    total: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    response_overdue: int = 0
    measures_overdue: int = 0

    @property
    def open(self) -> int:
        return sum(self.stages.get(stage, 0) for stage in OPEN_STAGES)

    @property
    def confirmed(self) -> int:
        """Risks the county confirmed: in assistance now, or closed since."""
        return self.stages.get(Stage.ASSISTANCE, 0) + self.stages.get(Stage.CLOSED, 0)

    @property
    def closure_rate(self) -> float | None:
        """Share of confirmed risks eliminated (动态销号), or None when none was confirmed."""
        return round(100 * self.stages.get(Stage.CLOSED, 0) / self.confirmed, 1) if self.confirmed else None


def _cases_by_child(user, prefix: str, width: int, today: datetime.date) -> QuerySet:
    """Per child region: (code prefix, cases, responses overdue, cases at each stage)."""
    late = Q(stage__in=AWAITING_RESPONSE, response_due__lt=today)
    return (
        visible_in(MonitoringCase.objects.all(), user=user, prefix=prefix)
        .values_list(Substr("village_id", 1, width))
        .annotate(
            total=Count("*"),
            response_overdue=Count("pk", filter=late),
            **{f"stage_{stage}": Count("pk", filter=Q(stage=stage)) for stage in STAGES},
        )
        .order_by()  # no default ordering in the GROUP BY (and no join it would bring)
    )


def _measures_late_by_child(user, prefix: str, width: int, today: datetime.date) -> QuerySet:
    return (
        visible_in(Measure.objects.all(), user=user, prefix=prefix)
        .filter(case__stage__in=OPEN_STAGES, done_on__isnull=True, due_on__lt=today)
        .values_list(Substr("case__village_id", 1, width))
        .annotate(n=Count("*"))
        .order_by()
    )


def _combinations(user, prefix: str) -> QuerySet:
    """(category, channel, the risk-type list as JSON text, cases): text, so that the
    rows need no converting (``compiled_rows``)."""
    return (
        visible_in(MonitoringCase.objects.all(), user=user, prefix=prefix)
        .values_list("category", "channel", Cast("risk_types", TextField()))
        .annotate(n=Count("*"))
        .order_by()
    )


def monitoring_progress(
    *, user, region: Region, today: datetime.date | None = None
) -> tuple[MonitoringProgress, list[MonitoringProgress], dict[str, list[tuple[str, str, int]]]]:
    """(the region's totals, one row per child region, the breakdown by category,
    channel and risk type as (value, label, count) lists). ``region`` must already be
    one the user may see."""
    today = today or timezone.localdate()
    width, children = child_regions(user=user, region=region)
    args = (region.prefix, width, today)
    by_child = {child: counts for child, *counts in compiled_rows(_cases_by_child, user=user, args=args)}
    measures_late = dict(compiled_rows(_measures_late_by_child, user=user, args=args))

    rows = []
    total = MonitoringProgress(code=region.code, name=region.name, stages=dict.fromkeys(STAGES, 0))
    none = (0, 0, *(0 for _stage in STAGES))
    for code, name in children:
        prefix = code[:width]
        cases, response_overdue, *stages = by_child.get(prefix, none)
        row = MonitoringProgress(
            code=code,
            name=name,
            total=cases,
            stages=dict(zip(STAGES, stages, strict=True)),
            response_overdue=response_overdue,
            measures_overdue=measures_late.get(prefix, 0),
        )
        rows.append(row)
        total.total += row.total
        total.response_overdue += row.response_overdue
        total.measures_overdue += row.measures_overdue
        for stage, n in row.stages.items():
            total.stages[stage] += n

    # The breakdown from one grouped query: (category, channel, risk-type list) take a
    # few hundred combinations in a city, summed here — cheaper than a filtered count
    # per choice, and a case with a risk type listed twice still counts once.
    counts: dict[str, dict[str, int]] = {"category": {}, "channel": {}, "risk_type": {}}
    for category, channel, risk_types, n in compiled_rows(_combinations, user=user, args=(region.prefix,)):
        counts["category"][category] = counts["category"].get(category, 0) + n
        counts["channel"][channel] = counts["channel"].get(channel, 0) + n
        for risk in set((json.loads(risk_types) if risk_types else None) or []):
            counts["risk_type"][risk] = counts["risk_type"].get(risk, 0) + n
    return total, rows, breakdown_labelled(counts)


def breakdown_labelled(counts: dict[str, dict[str, int]]) -> dict[str, list[tuple[str, str, int]]]:
    """The cases by category, channel and risk type, {name: {value: n}}, as (value,
    label, n) lists in each enumeration's order, labelled in the active language."""
    choices = {"category": Category, "channel": Channel, "risk_type": RiskType}
    return {
        name: [(choice.value, str(choice.label), counts[name].get(choice.value, 0)) for choice in enum]
        for name, enum in choices.items()
    }
