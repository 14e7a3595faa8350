"""The supervisor's deadline dashboard: a campaign's progress by region and level,
drill-down by clicking a region, breadcrumb back up, the table as Excel. Read-only;
everyone sees only their own region."""

from __future__ import annotations

import dataclasses

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import Column, xlsx_streaming_response
from core.params import as_id, is_region_code
from dashboards.deadlines import LEVELS
from dashboards.monitoring import STAGES
from dashboards.snapshots import deadline_numbers, monitoring_numbers
from exits.models import Campaign, Level
from exits.selectors import current_campaign
from monitoring.models import Stage
from regions.models import Region
from regions.selectors import region_root_for


def _region_asked(request) -> tuple[Region, list[Region]]:
    """The region in ``?region=`` (default: the user's own) and its breadcrumb from the
    user's own region down; 404 for a region outside the user's scope."""
    root = region_root_for(request.user)
    if root is None:
        raise Http404(_("您的账号尚未设置所属区划，请联系系统管理员。"))
    code = str(request.GET.get("region") or root.code)
    region = Region.objects.visible_to(request.user).filter(code=code).first() if is_region_code(code) else None
    if region is None:
        raise Http404(_("区划不存在或不在您的管辖范围内。"))
    path = [r for r in region.path() if r.code.startswith(root.prefix) or r.code == root.code]
    return region, path


def deadline_context(request) -> dict:
    """The campaign and region asked for (defaults: the current campaign, the user's
    own region) and the numbers; 404 for a region outside the user's scope."""
    campaigns = Campaign.objects.all()
    pk = as_id(request.GET.get("campaign"))
    campaign = campaigns.filter(pk=pk).first() if pk is not None else None
    # Default: the running campaign, or once none runs, the latest one (its record stays).
    campaign = campaign or current_campaign() or campaigns.order_by("-year").first()
    if campaign is None:
        raise Http404(_("没有可查看的退出批次。"))
    region, path = _region_asked(request)
    numbers = deadline_numbers(user=request.user, campaign=campaign, region=region)
    total, rows, burndown = numbers.total, numbers.rows, numbers.burndown
    chart = {
        # The bars leave out regions without cases (the table still lists them).
        "regions": [row.name for row in rows if row.total],
        "series": [
            {
                "name": str(Level(level).label),
                "values": [round(100 * row.levels[i].done / row.total) for row in rows if row.total],
            }
            for i, level in enumerate(LEVELS)
        ],
        "burndown": [
            {
                "name": str(Level(b.level).label),
                "deadline": b.deadline.isoformat(),
                "ideal": [[day.isoformat(), n] for day, n in b.ideal],
                "remaining": [[day.isoformat(), n] for day, n in b.remaining],
            }
            for b in burndown
        ],
        "words": {"remaining": _("未完成户数"), "ideal": _("按时限应剩"), "deadline": _("时限")},
    }
    return {
        "chart": chart,
        "burndown": burndown,
        "overdue": numbers.overdue,
        "overdue_count": numbers.overdue_count,
        "counted_at": numbers.counted_at,
        "campaign": campaign,
        "campaigns": campaigns,
        "region": region,
        "path": path,
        "total": total,
        "rows": rows,
        "levels": [(level, Level(level).label) for level in LEVELS],
        "drillable": region.level != Region.Level.VILLAGE,
        "today": timezone.localdate(),
    }


@login_required
def deadlines(request):
    return render(request, "dashboards/deadlines.html", deadline_context(request))


@login_required
def deadlines_export(request):
    """The table on the screen, as .xlsx."""
    context = deadline_context(request)
    columns = [Column(_("区划"), lambda row: row.name), Column(_("退出户数"), lambda row: row.total)]
    for index, (_level, label) in enumerate(context["levels"]):
        columns += [
            Column(_("%(l)s已完成") % {"l": label}, lambda row, i=index: row.levels[i].done),
            Column(_("%(l)s逾期") % {"l": label}, lambda row, i=index: row.levels[i].overdue),
            Column(_("%(l)s进度滞后") % {"l": label}, lambda row, i=index: row.levels[i].at_risk),
        ]
    columns += [
        Column(_("待达标认定（项）"), lambda row: row.certification.waiting),
        Column(_("达标认定逾期（项）"), lambda row: row.certification.overdue),
    ]
    return xlsx_streaming_response(
        filename=_("%(c)s进度-%(r)s.xlsx") % {"c": context["campaign"].name, "r": context["region"].name},
        fallback_filename="deadlines.xlsx",
        sheet_title=_("退出进度"),
        columns=columns,
        rows=[*context["rows"], dataclasses.replace(context["total"], name=_("合计"))],
    )


def monitoring_context(request) -> dict:
    region, path = _region_asked(request)
    pk = as_id(request.GET.get("campaign"))  # not used here; kept for the tab back to 退出进度
    campaign = Campaign.objects.filter(pk=pk).first() if pk is not None else None
    numbers = monitoring_numbers(user=request.user, region=region)
    total, rows, breakdown = numbers.total, numbers.rows, numbers.breakdown
    stages = [(stage, Stage(stage).label) for stage in STAGES]
    chart = {
        "regions": [row.name for row in rows if row.total],
        "stages": [
            {"name": str(label), "values": [row.stages[stage] for row in rows if row.total]} for stage, label in stages
        ],
        "breakdown": {
            name: [{"name": label, "value": n} for _v, label, n in items] for name, items in breakdown.items()
        },
        "titles": {"category": _("监测对象类别"), "channel": _("发现渠道"), "risk_type": _("风险类型")},
    }
    return {
        "campaign": campaign,
        "region": region,
        "path": path,
        "total": total,
        "rows": rows,
        "breakdown": breakdown,
        "stages": stages,
        "chart": chart,
        "drillable": region.level != Region.Level.VILLAGE,
        "today": timezone.localdate(),
        "counted_at": numbers.counted_at,
    }


@login_required
def monitoring(request):
    return render(request, "dashboards/monitoring.html", monitoring_context(request))


@login_required
def monitoring_export(request):
    """The monitoring table on the screen, as .xlsx."""
    context = monitoring_context(request)
    columns = [Column(_("区划"), lambda row: row.name), Column(_("发现风险户"), lambda row: row.total)]
    columns += [Column(str(label), lambda row, s=stage: row.stages[s]) for stage, label in context["stages"]]
    columns += [
        Column(_("响应逾期"), lambda row: row.response_overdue),
        Column(_("帮扶措施逾期"), lambda row: row.measures_overdue),
        Column(_("销号率（%）"), lambda row: row.closure_rate),
    ]
    return xlsx_streaming_response(
        filename=_("防返贫监测-%(r)s.xlsx") % {"r": context["region"].name},
        fallback_filename="monitoring.xlsx",
        sheet_title=_("防返贫监测"),
        columns=columns,
        rows=[*context["rows"], dataclasses.replace(context["total"], name=_("合计"))],
    )
