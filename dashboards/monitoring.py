"""The monitoring dashboard's numbers (issue 7, DOMAIN.md §5): for a region, each child
region's monitoring cases by stage, responses overdue, measures overdue and the closure
rate; and the region's cases by category, discovery channel and risk type.

Four queries whatever the number of cases: the child regions, the cases counted by child
region with one conditional count per stage, the open measures past due by child
region, and the region's breakdown with one conditional count per category, channel
and risk type.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import Substr
from django.utils import timezone

from dashboards.deadlines import child_regions
from monitoring.models import OPEN_STAGES, Category, Channel, Measure, MonitoringCase, RiskType, Stage
from monitoring.selectors import risk_type_q
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

    groups = {
        "category": [(c.value, c.label, Q(category=c.value)) for c in Category],
        "channel": [(c.value, c.label, Q(channel=c.value)) for c in Channel],
        "risk_type": [(r.value, r.label, risk_type_q(r.value)) for r in RiskType],
    }
    counts = cases.aggregate(
        **{f"{name}_{value}": Count("pk", filter=q) for name, items in groups.items() for value, _label, q in items}
    )
    breakdown = {
        name: [(value, str(label), counts[f"{name}_{value}"] or 0) for value, label, _q in items]
        for name, items in groups.items()
    }
    return total, rows, breakdown
