"""The dashboards' numbers for the city and each county, precomputed (issue 17).

The deadline and monitoring dashboards of the city or a county count every case, step
completion, certification and at-risk alert of their scope: at 300,000 households that
is tens of thousands of rows per view, and the time grows with the data. A Celery beat
job (``dashboards.snapshots_refresh``, every minute) works the numbers out once for the
city and each county and stores them (``DashboardSnapshot``); the pages read them with
the time they were counted.

Readers call ``deadline_numbers`` / ``monitoring_numbers``: a snapshot when there is
one for the region (and, for the deadline dashboard, the campaign) counted today and
no longer ago than ``REGION_TALLY_MAX_AGE`` (the same bound as the region tallies: a
stopped worker), else the numbers counted now (``counted_at`` None), as the page always
did. Towns and villages are counted live: their rows are a town's or a village's own.

A region's numbers do not depend on who looks at them: every scope is a region-code
prefix, and a user is only shown regions inside their own.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboards.deadlines import (
    Burndown,
    CertificationProgress,
    LevelProgress,
    OverdueCase,
    RegionProgress,
    certification_progress,
    deadline_burndown,
    deadline_progress,
    overdue_cases,
)
from dashboards.models import DashboardSnapshot
from dashboards.monitoring import MonitoringProgress, breakdown_labelled, monitoring_progress
from exits.models import Campaign, Step
from regions.models import Region

# The regions whose dashboards are precomputed: those whose counts span many towns.
LEVELS = (Region.Level.CITY, Region.Level.COUNTY)


def _max_age() -> datetime.timedelta:
    return datetime.timedelta(seconds=getattr(settings, "REGION_TALLY_MAX_AGE", 600))


def _everyone():
    """An account that sees every region, to count a region as anyone in it would."""
    from accounts.models import User

    return User(username="dashboards.snapshots", is_superuser=True, is_active=True)


# --- the deadline dashboard ----------------------------------------------------------------------


@dataclass
class DeadlineNumbers:
    total: RegionProgress
    rows: list[RegionProgress]
    burndown: list[Burndown]
    overdue_count: int
    overdue: list[OverdueCase]
    counted_at: datetime.datetime | None = None  # None: counted for this view


def count_deadlines(*, user, campaign: Campaign, region: Region, today: datetime.date | None = None) -> DeadlineNumbers:
    """The deadline dashboard's numbers for ``region`` (one ``user`` may see), now."""
    total, rows = deadline_progress(user=user, campaign=campaign, region=region, today=today)
    certification_progress(user=user, campaign=campaign, region=region, total=total, rows=rows, today=today)
    overdue_count, overdue = overdue_cases(user=user, campaign=campaign, region=region, today=today)
    burndown = deadline_burndown(user=user, campaign=campaign, region=region, total=total.total, today=today)
    return DeadlineNumbers(total, rows, burndown, overdue_count, overdue)


def _progress_data(row: RegionProgress) -> dict:
    return {
        "code": row.code,
        "name": row.name,
        "total": row.total,
        "levels": [[p.level, p.done, p.overdue, p.at_risk] for p in row.levels],
        "waiting": row.certification.waiting,
    }


def _progress_from(data: dict, *, campaign: Campaign, today: datetime.date) -> RegionProgress:
    row = RegionProgress(code=data["code"], name=data["name"], total=data["total"])
    for level, done, overdue, at_risk in data["levels"]:
        deadline = campaign.deadline_for_level(level)
        row.levels.append(
            LevelProgress(
                level=level,
                deadline=deadline,
                days_left=(deadline - today).days,
                total=row.total,
                done=done,
                overdue=overdue,
                at_risk=at_risk,
            )
        )
    due = campaign.certification_due
    row.certification = CertificationProgress(deadline=due, days_left=(due - today).days, waiting=data["waiting"])
    return row


def _deadline_data(numbers: DeadlineNumbers) -> dict:
    return {
        "total": _progress_data(numbers.total),
        "rows": [_progress_data(row) for row in numbers.rows],
        "burndown": [
            {
                "level": b.level,
                "start": b.start.isoformat(),
                "total": b.total,
                "remaining": [[day.isoformat(), n] for day, n in b.remaining],
            }
            for b in numbers.burndown
        ],
        "overdue_count": numbers.overdue_count,
        "overdue": [
            [c.pk, c.number, c.village, c.step, c.level, c.days_overdue, c.responsible] for c in numbers.overdue
        ],
    }


def _deadline_from(data: dict, *, campaign: Campaign, today: datetime.date, counted_at) -> DeadlineNumbers:
    day = datetime.date.fromisoformat
    return DeadlineNumbers(
        total=_progress_from(data["total"], campaign=campaign, today=today),
        rows=[_progress_from(row, campaign=campaign, today=today) for row in data["rows"]],
        burndown=[
            Burndown(
                level=b["level"],
                deadline=campaign.deadline_for_level(b["level"]),
                start=day(b["start"]),
                total=b["total"],
                remaining=[(day(d), n) for d, n in b["remaining"]],
            )
            for b in data["burndown"]
        ],
        overdue_count=data["overdue_count"],
        overdue=[
            OverdueCase(
                pk=pk,
                number=number,
                village=village,
                step=step,
                step_label=str(Step(step).label),  # in the reader's language
                level=level,
                deadline=campaign.deadline_for(step),
                days_overdue=days_overdue,
                responsible=responsible,
            )
            for pk, number, village, step, level, days_overdue, responsible in data["overdue"]
        ],
        counted_at=counted_at,
    )


