"""Demo monitoring cases for `seed_demo` (development only): the 系统监测 scan runs over
the demo registry, and part of what it finds in 汉滨区 is taken further — submitted,
confirmed with responsible units and measures, some closed, some dismissed — so every
stage has something to show."""

from __future__ import annotations

import datetime
import random

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import User
from core import change_reasons
from core.bulk import batch_size, in_chunks, update_batch_size
from monitoring.models import (
    Channel,
    Finding,
    Measure,
    MeasureType,
    MonitoringCase,
    MonitoringSettings,
    ResponsibleUnit,
    Stage,
)
from monitoring.scans import at_risk_scan

DEMO_COUNTY = "610902"


@transaction.atomic
def seed_monitoring(*, seed: int = 2020) -> dict[str, int]:
    rng = random.Random(seed)
    found = at_risk_scan()
    county = User.objects.filter(username="county").first()
    cadre = User.objects.filter(username="cadre").first()
    if county is None or cadre is None:
        return found
    today = timezone.localdate()
    cases = list(
        MonitoringCase.objects.filter(stage=Stage.SCREENING, village__code__startswith=DEMO_COUNTY).order_by("pk")
    )
    changed, units, measures = [], [], []
    response_days = MonitoringSettings.current().response_days
    channels: dict[str, list[int]] = {Channel.SELF_DECLARED: [], Channel.ASSESSMENT: [], Channel.SECTOR: []}
    for case in cases:
        # Found over the last month, through every channel, so the dashboards have
        # responses coming due, some late, and each channel something to show.
        case.discovered_on = today - datetime.timedelta(days=rng.randint(0, 30))
        case.response_due = case.discovered_on + datetime.timedelta(days=response_days)
        channel = rng.choices([Channel.SYSTEM, *channels], weights=[55, 20, 15, 10])[0]
        if channel != Channel.SYSTEM:
            case.channel = channel
            channels[channel].append(case.pk)
        roll = rng.random()
        if roll < 0.3:
            changed.append(case)
            continue  # still being screened
        case.screening_note = "入户排查，核实收入与支出情况。"
        case.assessed_by, case.assessed_at = cadre, timezone.now()
        case.stage = Stage.ASSESSMENT
        if roll < 0.4:
            changed.append(case)
            continue  # waiting for the county
        case.decided_by, case.decided_at = county, timezone.now()
        if roll < 0.5:
            case.stage, case.decision_reason = Stage.DISMISSED, "经研判，收入已稳定，风险排除。"
            changed.append(case)
            continue
        case.stage, case.decision_reason = Stage.ASSISTANCE, "确认为监测对象，落实帮扶。"
        units.append(ResponsibleUnit(case=case, unit="镇人社站", person="张志刚", is_lead=True))
        units.append(ResponsibleUnit(case=case, unit="村委会", person="李文华"))
        kind = rng.choice([MeasureType.EMPLOYMENT, MeasureType.INDUSTRY, MeasureType.PUBLIC_POST, MeasureType.HEALTH])
        done = roll > 0.85
        measures.append(
            Measure(
                case=case,
                type=kind,
                content={
                    "employment": "推荐县内企业务工",
                    "industry": "发展魔芋种植",
                    "public_post": "安排护林员公益岗位",
                    "health": "落实慢病签约服务",
                }[kind],  # fmt: skip
                responsible_person="张志刚",
                due_on=today + datetime.timedelta(days=rng.randint(-10, 60)),
                done_on=today if done else None,
            )
        )
        if done:
            # The measure worked: the county closed the case (动态销号).
            case.stage, case.closed_on, case.closed_by = Stage.CLOSED, today, county
            case.close_method = "务工收入稳定，人均纯收入超过监测线，风险消除。"
        changed.append(case)
    fields = [
        "stage", "channel", "discovered_on", "response_due", "screening_note", "assessed_by", "assessed_at",
        "decided_by", "decided_at", "decision_reason", "closed_on", "closed_by", "close_method",
    ]  # fmt: skip
    # In batches: one bulk_update of a county's cases is a CASE per field with a branch
    # per row, which PostgreSQL's JIT compiles for minutes.
    bulk_update_with_history(
        changed, MonitoringCase, fields, batch_size=update_batch_size(), default_change_reason=change_reasons.DEMO
    )
    for channel, pks in channels.items():
        for chunk in in_chunks(pks):
            Finding.objects.filter(case_id__in=chunk).update(channel=channel)
    bulk_create_with_history(units, ResponsibleUnit, batch_size=batch_size(), default_change_reason=change_reasons.DEMO)
    bulk_create_with_history(measures, Measure, batch_size=batch_size(), default_change_reason=change_reasons.DEMO)
    return {**found, "progressed": len(changed)}
