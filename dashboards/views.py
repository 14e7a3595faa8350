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
from dashboards.deadlines import LEVELS, deadline_progress, overdue_cases
from exits.models import Campaign, Level
from exits.selectors import current_campaign
from regions.models import Region
from regions.selectors import region_root_for


def deadline_context(request) -> dict:
    """The campaign and region asked for (defaults: the current campaign, the user's
    own region) and the numbers; 404 for a region outside the user's scope."""
    campaigns = Campaign.objects.all()
    value = str(request.GET.get("campaign") or "")
    campaign = campaigns.filter(pk=value).first() if value.isdigit() else None
    campaign = campaign or current_campaign()
    root = region_root_for(request.user)
    if campaign is None or root is None:
        raise Http404(_("没有可查看的退出批次。"))
    code = str(request.GET.get("region") or root.code)
    region = Region.objects.visible_to(request.user).filter(code=code).first()
    if region is None:
        raise Http404(_("区划不存在或不在您的管辖范围内。"))
    total, rows = deadline_progress(user=request.user, campaign=campaign, region=region)
    overdue_count, overdue = overdue_cases(user=request.user, campaign=campaign, region=region)
    path = [r for r in region.path() if r.code.startswith(root.prefix) or r.code == root.code]
    chart = {
        "regions": [row.name for row in rows],
        "series": [
            {
                "name": str(Level(level).label),
                "values": [round(100 * row.levels[i].done / row.total) if row.total else 0 for row in rows],
            }
            for i, level in enumerate(LEVELS)
        ],
    }
    return {
        "chart": chart,
        "overdue": overdue,
        "overdue_count": overdue_count,
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
    return xlsx_streaming_response(
        filename=_("%(c)s进度-%(r)s.xlsx") % {"c": context["campaign"].name, "r": context["region"].name},
        fallback_filename="deadlines.xlsx",
        sheet_title=_("退出进度"),
        columns=columns,
        rows=[*context["rows"], dataclasses.replace(context["total"], name=_("合计"))],
    )
