"""Monitoring cases and the inbox over the API (scoped; same services and messages).

GET  /api/v1/monitoring-cases/               filters: stage, category, channel, risk_type, response_overdue, region, q
POST /api/v1/monitoring-cases/               report a household {"household", "channel", "risk_types", "description"}
GET  /api/v1/monitoring-cases/{id}/          with findings, responsible units, measures
POST /api/v1/monitoring-cases/{id}/submit/   {"note"}
POST /api/v1/monitoring-cases/{id}/decide/   {"confirm", "reason", "risk_types"?}
POST /api/v1/monitoring-cases/{id}/units/    {"units": [{"unit", "person", "phone", "is_lead"}]}
POST /api/v1/monitoring-cases/{id}/measures/ {"type", "content", "responsible_person", "due_on"}
POST /api/v1/monitoring-cases/{id}/close/    {"closed_on", "method"}
POST /api/v1/monitoring-cases/{id}/relapse/  {"reason"}: the county confirms the exited household has relapsed (返贫)
GET  /api/v1/alerts/                          the caller's inbox; POST /api/v1/alerts/{id}/read/
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api import RefusalsMixin
from core.permissions import RoleWritePermission
from households.api import BodySearchMixin
from households.models import Household
from monitoring import selectors, services
from monitoring.models import Finding, Measure, MonitoringCase, RelapseRecord, ResponsibleUnit
from notifications import services as notification_services
from notifications.models import Notification

REFUSAL = inline_serializer(
    "MonitoringRefusal",
    {
        "detail": serializers.CharField(),
        "reasons": serializers.ListField(child=serializers.CharField()),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)


class FindingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Finding
        fields = ["key", "channel", "risk_type", "detail", "found_at"]
        read_only_fields = fields


class UnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResponsibleUnit
        fields = ["unit", "person", "phone", "is_lead"]


class MeasureSerializer(serializers.ModelSerializer):
    type_display = serializers.CharField(source="get_type_display", read_only=True)

    class Meta:
        model = Measure
        fields = ["id", "type", "type_display", "content", "responsible_person", "due_on", "done_on"]
        read_only_fields = fields


class RelapseSerializer(serializers.ModelSerializer):
    confirmed_by = serializers.CharField(source="confirmed_by.username", read_only=True)

    class Meta:
        model = RelapseRecord
        fields = [
            "id", "exit_year", "reason", "income_year", "per_capita_income", "income_line", "confirmed_by",
            "confirmed_at",
        ]  # fmt: skip
        read_only_fields = fields


class MonitoringCaseSerializer(serializers.ModelSerializer):
    household_number = serializers.CharField(source="household.number", read_only=True)
    head_name = serializers.CharField(read_only=True, allow_null=True)
    village = serializers.CharField(source="village_id", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    stage_display = serializers.CharField(source="get_stage_display", read_only=True)
    category_display = serializers.CharField(source="get_category_display", read_only=True)
    channel_display = serializers.CharField(source="get_channel_display", read_only=True)

    class Meta:
        model = MonitoringCase
        fields = [
            "id", "household", "household_number", "head_name", "village", "village_name", "category",
            "category_display", "channel", "channel_display", "risk_types", "stage", "stage_display", "discovered_on",
            "response_due", "description", "decision_reason", "closed_on", "close_method",
        ]  # fmt: skip
        read_only_fields = fields


class MonitoringCaseDetailSerializer(MonitoringCaseSerializer):
    findings = FindingSerializer(many=True, read_only=True)
    responsible_units = UnitSerializer(many=True, read_only=True)
    measures = MeasureSerializer(many=True, read_only=True)
    household_exit_status = serializers.CharField(source="household.exit_status", read_only=True)
    relapses = RelapseSerializer(many=True, read_only=True)

    class Meta(MonitoringCaseSerializer.Meta):
        fields = [
            *MonitoringCaseSerializer.Meta.fields, "findings", "responsible_units", "measures",
            "household_exit_status", "relapses",
        ]  # fmt: skip
        read_only_fields = fields


class ReportSerializer(serializers.Serializer):
    household = serializers.IntegerField()
    channel = serializers.CharField()
    risk_types = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True)


class DecideSerializer(serializers.Serializer):
    confirm = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    risk_types = serializers.ListField(child=serializers.CharField(), required=False)


class UnitsSerializer(serializers.Serializer):
    units = UnitSerializer(many=True)


class MeasureInputSerializer(serializers.Serializer):
    type = serializers.CharField()
    content = serializers.CharField(allow_blank=True)
    responsible_person = serializers.CharField(allow_blank=True)
    due_on = serializers.CharField()


class CloseSerializer(serializers.Serializer):
    closed_on = serializers.CharField()
    method = serializers.CharField(allow_blank=True)


class RelapseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


@extend_schema_view(
    list=extend_schema(summary="监测对象列表（限本人管辖范围）"),
    retrieve=extend_schema(summary="监测对象详情：风险发现、责任单位、帮扶措施"),
    create=extend_schema(summary="登记风险户（自我申报或镇村研判）", request=ReportSerializer,
                         responses={201: MonitoringCaseDetailSerializer, 400: REFUSAL}),
)  # fmt: skip
class MonitoringCaseViewSet(RefusalsMixin, BodySearchMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated, RoleWritePermission]
    filterset_class = selectors.MonitoringCaseFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return MonitoringCase.objects.none()
        cases = selectors.case_list(user=self.request.user)
        if self.action != "list":
            cases = cases.prefetch_related(
                "findings",
                "responsible_units",
                "measures",
                Prefetch("relapses", RelapseRecord.objects.select_related("confirmed_by")),
            )
        return cases

    def get_serializer_class(self):
        return MonitoringCaseSerializer if self.action == "list" else MonitoringCaseDetailSerializer

    def _detail(self, case, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=case.pk)
        return Response(MonitoringCaseDetailSerializer(fresh).data, code)

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request, *args, **kwargs):
        data = self._input(ReportSerializer)
        household = Household.objects.visible_to(request.user).filter(pk=data["household"]).first()
        if household is None:
            raise ValidationError({"household": ["户不存在或不在您的管辖范围内。"]})
        case = services.case_report(
            by=request.user,
            household=household,
            channel=data["channel"],
            risk_types=data["risk_types"],
            description=data["description"],
        )
        return self._detail(case, status.HTTP_201_CREATED)

    @extend_schema(
        summary="提交县级研判", request=NoteSerializer, responses={200: MonitoringCaseDetailSerializer, 400: REFUSAL}
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        case = services.case_submit(by=request.user, case=self.get_object(), note=self._input(NoteSerializer)["note"])
        return self._detail(case)

    @extend_schema(
        summary="综合研判：确认或排除",
        request=DecideSerializer,
        responses={200: MonitoringCaseDetailSerializer, 400: REFUSAL},
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        data = self._input(DecideSerializer)
        case = services.case_decide(
            by=request.user,
            case=self.get_object(),
            confirm=data["confirm"],
            reason=data["reason"],
            risk_types=data.get("risk_types"),
        )
        return self._detail(case)

    @extend_schema(
        summary="落实责任单位（有且只有一个牵头单位）",
        request=UnitsSerializer,
        responses={200: MonitoringCaseDetailSerializer, 400: REFUSAL},
    )
    @action(detail=True, methods=["post"])
    def units(self, request, pk=None):
        case = self.get_object()
        services.units_set(by=request.user, case=case, units=self._input(UnitsSerializer)["units"])
        return self._detail(case)

    @extend_schema(
        summary="添加帮扶措施",
        request=MeasureInputSerializer,
        responses={200: MonitoringCaseDetailSerializer, 400: REFUSAL},
    )
    @action(detail=True, methods=["post"])
    def measures(self, request, pk=None):
        case = self.get_object()
        services.measure_add(by=request.user, case=case, data=self._input(MeasureInputSerializer))
        return self._detail(case)

    @extend_schema(
        summary="动态销号", request=CloseSerializer, responses={200: MonitoringCaseDetailSerializer, 400: REFUSAL}
    )
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        data = self._input(CloseSerializer)
        case = services.case_close(
            by=request.user, case=self.get_object(), closed_on=data["closed_on"], method=data["method"]
        )
        return self._detail(case)

    @extend_schema(
        summary="认定返贫（县级审批；已脱贫户，县级确认为监测对象后）",
        request=RelapseInputSerializer,
        responses={200: MonitoringCaseDetailSerializer, 400: REFUSAL},
    )
    @action(detail=True, methods=["post"])
    def relapse(self, request, pk=None):
        case = self.get_object()
        services.relapse_confirm(by=request.user, case=case, reason=self._input(RelapseInputSerializer)["reason"])
        return self._detail(case)


class AlertSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="alert.kind", read_only=True)
    title = serializers.CharField(source="alert.title", read_only=True)
    link = serializers.CharField(source="alert.link", read_only=True)
    due_on = serializers.DateField(source="alert.due_on", read_only=True)
    raised_at = serializers.DateTimeField(source="alert.raised_at", read_only=True)
    cleared_at = serializers.DateTimeField(source="alert.cleared_at", read_only=True)
    region = serializers.CharField(source="alert.region_id", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "link", "region", "due_on", "raised_at", "cleared_at", "read_at"]
        read_only_fields = fields


@extend_schema_view(list=extend_schema(summary="我的提醒（逾期、进度滞后、监测响应）"))
class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """The caller's own inbox; nobody sees another person's."""

    serializer_class = AlertSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        notes = notification_services.inbox(user=self.request.user)
        if self.request.query_params.get("open") in ("1", "true"):
            notes = notes.filter(alert__cleared_at__isnull=True)
        return notes

    @extend_schema(summary="标为已读", request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        note = notification_services.notification_read(user=request.user, notification_id=self.get_object().pk)
        return Response(AlertSerializer(note).data)