def _fresh(kind: str, *, region: Region, campaign: Campaign | None, today: datetime.date) -> DashboardSnapshot | None:
    if region.level not in LEVELS:
        return None
    snapshot = DashboardSnapshot.objects.filter(kind=kind, region=region, campaign=campaign).first()
    if snapshot is None or snapshot.counted_at < timezone.now() - _max_age():
        return None
    # Overdue is a matter of the day: yesterday's numbers are not today's.
    return snapshot if timezone.localdate(snapshot.counted_at) == today else None


def deadline_numbers(*, user, campaign: Campaign, region: Region) -> DeadlineNumbers:
    """The deadline dashboard's numbers for ``region`` (one ``user`` may see): the
    snapshot when fresh, else counted now."""
    today = timezone.localdate()
    snapshot = _fresh(DashboardSnapshot.Kind.DEADLINES, region=region, campaign=campaign, today=today)
    if snapshot is not None:
        return _deadline_from(snapshot.data, campaign=campaign, today=today, counted_at=snapshot.counted_at)
    return count_deadlines(user=user, campaign=campaign, region=region, today=today)


def deadline_total(*, user, campaign: Campaign, region: Region) -> tuple[RegionProgress, datetime.datetime | None]:
    """(``region``'s own progress at each level, when it was counted): what a home page
    shows, without the rest of the dashboard when counted now."""
    today = timezone.localdate()
    snapshot = _fresh(DashboardSnapshot.Kind.DEADLINES, region=region, campaign=campaign, today=today)
    if snapshot is not None:
        return _progress_from(snapshot.data["total"], campaign=campaign, today=today), snapshot.counted_at
    total, _rows = deadline_progress(user=user, campaign=campaign, region=region, today=today)
    return total, None


# --- the monitoring dashboard --------------------------------------------------------------------


@dataclass
class MonitoringNumbers:
    total: MonitoringProgress
    rows: list[MonitoringProgress]
    breakdown: dict[str, list[tuple[str, str, int]]]
    counted_at: datetime.datetime | None = None


def _monitoring_row_data(row: MonitoringProgress) -> list:
    return [row.code, row.name, row.total, row.stages, row.response_overdue, row.measures_overdue]


def _monitoring_row_from(data: list) -> MonitoringProgress:
    code, name, total, stages, response_overdue, measures_overdue = data
    return MonitoringProgress(
        code=code,
        name=name,
        total=total,
        stages=stages,
        response_overdue=response_overdue,
        measures_overdue=measures_overdue,
    )


def _monitoring_data(numbers: MonitoringNumbers) -> dict:
    return {
        "total": _monitoring_row_data(numbers.total),
        "rows": [_monitoring_row_data(row) for row in numbers.rows],
        "breakdown": {name: {value: n for value, _label, n in items} for name, items in numbers.breakdown.items()},
    }


def monitoring_numbers(*, user, region: Region) -> MonitoringNumbers:
    """The monitoring dashboard's numbers for ``region`` (one ``user`` may see): the
    snapshot when fresh, else counted now."""
    today = timezone.localdate()
    snapshot = _fresh(DashboardSnapshot.Kind.MONITORING, region=region, campaign=None, today=today)
    if snapshot is not None:
        data = snapshot.data
        return MonitoringNumbers(
            total=_monitoring_row_from(data["total"]),
            rows=[_monitoring_row_from(row) for row in data["rows"]],
            breakdown=breakdown_labelled(data["breakdown"]),
            counted_at=snapshot.counted_at,
        )
    return MonitoringNumbers(*monitoring_progress(user=user, region=region, today=today))


# --- the refresh ---------------------------------------------------------------------------------


def snapshots_refresh() -> dict[str, int]:
    """Count both dashboards for the city and every county (the deadline dashboard for
    the current campaign) and replace the stored snapshots; returns how many."""
    from exits.selectors import current_campaign

    now = timezone.now()
    today = timezone.localdate(now)
    everyone = _everyone()
    campaign = current_campaign()
    snapshots = []
    for region in Region.objects.filter(level__in=LEVELS).order_by("code"):
        if campaign is not None:
            numbers = count_deadlines(user=everyone, campaign=campaign, region=region, today=today)
            snapshots.append(
                DashboardSnapshot(
                    kind=DashboardSnapshot.Kind.DEADLINES,
                    region=region,
                    campaign=campaign,
                    counted_at=now,
                    data=_deadline_data(numbers),
                )
            )
        numbers = MonitoringNumbers(*monitoring_progress(user=everyone, region=region, today=today))
        snapshots.append(
            DashboardSnapshot(
                kind=DashboardSnapshot.Kind.MONITORING, region=region, counted_at=now, data=_monitoring_data(numbers)
            )
        )
    with transaction.atomic():
        DashboardSnapshot.objects.all().delete()
        DashboardSnapshot.objects.bulk_create(snapshots)
    return {"snapshots": len(snapshots)}
