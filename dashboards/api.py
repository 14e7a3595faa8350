"""``GET /api/v1/dashboard/deadlines/?campaign=&region=``: the same numbers as the page."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dashboards.views import deadline_context


class LevelSerializer(serializers.Serializer):
    level = serializers.CharField()
    deadline = serializers.DateField()
    days_left = serializers.IntegerField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    overdue = serializers.IntegerField()
    at_risk = serializers.IntegerField()


class RegionProgressSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    total = serializers.IntegerField()
    levels = LevelSerializer(many=True)


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


class DeadlineDashboardView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="退出进度看板：各区划、各层级的完成数、逾期数、进度滞后数和剩余天数",
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
            },
        ),
    )
    def get(self, request):
        from django.http import Http404

        try:
            context = deadline_context(request)
        except Http404 as error:
            raise NotFound(str(error)) from None
        return Response(
            {
                "campaign": context["campaign"].pk,
                "region": context["region"].code,
                "total": RegionProgressSerializer(context["total"]).data,
                "children": RegionProgressSerializer(context["rows"], many=True).data,
                "overdue_count": context["overdue_count"],
                "overdue": OverdueSerializer(context["overdue"], many=True).data,
            }
        )
