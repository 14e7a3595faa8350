"""Exit campaigns and cases over the API (scoped; the same services and messages as the pages).

    GET  /api/v1/exit-campaigns/                       campaigns with deadlines and mapping
    GET  /api/v1/exit-cases/                           filters: campaign, region, step, overdue, failing, q
    POST /api/v1/exit-cases/                           {"campaign", "household"}: enrol (village cadre)
    GET  /api/v1/exit-cases/{id}/                      case with steps, objections
    POST /api/v1/exit-cases/{id}/advance/              {"step": n, …that step's record}
    POST /api/v1/exit-cases/{id}/return/               {"to_step": n, "reason": …}
    POST /api/v1/exit-cases/{id}/notice/               open the public notice {"start": date?}
    POST /api/v1/exit-cases/{id}/objections/           {"content", "raised_on"?, "raised_by_name"?}
    POST /api/v1/exit-cases/{id}/objections/{oid}/resolve/  {"upheld": bool, "resolution"}
    GET  /api/v1/exit-cases/{id}/criteria/             the five criteria with measured values
    POST /api/v1/exit-cases/{id}/criteria/{criterion}/certify/  sector certification {"note"}
    POST /api/v1/exit-cases/{id}/criteria/{criterion}/assess/   village assessment
    GET  /api/v1/prior-exits/                          exits recorded from before the system
    POST /api/v1/prior-exits/                          {"household", "year", "document", "note"?} (county)

Refusals are 400 ``{"detail": "…", "reasons": [...], "fields": {...}}``; a lost race is 409.
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api import RefusalsMixin
from core.permissions import RoleWritePermission
from exits import gates, selectors, services
from exits.models import (
    Campaign,
    Criterion,
    CriterionCheck,
    ExitCase,
    Objection,
    PriorExit,
    Step,
    StepRecord,
)
from households.api import BodySearchMixin
from households.models import Household

ERROR_RESPONSE = inline_serializer(
    "ExitRefusal",
    {
        "detail": serializers.CharField(),
        "reasons": serializers.ListField(child=serializers.CharField()),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
    },
)
CONFLICT_RESPONSE = inline_serializer("ExitConflict", {"detail": serializers.CharField()})
WRITE_RESPONSES = {400: ERROR_RESPONSE, 409: CONFLICT_RESPONSE}


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = [
            "id", "year", "name", "income_line", "village_deadline", "town_deadline", "county_deadline",
            "marking_deadline", "certification_due", "step_levels", "step_gates", "notice_min_days",
            "school_age_min", "school_age_max", "is_active",
        ]  # fmt: skip
        read_only_fields = fields

    certification_due = serializers.DateField(read_only=True)
    step_gates = serializers.SerializerMethodField()

    def get_step_gates(self, campaign: Campaign) -> dict[str, list[str]]:
        """Every step's gates as they apply (the defaults filled in)."""
        return {str(step): campaign.gates_for(step) for step in Step.values}


class CriterionSerializer(serializers.ModelSerializer):
    criterion_display = serializers.CharField(source="get_criterion_display", read_only=True)
    result_display = serializers.CharField(source="get_result_display", read_only=True)
    sector = serializers.CharField(read_only=True)
    is_passed = serializers.BooleanField(read_only=True)
    assessed_by = serializers.StringRelatedField()
    certified_by = serializers.StringRelatedField()

    class Meta:
        model = CriterionCheck
        fields = [
            "criterion", "criterion_display", "result", "result_display", "measured", "failures", "measured_at",
            "assessment", "assessment_note", "assessed_by", "assessed_at", "sector", "certified_by",
            "certified_at", "certification_note", "lapse_note", "is_passed",
        ]  # fmt: skip
        read_only_fields = fields


class StepRecordSerializer(serializers.ModelSerializer):
    step_display = serializers.CharField(source="get_step_display", read_only=True)
    completed_by = serializers.StringRelatedField()

    class Meta:
        model = StepRecord
        fields = ["id", "step", "step_display", "data", "completed_by", "completed_at", "is_reset", "reset_at",
                  "reset_reason"]  # fmt: skip
        read_only_fields = fields


class ObjectionSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    resolved_by = serializers.StringRelatedField()

    class Meta:
        model = Objection
        fields = ["id", "raised_on", "raised_by_name", "content", "status", "status_display", "resolution",
                  "resolved_by", "resolved_at"]  # fmt: skip
        read_only_fields = fields


