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
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Count
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from exits.models import STEP_COUNT, Campaign, CaseStatus, ExitCase, Step, StepRecord
from notifications.models import AlertKind
from notifications.services import AlertSpec, alerts_sync

PACE_DAYS = 14
IDLE_HORIZON_DAYS = 14
TOWN = 9  # a village code's first nine digits name its town


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
    since = timezone.now() - datetime.timedelta(days=PACE_DAYS)
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
    }
