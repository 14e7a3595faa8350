"""The deadline dashboard's numbers (issue 7, DOMAIN.md §4): for a campaign and a
region, each child region's progress at each level — done / total, overdue, at risk —
and the days left to each level's deadline; and, against its own deadline (DOMAIN.md
§3), the criteria still waiting for their sector's certification.

A handful of aggregate queries grouped by region-code prefix, whatever the number of
cases: the cases counted by (child region, current step), the open at-risk alerts by
(child region, level), and the children's names; the certification numbers one more
(``certification_progress``).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet, Subquery
from django.db.models.functions import Substr, TruncDate
from django.utils import timezone

from dashboards.counting import compiled_rows, visible_in
from exits.models import STEP_COUNT, Campaign, CaseStatus, CriterionCheck, CriterionResult, ExitCase, Level, StepRecord
from notifications.models import Alert, AlertKind
from regions.models import Region

LEVELS = [Level.VILLAGE, Level.TOWN, Level.COUNTY, Level.MARKING]


@dataclass
class LevelProgress:
    level: str
    deadline: datetime.date
    days_left: int
    total: int = 0
    done: int = 0
    overdue: int = 0
    at_risk: int = 0

    @property
    def days_overdue(self) -> int:
        return -self.days_left

    @property
    def label(self) -> str:
        return str(Level(self.level).label)


@dataclass
class CertificationProgress:
    """The sector certification (达标认定) of a region's cases in progress: the criteria
    measured as met and not yet certified, overdue once the certification deadline
    (default: the village deadline, DOMAIN.md §3) has passed."""

    deadline: datetime.date
    days_left: int
    waiting: int = 0

    @property
    def overdue(self) -> int:
        return self.waiting if self.days_left < 0 else 0

    @property
    def days_overdue(self) -> int:
        return -self.days_left


@dataclass
class RegionProgress:
    code: str
    name: str
    total: int = 0
    levels: list[LevelProgress] = field(default_factory=list)
    certification: CertificationProgress | None = None  # set by ``certification_progress``


def _last_step_of(campaign: Campaign) -> dict[str, int]:
    """The last step each level carries (a level is done once a case is past it). A
    campaign may leave a level without steps (the county doing the marking itself); that
    level is done when the level before it is."""
    last: dict[str, int] = {}
    for step in range(1, STEP_COUNT + 1):
        last[campaign.level_of(step)] = step
    previous = 0
    for level in LEVELS:
        previous = last.setdefault(level, previous)
    return last


def _child_width(region: Region) -> int:
    """How long a prefix of a code names the child of ``region`` it lies in (a village
    is its own child)."""
    child_level = Region.CHILD_LEVEL.get(region.level)
    return Region.PREFIX_LENGTH[child_level] if child_level else len(region.prefix)


def child_regions(*, user, region: Region) -> tuple[int, list[tuple[str, str]]]:
    """(the code-prefix width of ``region``'s children, the code and name of those
    children the user may see); a village is its own only row. Rows are grouped by
    ``Substr(code, 1, width)``."""
    child_level = Region.CHILD_LEVEL.get(region.level)
    if not child_level:
        return _child_width(region), [(region.code, region.name)]
    return _child_width(region), compiled_rows(_children, user=user, args=(region.prefix, child_level))


def _children(user, prefix: str, level: str) -> QuerySet:
    children = visible_in(Region.objects.filter(level=level), user=user, prefix=prefix)
    return children.order_by("code").values_list("code", "name")


def _cases_by_step(user, prefix: str, width: int, campaign_id: int) -> QuerySet:
    return (
        visible_in(ExitCase.objects.filter(campaign_id=campaign_id), user=user, prefix=prefix)
        .values_list(Substr("village_id", 1, width), "current_step")
        .annotate(n=Count("*"))
        # No default ordering: ExitCase's (by household number) would keep a join to
        # every household in the GROUP BY query even though Django drops the ORDER BY.
        .order_by()
    )


def _at_risk_by_level(user, prefix: str, width: int) -> QuerySet:
    open_at_risk = Alert.objects.filter(kind=AlertKind.STEP_AT_RISK, cleared_at__isnull=True, key__startswith="exit:")
    return (
        visible_in(open_at_risk, user=user, prefix=prefix)
        .values_list(Substr("region_id", 1, width), "level")
        .annotate(n=Count("*"))
        .order_by()
    )


def deadline_progress(
    *, user, campaign: Campaign, region: Region, today: datetime.date | None = None
) -> tuple[RegionProgress, list[RegionProgress]]:
    """(the region's own totals, one row per child region). ``region`` must already be
    one the user may see; everything counted is within ``visible_to(user)`` too."""
    today = today or timezone.localdate()
    width, children = child_regions(user=user, region=region)
    cases = compiled_rows(_cases_by_step, user=user, args=(region.prefix, width, campaign.pk))
    by_child: dict[str, dict[int, int]] = defaultdict(dict)
    for child, step, n in cases:
        by_child[child][step] = n
    risky = compiled_rows(_at_risk_by_level, user=user, args=(region.prefix, width))
    at_risk = {(child, level): n for child, level, n in risky}
    last = _last_step_of(campaign)

    def progress(code: str, name: str, steps: dict[int, int], risk: dict[str, int]) -> RegionProgress:
        total = sum(steps.values())
        row = RegionProgress(code=code, name=name, total=total)
        for level in LEVELS:
            deadline = campaign.deadline_for_level(level)
            done = sum(n for step, n in steps.items() if step > last[level])
            row.levels.append(
                LevelProgress(
                    level=level,
                    deadline=deadline,
                    days_left=(deadline - today).days,
                    total=total,
                    done=done,
                    overdue=(total - done) if deadline < today else 0,
                    at_risk=risk.get(level, 0),
                )
            )
        return row

    rows = []
    overall_steps: dict[int, int] = defaultdict(int)
    overall_risk: dict[str, int] = defaultdict(int)
    for code, name in children:
        prefix = code[:width]
        steps = by_child.get(prefix, {})
        risk = {level: at_risk.get((prefix, level), 0) for level in LEVELS}
        for step, n in steps.items():
            overall_steps[step] += n
        for level, n in risk.items():
            overall_risk[level] += n
        rows.append(progress(code, name, steps, risk))
    return progress(region.code, region.name, overall_steps, overall_risk), rows


def _waiting_by_child(user, prefix: str, width: int, campaign_id: int) -> QuerySet:
    waiting = CriterionCheck.objects.filter(
        case__campaign_id=campaign_id,
        case__status=CaseStatus.IN_PROGRESS,
        result=CriterionResult.MET,
        certified_at__isnull=True,
    )
    return (
        visible_in(waiting, user=user, prefix=prefix)
        .values_list(Substr("case__village_id", 1, width))
        # COUNT(*), not COUNT(id): with an index of the waiting checks' case ids they
        # are counted from the index alone (BENCHMARKS.md).
        .annotate(n=Count("*"))
        .order_by()
    )


def certification_progress(
    *,
    user,
    campaign: Campaign,
    region: Region,
    total: RegionProgress,
    rows: list[RegionProgress],
    today: datetime.date | None = None,
) -> None:
    """Fill in ``certification`` on ``total`` and each of ``rows`` (what
    ``deadline_progress`` returned for the same user and region): one aggregate query
    by child region. Kept apart so the level table stays the three queries its
    benchmark measures against bare SQL (BENCHMARKS.md).

    Waiting means measured as met and not certified, on a case in progress: only a met
    criterion can be certified (a database constraint), so this is the sectors' work:
    the same rows as a sector's 待达标认定 (dashboards.todo) and the overdue alert
    (exits.scans.certification_overdue)."""
    today = today or timezone.localdate()
    deadline = campaign.certification_due
    width = _child_width(region)
    waiting = dict(compiled_rows(_waiting_by_child, user=user, args=(region.prefix, width, campaign.pk)))

    def progress(n: int) -> CertificationProgress:
        return CertificationProgress(deadline=deadline, days_left=(deadline - today).days, waiting=n)

    for row in rows:
        row.certification = progress(waiting.get(row.code[:width], 0))
    total.certification = progress(sum(row.certification.waiting for row in rows))


@dataclass
class Burndown:
    """One level's burn-down: the cases not yet past the level, day by day, against
    the straight line from everyone-to-do on the first day to none at the deadline."""

    level: str
    deadline: datetime.date
    start: datetime.date
    total: int
    # (day, cases still to do at the end of that day), on the first day, each day
    # something was done, and the last day shown.
    remaining: list[tuple[datetime.date, int]]

    @property
    def ideal(self) -> list[tuple[datetime.date, int]]:
        return [(self.start, self.total), (self.deadline, 0)]


def deadline_burndown(
    *, user, campaign: Campaign, region: Region, total: int, today: datetime.date | None = None
) -> list[Burndown]:
    """Each level's burn-down within ``region``, from the standing completions of the
    level's last step counted by day: one aggregate query. ``total`` is the region's
    number of cases (``deadline_progress`` has it). A returned case's completion is
    no longer standing, so it counts as to-do again from its first day — the line shows
    where the campaign stands now, not every step back and forth."""
    today = today or timezone.localdate()
    last = _last_step_of(campaign)
    rows = (
        visible_in(StepRecord.objects.all(), user=user, prefix=region.prefix)
        .filter(case__campaign=campaign, is_reset=False, step__in=set(last.values()))
        .annotate(day=TruncDate("completed_at"))
        .values("step", "day")
        .annotate(n=Count("*"))
        .order_by("day")
    )
    by_step: dict[int, list[tuple[datetime.date, int]]] = defaultdict(list)
    for row in rows:
        by_step[row["step"]].append((row["day"], row["n"]))
    days = [day for series in by_step.values() for day, _n in series]
    first_deadline = campaign.deadline_for_level(LEVELS[0])
    # The line starts with every case to do on the eve of the region's first completion,
    # or — while nothing is done, or when the region only started after the first
    # deadline — a month before that deadline, so every deadline line runs forward.
    if days and min(days) < first_deadline:
        start = min(days) - datetime.timedelta(days=1)
    else:
        start = min(today, first_deadline - datetime.timedelta(days=30))
    end = max([campaign.deadline_for_level(LEVELS[-1]), *days])
    shown_until = max(start, min(today, end))
    result = []
    for level in LEVELS:
        remaining = total
        line = [(start, total)]
        for day, n in by_step.get(last[level], []):
            remaining -= n
            if line[-1][0] == day:
                line[-1] = (day, remaining)
            else:
                line.append((day, remaining))
        if line[-1][0] < shown_until:
            line.append((shown_until, remaining))
        result.append(
            Burndown(level=level, deadline=campaign.deadline_for_level(level), start=start, total=total, remaining=line)
        )
    return result


@dataclass
class OverdueCase:
    pk: int
    number: str
    village: str
    step: int
    step_label: str
    level: str
    deadline: datetime.date
    days_overdue: int
    responsible: list[str]


def overdue_cases(
    *, user, campaign: Campaign, region: Region, limit: int = 50, today: datetime.date | None = None
) -> tuple[int, list[OverdueCase]]:
    """(how many, the ``limit`` longest overdue) cases of ``region`` with the people
    responsible at the level each one waits on: the earliest steps first, then by
    village and household number. Three queries."""
    from accounts.models import User
    from exits.models import Step
    from exits.selectors import overdue_q
    from notifications.services import responsible

    today = today or timezone.localdate()
    late = visible_in(ExitCase.objects.filter(campaign=campaign), user=user, prefix=region.prefix).filter(
        overdue_q([campaign], today=today)
    )
    by_step = dict(late.values_list("current_step").annotate(n=Count("*")).order_by())
    count = sum(by_step.values())
    first = late
    if count > limit:
        # Only the household number, which takes a join, orders the cases of one village
        # at one step. So join and sort just the cases at steps before the ``limit``-th
        # case's and, at its step, those in villages up to its own: a few dozen rows,
        # where a city has tens of thousands of overdue cases. (``village_id >=`` the
        # region's prefix only bounds the scans of the village index to the region.)
        step, before = _nth_step(by_step, limit)
        at_step = Q(current_step=step, village_id__gte=region.prefix)
        nth = late.filter(at_step).order_by("village_id").values("village_id")[limit - before - 1 : limit - before]
        up_to = at_step & Q(village_id__lte=Subquery(nth))
        first = late.filter(Q(current_step__lt=step) | up_to if before else up_to)
    rows = list(
        first.order_by("current_step", "village_id", "household__number").values_list(
            "pk", "household__number", "village__name", "village_id", "current_step"
        )[:limit]
    )
    wanted = set()
    for _pk, _number, _name, village, step in rows:
        wanted.add(responsible(village, campaign.level_of(step)))
    people: dict[tuple[str, str], list[str]] = defaultdict(list)
    if wanted:
        accounts = User.objects.filter(
            is_active=True, role__in={r for r, _c in wanted}, region_id__in={c for _r, c in wanted}
        ).order_by("full_name")
        for role, region_id, name, username in accounts.values_list("role", "region_id", "full_name", "username"):
            people[(role, region_id)].append(name or username)
    result = []
    for pk, number, name, village, step in rows:
        level = campaign.level_of(step)
        deadline = campaign.deadline_for(step)
        result.append(
            OverdueCase(
                pk=pk,
                number=number,
                village=name,
                step=step,
                step_label=str(Step(step).label),
                level=level,
                deadline=deadline,
                days_overdue=(today - deadline).days,
                responsible=people.get(responsible(village, level), []),
            )
        )
    return count, result


def _nth_step(by_step: dict[int, int], n: int) -> tuple[int, int]:
    """(the step of the ``n``-th case in step order, how many cases are at earlier
    steps), from the number of cases at each step (at least ``n`` in all)."""
    before = 0
    for step in sorted(by_step):
        if before + by_step[step] >= n:
            return step, before
        before += by_step[step]
    raise ValueError(f"fewer than {n} cases")