class ExitCaseSerializer(serializers.ModelSerializer):
    campaign_name = serializers.CharField(source="campaign.name", read_only=True)
    household_number = serializers.CharField(source="household.number", read_only=True)
    head_name = serializers.CharField(read_only=True, allow_null=True)
    village = serializers.CharField(source="village_id", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    current_step_display = serializers.CharField(source="current_step_label", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    failing_count = serializers.IntegerField(read_only=True)
    deadline = serializers.SerializerMethodField()

    class Meta:
        model = ExitCase
        fields = [
            "id", "campaign", "campaign_name", "household", "household_number", "head_name", "village",
            "village_name", "current_step", "current_step_display", "status", "status_display",
            "notice_started_on", "failing_count", "deadline", "enrolled_at", "exited_on", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_deadline(self, case: ExitCase) -> dict | None:
        if case.is_done:
            return None
        status_ = selectors.deadline_status(case.campaign.deadline_for(case.current_step))
        return {
            "date": status_["deadline"].isoformat(),
            "days_left": status_["days_left"],
            "overdue": status_["overdue"],
        }


class BlockerSerializer(serializers.Serializer):
    gate = serializers.CharField()
    label = serializers.CharField()
    reasons = serializers.ListField(child=serializers.CharField())


class ExitCaseDetailSerializer(ExitCaseSerializer):
    criteria = CriterionSerializer(many=True, read_only=True)
    steps = StepRecordSerializer(many=True, read_only=True)
    objections = ObjectionSerializer(many=True, read_only=True)
    blockers = serializers.SerializerMethodField(help_text="当前步骤尚不满足的前置条件（按最近一次测算）")

    class Meta(ExitCaseSerializer.Meta):
        fields = [*ExitCaseSerializer.Meta.fields, "criteria", "steps", "objections", "blockers"]
        read_only_fields = fields

    @extend_schema_field(BlockerSerializer(many=True))
    def get_blockers(self, case: ExitCase) -> list[dict]:
        if case.is_done:
            return []
        return [
            {"gate": b.gate, "label": b.label, "reasons": list(b.reasons)}
            for b in gates.blockers(case, case.current_step)
        ]


class EnrolSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    household = serializers.IntegerField()


class AdvanceSerializer(serializers.Serializer):
    """The step's record, taken as sent: ``exits.services.clean_step_data`` checks each
    value and names the field, so the API answers exactly as the page does."""

    step = serializers.ChoiceField(choices=Step.choices, help_text="要完成的步骤（1–8），必须是案件的当前步骤")
    head_signed = serializers.JSONField(required=False, help_text="第1步：户主签字认可")
    food_clothing_secure = serializers.JSONField(required=False, help_text="第1步：吃穿不愁已入户确认")
    signed_on = serializers.CharField(required=False, help_text="第1步：签字日期")
    meeting_date = serializers.CharField(required=False, help_text="第2步：评议会议日期")
    attendance = serializers.JSONField(required=False, help_text="第2步：参会人数")
    votes_for = serializers.JSONField(required=False, help_text="第2步：赞成票")
    votes_against = serializers.JSONField(required=False, help_text="第2步：反对票")
    minutes = serializers.CharField(required=False, allow_blank=True, help_text="第2步：会议记录")
    checking_unit = serializers.CharField(required=False, help_text="第3步：交叉检查组所在村或镇的区划代码")
    findings = serializers.CharField(required=False, allow_blank=True, help_text="第3步：检查发现的问题")
    opinion = serializers.CharField(required=False, allow_blank=True, help_text="第4步审核意见 / 第6步批准意见")
    checklist = serializers.ListField(child=serializers.CharField(), required=False, help_text="第7步：备案资料清单")
    marked_on = serializers.CharField(required=False, help_text="第8步：系统标注日期")
    operator = serializers.CharField(required=False, allow_blank=True, help_text="第8步：标注操作员")
    note = serializers.CharField(required=False, allow_blank=True)


class ReturnSerializer(serializers.Serializer):
    to_step = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True)


class NoticeSerializer(serializers.Serializer):
    start = serializers.CharField(required=False, help_text="公示开始日期，默认今天")


class ObjectionInputSerializer(serializers.Serializer):
    content = serializers.CharField(allow_blank=True)
    raised_on = serializers.CharField(required=False)
    raised_by_name = serializers.CharField(required=False, allow_blank=True)


class ResolveSerializer(serializers.Serializer):
    upheld = serializers.BooleanField()
    resolution = serializers.CharField(allow_blank=True)
    return_to = serializers.IntegerField(required=False, default=Step.VERIFY)


class CertifySerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True)


class AssessSerializer(serializers.Serializer):
    assessment = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    home_taught = serializers.ListField(child=serializers.IntegerField(), required=False)


class ExitErrorsMixin(RefusalsMixin):
    def handle_exception(self, exc):
        if isinstance(exc, services.ExitConflict):
            return Response({"detail": exc.message}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)


@extend_schema_view(
    list=extend_schema(summary="退出批次列表"),
    retrieve=extend_schema(summary="退出批次（时限、步骤所属层级、收入标准）"),
)
class CampaignViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CampaignSerializer
    permission_classes = [IsAuthenticated]
    queryset = Campaign.objects.all()


@extend_schema_view(
    list=extend_schema(summary="退出案件列表（限本人管辖范围）"),
    retrieve=extend_schema(summary="退出案件详情：五项标准、步骤记录、公示异议"),
    create=extend_schema(
        summary="纳入退出（村级录入员）",
        request=EnrolSerializer,
        responses={201: ExitCaseDetailSerializer, **WRITE_RESPONSES},
    ),
)
class ExitCaseViewSet(ExitErrorsMixin, BodySearchMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated, RoleWritePermission]
    filterset_class = selectors.ExitCaseFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ExitCase.objects.none()
        cases = selectors.case_list(user=self.request.user)
        if self.action != "list":
            cases = cases.prefetch_related("criteria__assessed_by", "criteria__certified_by", "steps__completed_by",
                                           "objections__resolved_by", "household__special_situations")  # fmt: skip
        return cases

    def get_serializer_class(self):
        return ExitCaseSerializer if self.action == "list" else ExitCaseDetailSerializer

    def _detail(self, case: ExitCase, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=case.pk)
        return Response(ExitCaseDetailSerializer(fresh, context=self.get_serializer_context()).data, code)

    def create(self, request, *args, **kwargs):
        serializer = EnrolSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = Campaign.objects.filter(pk=serializer.validated_data["campaign"]).first()
        household = Household.objects.visible_to(request.user).filter(pk=serializer.validated_data["household"]).first()
        if campaign is None:
            raise ValidationError({"campaign": ["退出批次不存在。"]})
        if household is None:
            raise ValidationError({"household": ["户不存在或不在您的管辖范围内。"]})
        case = services.case_enrol(by=request.user, campaign=campaign, household=household)
        return self._detail(case, status.HTTP_201_CREATED)

    @extend_schema(
        summary="完成当前步骤", request=AdvanceSerializer, responses={200: ExitCaseDetailSerializer, **WRITE_RESPONSES}
    )
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        case = self.get_object()
        serializer = AdvanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        step = data.pop("step")
        services.step_complete(by=request.user, case=case, step=step, data=data)
        return self._detail(case)

    @extend_schema(
        summary="退回到之前的步骤",
        request=ReturnSerializer,
        responses={200: ExitCaseDetailSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        case = self.get_object()
        serializer = ReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.case_return(by=request.user, case=case, **serializer.validated_data)
        return self._detail(case)

    @extend_schema(
        summary="发布公示", request=NoticeSerializer, responses={200: ExitCaseDetailSerializer, **WRITE_RESPONSES}
    )
    @action(detail=True, methods=["post"])
    def notice(self, request, pk=None):
        case = self.get_object()
        serializer = NoticeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.notice_open(by=request.user, case=case, start=serializer.validated_data.get("start"))
        return self._detail(case)

    @extend_schema(
        summary="登记公示异议",
        request=ObjectionInputSerializer,
        responses={201: ObjectionSerializer, **WRITE_RESPONSES},
    )
    @action(detail=True, methods=["post"])
    def objections(self, request, pk=None):
        case = self.get_object()
        serializer = ObjectionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        objection = services.objection_add(by=request.user, case=case, **serializer.validated_data)
        return Response(ObjectionSerializer(objection).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="处理公示异议（异议成立则退回）",
        request=ResolveSerializer,
        responses={200: ObjectionSerializer, **WRITE_RESPONSES},
        parameters=[OpenApiParameter("objection_id", int, OpenApiParameter.PATH)],
    )
    @action(detail=True, methods=["post"], url_path=r"objections/(?P<objection_id>\d+)/resolve")
    def resolve_objection(self, request, pk=None, objection_id=None):
        case = self.get_object()
        objection = case.objections.filter(pk=objection_id).first()
        if objection is None:
            raise NotFound("异议不存在。")
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        objection = services.objection_resolve(by=request.user, objection=objection, **serializer.validated_data)
        return Response(ObjectionSerializer(objection).data)

    @extend_schema(summary="五项标准（测算值、村级评定、行业认定）", responses={200: CriterionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def criteria(self, request, pk=None):
        case = self.get_object()
        checks = case.criteria.select_related("assessed_by", "certified_by")
        return Response(CriterionSerializer(checks, many=True).data)

    def _check(self, criterion: str) -> CriterionCheck:
        case = self.get_object()
        if criterion not in Criterion.values:
            raise NotFound("标准不存在。")
        return case.criteria.get(criterion=criterion)

    @extend_schema(
        summary="行业部门达标认定",
        request=CertifySerializer,
        responses={200: CriterionSerializer, **WRITE_RESPONSES},
        parameters=[OpenApiParameter("criterion", str, OpenApiParameter.PATH, enum=Criterion.values)],
    )
    @action(detail=True, methods=["post"], url_path=r"criteria/(?P<criterion>[a-z]+)/certify")
    def certify(self, request, pk=None, criterion=None):
        check = self._check(criterion)
        serializer = CertifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check = services.criterion_certify(by=request.user, check=check, note=serializer.validated_data.get("note", ""))
        return Response(CriterionSerializer(check).data)

    @extend_schema(
        summary="村级评定",
        request=AssessSerializer,
        responses={200: CriterionSerializer, **WRITE_RESPONSES},
        parameters=[OpenApiParameter("criterion", str, OpenApiParameter.PATH, enum=Criterion.values)],
    )
    @action(detail=True, methods=["post"], url_path=r"criteria/(?P<criterion>[a-z]+)/assess")
    def assess(self, request, pk=None, criterion=None):
        check = self._check(criterion)
        serializer = AssessSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        check = services.criterion_assess(
            by=request.user,
            check=check,
            assessment=data["assessment"],
            note=data["note"],
            home_taught=data.get("home_taught"),
        )
        return Response(CriterionSerializer(check).data)


class PriorExitSerializer(serializers.ModelSerializer):
    household_number = serializers.CharField(source="household.number", read_only=True)
    recorded_by = serializers.StringRelatedField()

    class Meta:
        model = PriorExit
        fields = ["id", "household", "household_number", "year", "document", "note", "recorded_by", "recorded_at"]
        read_only_fields = fields


class PriorExitInputSerializer(serializers.Serializer):
    household = serializers.IntegerField(help_text="户的 id（本人管辖范围内）")
    year = serializers.IntegerField(help_text="脱贫年度")
    document = serializers.CharField(help_text="批准退出的文件名称及文号", allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema_view(
    list=extend_schema(summary="历史脱贫登记列表"),
    create=extend_schema(
        summary="登记一户系统启用前的脱贫（县级）",
        request=PriorExitInputSerializer,
        responses={201: PriorExitSerializer, 400: ERROR_RESPONSE},
    ),
)
class PriorExitViewSet(ExitErrorsMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Exits from before the system (历史脱贫登记): the recorded path by which a county
    loading its registry sets 脱贫状态, with year and document (DOMAIN.md §4)."""

    permission_classes = [IsAuthenticated, RoleWritePermission]
    serializer_class = PriorExitSerializer

    def get_queryset(self):
        return PriorExit.objects.visible_to(self.request.user).select_related("household", "recorded_by")

    def create(self, request, *args, **kwargs):
        serializer = PriorExitInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        household = Household.objects.visible_to(request.user).filter(pk=data["household"]).first()
        if household is None:
            raise ValidationError({"household": ["户不存在或不在您的管辖范围内。"]})
        record = services.prior_exit_record(
            by=request.user, household=household, year=data["year"], document=data["document"], note=data["note"]
        )
        return Response(PriorExitSerializer(record).data, status=status.HTTP_201_CREATED)
