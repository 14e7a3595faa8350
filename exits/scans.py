"""The overdue scan (DOMAIN.md §4): every exit step not done by its level's deadline,
and every case whose pace will miss one, raised as alerts to the level that must act
and cleared once the step is done.

Set-based: one query reads the cases in progress, one aggregates the recent pace, and
``notifications.services.alerts_sync`` writes the differences — the number of queries
does not grow with the number of cases.

At risk: a town's pace is the steps its cases completed in the last ``PACE_DAYS``
days. The steps still to do at a level (for each case, from its current step to the
last step of that level), divided by that pace, is how many days the town needs; when
today plus that passes the level's deadline, the town's cases at that level are at
risk. A town that completed nothing recently is at risk once the deadline is within
``IDLE_HORIZON_DAYS``.

Certification overdue: certification has its own deadline (``Campaign.certification_due``,
by default the village deadline; DOMAIN.md §3). Once it has passed, the criteria of cases
in progress that wait for their sector (measured as met, not certified) are raised to
that county's accounts of the sector — one alert per campaign, county and sector naming
how many wait, cleared once the last of them is certified. One more aggregate query.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Count
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts.models import Sector
from exits.models import (
    CRITERION_SECTOR,
    STEP_COUNT,
    Campaign,
    CaseStatus,
    Criterion,
    CriterionCheck,
    CriterionResult,
    ExitCase,
    Step,
    StepRecord,
)
from notifications.models import AlertKind
from notifications.services import AlertSpec, alerts_sync

PACE_DAYS = 14
IDLE_HORIZON_DAYS = 14
TOWN = 9  # a village code's first nine digits name its town
COUNTY = 6  # and its first six its county


def _remaining_in_level(campaign: Campaign, step: int) -> int:
    level = campaign.level_of(step)
    return sum(1 for s in range(step, STEP_COUNT + 1) if campaign.level_of(s) == level)


def overdue_scan(*, today: datetime.date | None = None) -> dict[str, dict[str, int]]:
    today = today or timezone.localdate()
    campaigns = {c.pk: c for c in Campaign.objects.filter(is_active=True)}
    cases = list(
        ExitCase.objects.filter(status=CaseStatus.IN_PROGRESS, campaign_id__in=list(campaigns)).values_list(
            "pk", "campaign_id", "current_step", "village_id", "household__number"
        )
    )
    # The pace window ends on ``today`` (a benchmark or a test may scan another day than
    # the real one): now, moved by as many days as ``today`` is from the real date.
    now = timezone.now() + datetime.timedelta(days=(today - timezone.localdate()).days)
    since = now - datetime.timedelta(days=PACE_DAYS)
    pace = {
        (row["case__campaign_id"], row["town"]): row["n"]
        for row in StepRecord.objects.filter(
            is_reset=False, completed_at__gte=since, case__campaign_id__in=list(campaigns)
        )
        .annotate(town=Substr("case__village_id", 1, TOWN))
        .values("case__campaign_id", "town")
        .annotate(n=Count("pk"))
    }

    overdue: list[AlertSpec] = []
    # (campaign, town, level) → steps still to do at that level, and its cases.
    workload: dict[tuple, int] = defaultdict(int)
    waiting: dict[tuple, list] = defaultdict(list)
    for pk, campaign_id, step, village, number in cases:
        campaign = campaigns[campaign_id]
        level = campaign.level_of(step)
        deadline = campaign.deadline_for(step)
        label = Step(step).label
        if deadline < today:
            overdue.append(
                AlertSpec(
                    key=f"exit:{pk}:step:{step}:overdue",
                    region_code=village,
                    level=level,
                    title=_("%(number)s 第%(n)d步“%(label)s”已逾期（时限%(due)s）")
                    % {"number": number, "n": step, "label": label, "due": deadline.isoformat()},
                    link=f"/exits/{pk}/",
                    due_on=deadline,
                )
            )
            continue
        group = (campaign_id, village[:TOWN], level)
        workload[group] += _remaining_in_level(campaign, step)
        waiting[group].append((pk, step, village, number, deadline))

    at_risk: list[AlertSpec] = []
    for group, steps_to_do in workload.items():
        campaign_id, town, level = group
        deadline = campaigns[campaign_id].deadline_for_level(level)
        days_left = (deadline - today).days
        done_recently = pace.get((campaign_id, town), 0)
        if done_recently:
            needed = steps_to_do * PACE_DAYS / done_recently
            late = needed > days_left
        else:
            late = days_left <= IDLE_HORIZON_DAYS
        if not late:
            continue
        for pk, step, village, number, due in waiting[group]:
            at_risk.append(
                AlertSpec(
                    key=f"exit:{pk}:step:{step}:at_risk",
                    region_code=village,
                    level=level,
                    title=_("%(number)s 第%(n)d步“%(label)s”按目前进度将无法在%(due)s前完成")
                    % {"number": number, "n": step, "label": Step(step).label, "due": due.isoformat()},
                    link=f"/exits/{pk}/",
                    due_on=due,
                )
            )
    return {
        "overdue": alerts_sync(AlertKind.STEP_OVERDUE, overdue),
        "at_risk": alerts_sync(AlertKind.STEP_AT_RISK, at_risk),
        # Its alerts name how many criteria wait, which falls as the sector certifies.
        "certification": alerts_sync(
            AlertKind.CERTIFICATION_OVERDUE, certification_overdue(list(campaigns.values()), today=today), reword=True
        ),
    }


def certification_overdue(campaigns: list[Campaign], *, today: datetime.date) -> list[AlertSpec]:
    """One alert per (campaign, county, sector) whose criteria still wait for the
    sector's certification after the campaign's certification deadline. Only a
    criterion measured as met can be certified (a database constraint); one that is
    not met waits on the village's data, not on the sector."""
    late = {c.pk: c for c in campaigns if c.certification_due < today}
    if not late:
        return []
    rows = (
        CriterionCheck.objects.filter(
            case__campaign_id__in=list(late),
            case__status=CaseStatus.IN_PROGRESS,
            result=CriterionResult.MET,
            certified_at__isnull=True,
        )
        .annotate(county=Substr("case__village_id", 1, COUNTY))
        .values("case__campaign_id", "county", "criterion")
        .annotate(n=Count("pk"))
        .order_by()
    )
    # Criteria of one sector (today one each) are summed into its alert.
    waiting: dict[tuple[int, str, str], dict[str, int]] = defaultdict(dict)
    for row in rows:
        sector = CRITERION_SECTOR[Criterion(row["criterion"])]
        waiting[(row["case__campaign_id"], row["county"], sector)][row["criterion"]] = row["n"]
    specs = []
    for (campaign_id, county, sector), criteria in sorted(waiting.items()):
        campaign = late[campaign_id]
        due = campaign.certification_due
        query = {"campaign": campaign_id}
        if len(criteria) == 1:  # the case list filters by one criterion waiting for certification
            query["uncertified"] = next(iter(criteria))
        specs.append(
            AlertSpec(
                key=f"certification:{campaign_id}:{county}:{sector}",
                region_code=county.ljust(12, "0"),
                level="county",
                sector=sector,
                title=_("%(campaign)s：%(n)d项“%(criteria)s”待%(sector)s部门达标认定，已过认定时限（%(due)s）")
                % {
                    "campaign": campaign.name,
                    "sector": Sector(sector).label,
                    "n": sum(criteria.values()),
                    "criteria": "、".join(str(Criterion(c).label) for c in criteria),
                    "due": due.isoformat(),
                },
                link=f"{reverse('exits:list')}?{urlencode(query)}",
                due_on=due,
            )
        )
    return specs
