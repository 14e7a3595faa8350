"""The dashboards' numbers for other systems, the same as the pages show:

- ``GET /api/v1/dashboard/deadlines/?campaign=&region=`` — exit progress by region and level;
- ``GET /api/v1/dashboard/monitoring/?region=`` — monitoring cases by region and stage;
- ``GET /api/v1/dashboard/todo/`` — the caller's 我的待办 (the home page's groups).
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboards.todo import todo_for
from dashboards.views import deadline_context, monitoring_context
from exits.selectors import current_campaign

# When the numbers were counted by the every-minute job (dashboards.snapshots), or null
# when they were counted for this request.
COUNTED_AT = serializers.DateTimeField(allow_null=True, help_text="统计时间；null 为实时统计")


def _counted_at(value):
    return serializers.DateTimeField().to_representation(value) if value else None


def _context(build, request) -> dict:
    try:
        return build(request)
    except Http404 as error:
        raise NotFound(str(error)) from None


class LevelSerializer(serializers.Serializer):
    level = serializers.CharField()
    deadline = serializers.DateField()
    days_left = serializers.IntegerField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    overdue = serializers.IntegerField()
    at_risk = serializers.IntegerField()


class CertificationSerializer(serializers.Serializer):
    deadline = serializers.DateField(help_text="达标认定时限（未设置时为村级完成时限）")
    days_left = serializers.IntegerField()
    waiting = serializers.IntegerField(help_text="退出中案件已达标、待行业部门认定的标准项数")
    overdue = serializers.IntegerField(help_text="其中已过达标认定时限的项数")


class RegionProgressSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    total = serializers.IntegerField()
    levels = LevelSerializer(many=True)
    certification = CertificationSerializer()


class OverdueSerializer(serializers.Serializer):
    pk = serializers.IntegerField()
    number = serializers.CharField()
    village = serializers.CharField()
    step = serializers.IntegerField()
    step_label = serializers.CharField()
    level = serializers.CharField()
    deadline = serializers.DateField()
    days_overdue = serializers.IntegerField()
    responsible = serializers.ListField(child=serializers.CharField())


class BurndownSerializer(serializers.Serializer):
    level = serializers.CharField()
    deadline = serializers.DateField()
    start = serializers.DateField()
    total = serializers.IntegerField()
    remaining = serializers.SerializerMethodField()

    def get_remaining(self, burndown) -> list[dict]:
        return [{"date": day.isoformat(), "remaining": n} for day, n in burndown.remaining]


class DeadlineDashboardView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="退出进度看板：各区划、各层级的完成数、逾期数、进度滞后数和剩余天数，及待达标认定和认定逾期的标准项数",
        parameters=[
            OpenApiParameter("campaign", int, description="退出批次，默认当前批次"),
            OpenApiParameter("region", str, description="区划代码，默认本人区划"),
        ],
        responses=inline_serializer(
            "DeadlineDashboard",
            {
                "campaign": serializers.IntegerField(),
                "region": serializers.CharField(),
                "total": RegionProgressSerializer(),
                "children": RegionProgressSerializer(many=True),
                "overdue_count": serializers.IntegerField(),
                "overdue": OverdueSerializer(many=True),
                "burndown": BurndownSerializer(many=True),
                "counted_at": COUNTED_AT,
            },
        ),
    )
    def get(self, request):
        context = _context(deadline_context, request)
        return Response(
            {
                "campaign": context["campaign"].pk,
                "region": context["region"].code,
                "total": RegionProgressSerializer(context["total"]).data,
                "children": RegionProgressSerializer(context["rows"], many=True).data,
                "overdue_count": context["overdue_count"],
                "overdue": OverdueSerializer(context["overdue"], many=True).data,
                "burndown": BurndownSerializer(context["burndown"], many=True).data,
                "counted_at": _counted_at(context["counted_at"]),
            }
        )


class MonitoringProgressSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    stages = serializers.DictField(child=serializers.IntegerField(), help_text="阶段 → 对象数")
    response_overdue = serializers.IntegerField()
    measures_overdue = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    closure_rate = serializers.FloatField(allow_null=True, help_text="已销号 ÷ 已认定，百分比")


class CountSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


def _counts(items) -> list[dict]:
    return [{"value": value, "label": label, "count": n} for value, label, n in items]


class MonitoringDashboardView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="防返贫监测看板：各区划各阶段的监测对象数、响应逾期、措施逾期、销号率，及类别、渠道、风险类型分布",
        parameters=[OpenApiParameter("region", str, description="区划代码，默认本人区划")],
        responses=inline_serializer(
            "MonitoringDashboard",
            {
                "region": serializers.CharField(),
                "total": MonitoringProgressSerializer(),
                "children": MonitoringProgressSerializer(many=True),
                "category": CountSerializer(many=True),
                "channel": CountSerializer(many=True),
                "risk_type": CountSerializer(many=True),
                "counted_at": COUNTED_AT,
            },
        ),
    )
    def get(self, request):
        context = _context(monitoring_context, request)
        return Response(
            {
                "region": context["region"].code,
                "total": MonitoringProgressSerializer(context["total"]).data,
                "children": MonitoringProgressSerializer(context["rows"], many=True).data,
                **{name: _counts(items) for name, items in context["breakdown"].items()},
                "counted_at": _counted_at(context["counted_at"]),
            }
        )


class TodoRowSerializer(serializers.Serializer):
    label = serializers.CharField()
    detail = serializers.CharField()
    url = serializers.CharField(help_text="办理页面")
    due = serializers.DateField(allow_null=True)
    days_left = serializers.IntegerField(allow_null=True)


class TodoGroupSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="step-N、objections、situations-decide、monitoring-screening、registry-… 等")
    title = serializers.CharField()
    count = serializers.IntegerField()
    late = serializers.IntegerField(help_text="其中已过时限的数量")
    deadline = serializers.DateField(allow_null=True)
    days_left = serializers.IntegerField(allow_null=True)
    url = serializers.CharField(help_text="办理页面")
    rows = TodoRowSerializer(many=True)


class TodoView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="我的待办：按本人角色和区划列出待办事项（与首页相同）",
        responses=inline_serializer(
            "Todo", {"campaign": serializers.IntegerField(allow_null=True), "groups": TodoGroupSerializer(many=True)}
        ),
    )
    def get(self, request):
        campaign = current_campaign()
        groups = todo_for(user=request.user, campaign=campaign)
        return Response(
            {"campaign": campaign.pk if campaign else None, "groups": TodoGroupSerializer(groups, many=True).data}
        )
