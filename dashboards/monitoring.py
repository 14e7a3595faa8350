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
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone

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


def monitoring_progress(
    *, user, region: Region, today: datetime.date | None = None
) -> tuple[MonitoringProgress, list[MonitoringProgress], dict[str, list[tuple[str, str, int]]]]:
    """(the region's totals, one row per child region, the breakdown by category,
    channel and risk type as (value, label, count) lists). ``region`` must already be
    one the user may see."""
    today = today or timezone.localdate()
    width, children = child_regions(user=user, region=region)
    cases = MonitoringCase.objects.visible_to(user).in_region(region.prefix)
    late = Q(stage__in=AWAITING_RESPONSE, response_due__lt=today)
    per_child = (
        cases.annotate(child=Substr("village_id", 1, width))
        .values("child")
        .annotate(
            total=Count("pk"),
            response_overdue=Count("pk", filter=late),
            **{f"stage_{stage}": Count("pk", filter=Q(stage=stage)) for stage in STAGES},
        )
        .order_by()  # no default ordering in the GROUP BY (and no join it would bring)
    )
    by_child = {row["child"]: row for row in per_child}
    measures = (
        Measure.objects.visible_to(user)
        .in_region(region.prefix)
        .filter(case__stage__in=OPEN_STAGES, done_on__isnull=True, due_on__lt=today)
        .annotate(child=Substr("case__village_id", 1, width))
        .values("child")
        .annotate(n=Count("pk"))
        .order_by()
    )
    measures_late = {row["child"]: row["n"] for row in measures}

    rows = []
    total = MonitoringProgress(code=region.code, name=region.name, stages=dict.fromkeys(STAGES, 0))
    for child in children:
        prefix = child.code[:width]
        counts = by_child.get(prefix, {})
        row = MonitoringProgress(
            code=child.code,
            name=child.name,
            total=counts.get("total", 0),
            stages={stage: counts.get(f"stage_{stage}", 0) for stage in STAGES},
            response_overdue=counts.get("response_overdue", 0),
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
    combinations = cases.values_list("category", "channel", "risk_types").annotate(n=Count("pk")).order_by()
    for category, channel, risk_types, n in combinations:
        counts["category"][category] = counts["category"].get(category, 0) + n
        counts["channel"][channel] = counts["channel"].get(channel, 0) + n
        for risk in set(risk_types or []):
            counts["risk_type"][risk] = counts["risk_type"].get(risk, 0) + n
    choices = {"category": Category, "channel": Channel, "risk_type": RiskType}
    breakdown = {
        name: [(choice.value, str(choice.label), counts[name].get(choice.value, 0)) for choice in enum]
        for name, enum in choices.items()
    }
    return total, rows, breakdown
