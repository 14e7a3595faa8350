"""The registry through the API: /api/v1/households/ and /api/v1/members/.

Serializers here only parse and type-check; every rule of DOMAIN.md §2 is
``households.services``' job, so the API, the pages and the import answer with the
same Chinese messages. Reads start from the selectors (``visible_to(user)``), so a
household outside the caller's region is a 404 on every verb, never a 403 that
would confirm it exists.

Personal data (DOMAIN.md §9): ID and phone numbers always go out masked; the full
number is a logged POST (``reveal``). A masked number sent back unchanged means
"keep the current value".
"""

import django_filters
from django.core.validators import ProhibitNullCharactersValidator
from django.db.models import Prefetch, Q
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from households import selectors, services
from households.idnumbers import mask_id_number, mask_phone, normalize_id_number
from households.models import (
    Education,
    ExitStatus,
    Household,
    IdentificationStandard,
    LabourSkill,
    MedicalInsurance,
    Member,
    PoliticalStatus,
    PovertyAttribute,
    PovertyCause,
    Relationship,
    RelocationMode,
    Schooling,
    Sex,
    WorkStatus,
)
from households.normalize import TextKind, normalize_text

# --- representation -----------------------------------------------------------------


class BodySearchMixin:
    """For API viewsets: ``POST …/search/`` answers as the list does, with its filters
    (``q`` and the rest) in the body, where a full ID number may go."""

    @extend_schema(
        summary="在请求正文中按条件查找（可含完整证件号码，不进网址）",
        request=inline_serializer("BodySearch", {"q": serializers.CharField(required=False)}),
    )
    @action(detail=False, methods=["post"], permission_classes=[IsAuthenticated])
    def search(self, request):
        # Reading, not writing: any role may search within its scope.
        data = QueryDict(mutable=True)
        for key, value in request.data.items():
            data.setlist(key, [str(v) for v in value] if isinstance(value, list) else [str(value)])
        filterset = self.filterset_class(data, queryset=self.get_queryset(), request=request)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class HouseholdMemberSerializer(serializers.ModelSerializer):
    """A member as shown inside its household: ID number masked, sex and birth date
    derived from it by the registry service."""

    id_number = serializers.SerializerMethodField()
    sex_display = serializers.CharField(source="get_sex_display", read_only=True)
    relationship_display = serializers.CharField(source="get_relationship_display", read_only=True)
    political_status_display = serializers.CharField(source="get_political_status_display", read_only=True)
    education_display = serializers.CharField(source="get_education_display", read_only=True)
    schooling_display = serializers.CharField(source="get_schooling_display", read_only=True)
    labour_skill_display = serializers.CharField(source="get_labour_skill_display", read_only=True)
    work_status_display = serializers.CharField(source="get_work_status_display", read_only=True)
    medical_insurance_display = serializers.CharField(source="get_medical_insurance_display", read_only=True)

    class Meta:
        model = Member
        fields = [
            "id", "name", "id_number", "sex", "sex_display", "birth_date", "relationship", "relationship_display",
            "ethnicity", "political_status", "political_status_display", "education", "education_display",
            "schooling", "schooling_display", "has_chronic_disease", "has_serious_illness", "is_disabled",
            "disability_category", "disability_grade", "labour_skill", "labour_skill_display", "work_status",
            "work_status_display", "work_place", "work_months", "employer", "medical_insurance",
            "medical_insurance_display", "critical_illness_insurance", "family_doctor", "is_dibao", "is_tekun",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_id_number(self, member: Member) -> str:
        return mask_id_number(member.id_number)


class MemberSerializer(HouseholdMemberSerializer):
    """A member on its own: which household and village it belongs to."""

    household_number = serializers.CharField(source="household.number", read_only=True)
    village = serializers.CharField(source="household.village_id", read_only=True)
    village_name = serializers.CharField(source="household.village.name", read_only=True)

    class Meta(HouseholdMemberSerializer.Meta):
        fields = ["household", "household_number", "village", "village_name", *HouseholdMemberSerializer.Meta.fields]
        read_only_fields = fields


class HouseholdSerializer(serializers.ModelSerializer):
    """A household as listed: 户主 and size come annotated by ``selectors.household_list``."""

    village = serializers.CharField(source="village_id", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    phone = serializers.SerializerMethodField()
    helper_phone = serializers.SerializerMethodField()
    identification_standard_display = serializers.CharField(
        source="get_identification_standard_display", read_only=True
    )
    attribute_display = serializers.CharField(source="get_attribute_display", read_only=True)
    main_cause_display = serializers.CharField(source="get_main_cause_display", read_only=True)
    other_causes_display = serializers.SerializerMethodField()
    exit_status_display = serializers.CharField(source="get_exit_status_display", read_only=True)
    relocation_mode_display = serializers.CharField(source="get_relocation_mode_display", read_only=True)
    head_name = serializers.CharField(read_only=True, allow_null=True)
    member_count = serializers.SerializerMethodField()

    class Meta:
        model = Household
        fields = [
            "id", "number", "village", "village_name", "group_no", "head_name", "member_count", "phone",
            "identification_standard", "identification_standard_display", "attribute", "attribute_display",
            "main_cause", "main_cause_display", "other_causes", "other_causes_display", "identification_year",
            "exit_status", "exit_status_display", "exit_year", "is_relocated", "relocation_mode",
            "relocation_mode_display", "helper_name", "helper_unit", "helper_phone", "lost_contact",
            "released_prisoner", "special_notes", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_phone(self, household: Household) -> str:
        return mask_phone(household.phone)

    def get_helper_phone(self, household: Household) -> str:
        return mask_phone(household.helper_phone)

    def get_other_causes_display(self, household: Household) -> list[str]:
        labels = dict(PovertyCause.choices)
        return [str(labels.get(cause, cause)) for cause in household.other_causes]

    def get_member_count(self, household: Household) -> int:
        # The annotated subquery is NULL for a household without members.
        return household.member_count or 0


class HouseholdDetailSerializer(HouseholdSerializer):
    members = HouseholdMemberSerializer(many=True, read_only=True)

    class Meta(HouseholdSerializer.Meta):
        fields = [*HouseholdSerializer.Meta.fields, "members"]
        read_only_fields = fields


# --- input: parse and type-check only ---------------------------------------------------
#
# Nothing is required here that the service would name better itself (户编号, 户主, …):
# strings accept blanks and numbers nulls where the model allows them, and the service
# or the model's full_clean() answers with the message that names the field. Text
# fields take any text: the service normalises it (full-width digits, spaces, phone
# separators) and names control characters, NUL included, with the message every
# other path gives.


class RegistryTextField(serializers.CharField):
    """Text for the registry service, as sent (no NUL check of DRF's own: the service's
    message names the field on every path)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class MemberInputSerializer(serializers.Serializer):
    name = RegistryTextField()
    id_number = RegistryTextField(trim_whitespace=False)
    relationship = serializers.ChoiceField(choices=Relationship.choices, required=False)
    ethnicity = RegistryTextField()
    political_status = serializers.ChoiceField(choices=PoliticalStatus.choices, required=False)
    education = serializers.ChoiceField(choices=Education.choices, required=False, allow_blank=True)
    schooling = serializers.ChoiceField(choices=Schooling.choices, required=False, allow_blank=True)
    has_chronic_disease = serializers.BooleanField(required=False)
    has_serious_illness = serializers.BooleanField(required=False)
    is_disabled = serializers.BooleanField(required=False)
    disability_category = RegistryTextField()
    disability_grade = serializers.IntegerField(required=False, allow_null=True)
    labour_skill = serializers.ChoiceField(choices=LabourSkill.choices, required=False)
    work_status = serializers.ChoiceField(choices=WorkStatus.choices, required=False)
    work_place = RegistryTextField()
    work_months = serializers.IntegerField(required=False)
    employer = RegistryTextField()
    medical_insurance = serializers.ChoiceField(choices=MedicalInsurance.choices, required=False)
    critical_illness_insurance = serializers.BooleanField(required=False)
    family_doctor = serializers.BooleanField(required=False)
    is_dibao = serializers.BooleanField(required=False)
    is_tekun = serializers.BooleanField(required=False)


class HouseholdMemberInputSerializer(MemberInputSerializer):
    """One row of a household's member list: ``id`` for an existing member (omitted
    fields keep their values), ``DELETE: true`` to remove it, no ``id`` for a new one."""

    id = serializers.IntegerField(required=False, allow_null=True, help_text=_("已有成员的 ID；新成员不填"))
    DELETE = serializers.BooleanField(required=False, default=False, help_text=_("为 true 时删除该成员"))


class HouseholdInputSerializer(serializers.Serializer):
    number = RegistryTextField()
    village = RegistryTextField(help_text=_("所属村的12位区划代码"))
    group_no = serializers.IntegerField(required=False)
    phone = RegistryTextField(help_text=_("原样提交掩码号码表示不修改"))
    identification_standard = serializers.ChoiceField(choices=IdentificationStandard.choices, required=False)
    attribute = serializers.ChoiceField(choices=PovertyAttribute.choices, required=False)
    main_cause = serializers.ChoiceField(choices=PovertyCause.choices, required=False)
    # Each entry is checked against 致贫原因 by the service, which names the bad ones.
    other_causes = serializers.ListField(child=serializers.CharField(), required=False)
    identification_year = serializers.IntegerField(required=False)
    # 脱贫状态 and 脱贫年度 are the exit workflow's outcome (DOMAIN.md §4): read-only here.
    # A client echoing what it read is fine; a different value is refused, not ignored
    # (see to_internal_value).
    exit_status = serializers.ChoiceField(
        choices=ExitStatus.choices, read_only=True, help_text=_("只读：由退出程序产生，提交不同的值将被拒绝")
    )
    exit_year = serializers.IntegerField(read_only=True, help_text=_("只读：由退出程序产生，提交不同的值将被拒绝"))
    is_relocated = serializers.BooleanField(required=False)
    relocation_mode = serializers.ChoiceField(choices=RelocationMode.choices, required=False, allow_blank=True)
    helper_name = RegistryTextField()
    helper_unit = RegistryTextField()
    helper_phone = RegistryTextField(help_text=_("原样提交掩码号码表示不修改"))
    lost_contact = serializers.BooleanField(required=False)
    released_prisoner = serializers.BooleanField(required=False)
    special_notes = RegistryTextField()

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        # Read-only fields are dropped by DRF; these go to the service as sent, so that a
        # value other than the record's is a 400 naming the field, not silently lost.
        if hasattr(data, "get"):
            values.update({name: data[name] for name in services.OUTCOME_FIELDS if name in data})
        return values


class HouseholdCreateSerializer(HouseholdInputSerializer):
    members = MemberInputSerializer(many=True, help_text=_("全部家庭成员，须含户主"))


class HouseholdUpdateSerializer(HouseholdInputSerializer):
    version = serializers.IntegerField(
        help_text=_("必填（PATCH 也须提交）：开始编辑时该户的版本号；期间他人已保存则返回 409"),
        error_messages={
            "required": _("请提交开始编辑时该户的版本号（version），以免覆盖他人的修改。"),
            "null": _("版本号（version）不能为空。"),
            "invalid": _("版本号（version）必须是整数。"),
        },
    )
    members = HouseholdMemberInputSerializer(
        many=True, required=False, help_text=_("不提交则成员不变；提交时为完整的成员列表")
    )


class VisibleHouseholdField(serializers.PrimaryKeyRelatedField):
    """A household id, accepted only within the caller's region."""

    def get_queryset(self):
        return Household.objects.visible_to(self.context["request"].user)


class MemberCreateSerializer(MemberInputSerializer):
    household = VisibleHouseholdField(
        queryset=Household.objects.all(),
        error_messages={
            "required": _("请选择所属户。"),
            "null": _("请选择所属户。"),
            "does_not_exist": _("所属户不存在或不在您的管辖范围内。"),
            "incorrect_type": _("所属户不存在或不在您的管辖范围内。"),
        },
    )


class MemberTransferSerializer(serializers.Serializer):
    to_household = VisibleHouseholdField(
        queryset=Household.objects.all(),
        error_messages={
            "required": _("请选择迁入户。"),
            "null": _("请选择迁入户。"),
            "does_not_exist": _("迁入户不存在或不在您的管辖范围内。"),
            "incorrect_type": _("迁入户不存在或不在您的管辖范围内。"),
        },
    )
    relationship = serializers.ChoiceField(choices=Relationship.choices, required=False, allow_blank=True)
    reason = RegistryTextField()


# --- errors ---------------------------------------------------------------------------------

RegistryErrorResponse = inline_serializer(
    "RegistryErrorResponse",
    {
        "non_field_errors": serializers.ListField(child=serializers.CharField(), required=False),
        "members": serializers.DictField(
            required=False, help_text=_('按提交顺序的成员错误：{"0": {"id_number": ["…"]}}')
        ),
        "messages": serializers.ListField(child=serializers.CharField(), help_text=_("全部错误的“字段：消息”列表")),
    },
)
DetailResponse = inline_serializer("DetailResponse", {"detail": serializers.CharField()})


def _member_errors(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    return {("non_field_errors" if name == "__all__" else name): msgs for name, msgs in fields.items()}


def registry_error_body(error: services.RegistryError) -> dict:
    """A RegistryError shaped like DRF's validation errors, plus the flat message list."""
    body: dict = {name: msgs for name, msgs in error.household.items() if name != "members"}
    members: dict = {str(index): _member_errors(fields) for index, fields in sorted(error.members.items())}
    if error.household.get("members"):
        # About the list as a whole (no 户主, a row of another household).
        members["non_field_errors"] = error.household["members"]
    if members:
        body["members"] = members
    if error.general:
        body["non_field_errors"] = list(error.general)
    body["messages"] = error.messages()
    return body


class RegistryErrorsMixin:
    """Service errors as HTTP answers: rules broken 400, stale edit 409, role 403. A delete
    that other records stand in the way of (``ProtectedRecords``) is a 409 from
    ``core.api.exception_handler``."""

    def handle_exception(self, exc):
        if isinstance(exc, services.ConcurrentEditError):
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        if isinstance(exc, services.RegistryError):
            return Response(self.registry_error_body(exc), status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, PermissionError):
            # The services' answer to a role that may not do this (read-only, no reveal).
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return super().handle_exception(exc)

    def registry_error_body(self, error: services.RegistryError) -> dict:
        return registry_error_body(error)


# --- households ---------------------------------------------------------------------------------

WRITE_ERRORS = {400: RegistryErrorResponse, 403: DetailResponse}


@extend_schema_view(
    list=extend_schema(summary="贫困户列表（限本人管辖范围）"),
    retrieve=extend_schema(summary="贫困户详情（含家庭成员，证件号码与电话已掩码）"),
    create=extend_schema(
        summary="登记贫困户及其家庭成员",
        request=HouseholdCreateSerializer,
        responses={201: HouseholdDetailSerializer, **WRITE_ERRORS},
    ),
    update=extend_schema(
        summary="修改贫困户（需提交版本号）",
        request=HouseholdUpdateSerializer,
        responses={200: HouseholdDetailSerializer, **WRITE_ERRORS, 409: DetailResponse},
    ),
    partial_update=extend_schema(
        summary="部分修改贫困户（需提交版本号）",
        request=HouseholdUpdateSerializer,
        responses={200: HouseholdDetailSerializer, **WRITE_ERRORS, 409: DetailResponse},
    ),
    destroy=extend_schema(
        summary="删除误登记的贫困户（有退出、监测等记录须保留的户不能删除）",
        responses={204: None, **WRITE_ERRORS, 409: DetailResponse},
    ),
)
class HouseholdViewSet(RegistryErrorsMixin, BodySearchMixin, viewsets.ModelViewSet):
    """Households in the caller's region; writes go through ``households.services``.

    PUT and PATCH both merge: omitted fields keep their values, and ``members``, when
    sent, is the whole list (rows with ``id`` are existing members, whose omitted
    fields keep their values too).
    """

    filterset_class = selectors.HouseholdFilter
    # Nested member lists need JSON; a form-encoded PUT would also reset every
    # omitted checkbox to false.
    parser_classes = [JSONParser]

    def get_queryset(self):
        households = selectors.household_list(user=self.request.user)
        if self.action != "list":
            households = households.prefetch_related(Prefetch("members", queryset=Member.objects.order_by("id")))
        return households

    def get_serializer_class(self):
        return HouseholdSerializer if self.action in ("list", "search") else HouseholdDetailSerializer

    def _detail(self, household: Household, status_code=status.HTTP_200_OK) -> Response:
        # Re-read through the selector: 户主, size and version as now saved.
        fresh = self.get_queryset().get(pk=household.pk)
        return Response(HouseholdDetailSerializer(fresh, context=self.get_serializer_context()).data, status_code)

    def create(self, request, *args, **kwargs):
        serializer = HouseholdCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        members = data.pop("members")
        household = services.household_create(by=request.user, data=data, members=members)
        return self._detail(household, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        household = self.get_object()
        serializer = HouseholdUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = data.pop("version")
        members = data.pop("members", None)
        for name in ("phone", "helper_phone"):
            if name in data and data[name] == mask_phone(getattr(household, name)):
                data.pop(name)  # the masked number came back unchanged: keep it
        if members is not None:
            members = self._merge_members(household, members)
        services.household_update(by=request.user, household=household, data=data, members=members, version=version)
        return self._detail(household)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    @staticmethod
    def _merge_members(household: Household, items: list[dict]) -> list[dict]:
        """Rows for existing members start from their saved values, so a row that sends
        only what changed (or the masked ID number) keeps the rest."""
        current = {m.pk: m for m in household.members.all()}
        merged = []
        for item in items:
            existing = current.get(item.get("id"))
            if existing is not None and not item.get("DELETE"):
                item = {name: getattr(existing, name) for name in services.MEMBER_FIELDS} | item
            merged.append(item)
        return merged

    def destroy(self, request, *args, **kwargs):
        services.household_delete(by=request.user, household=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="查看完整联系电话（记录查看日志）",
        request=None,
        responses={
            200: inline_serializer("HouseholdPhoneReveal", {"phone": serializers.CharField()}),
            403: DetailResponse,
            429: DetailResponse,
        },
    )
    @action(detail=True, methods=["post"], url_path="reveal-phone", permission_classes=[IsAuthenticated])
    def reveal_phone(self, request, pk=None):
        # Not a write, so not RoleWritePermission: the service decides who may see it,
        # with its own message, and logs the access (DOMAIN.md §9).
        phone = services.personal_data_reveal(by=request.user, household=self.get_object())
        return Response({"phone": phone})


# --- members ---------------------------------------------------------------------------------


class MemberFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("搜索（姓名、户编号或完整证件号码）"))
    household = django_filters.NumberFilter(field_name="household", label=_("所属户"))
    relationship = django_filters.ChoiceFilter(choices=Relationship.choices, label=_("与户主关系"))
    medical_insurance = django_filters.ChoiceFilter(choices=MedicalInsurance.choices, label=_("医保"))
    sex = django_filters.ChoiceFilter(choices=Sex.choices, label=_("性别"))

    class Meta:
        model = Member
        fields = ["q", "household", "relationship", "medical_insurance", "sex"]

    def filter_search(self, queryset, name, value):
        """Name (contains), 户编号 (prefix), or a full ID number (exact, never a fragment)."""
        value = value.strip()
        if not value:
            return queryset
        id_number = normalize_id_number(value)
        condition = Q(name__contains=normalize_text(value, TextKind.NAME)) | Q(household__number__startswith=id_number)
        if len(id_number) == 18:
            condition |= Q(id_number=id_number)
        return queryset.filter(condition)


@extend_schema_view(
    list=extend_schema(summary="家庭成员列表（限本人管辖范围）"),
    retrieve=extend_schema(summary="家庭成员详情（证件号码已掩码）"),
    create=extend_schema(
        summary="新增家庭成员", request=MemberCreateSerializer, responses={201: MemberSerializer, **WRITE_ERRORS}
    ),
    update=extend_schema(
        summary="修改家庭成员", request=MemberInputSerializer, responses={200: MemberSerializer, **WRITE_ERRORS}
    ),
    partial_update=extend_schema(
        summary="部分修改家庭成员", request=MemberInputSerializer, responses={200: MemberSerializer, **WRITE_ERRORS}
    ),
    destroy=extend_schema(summary="删除家庭成员", responses={204: None, **WRITE_ERRORS}),
)
class MemberViewSet(RegistryErrorsMixin, BodySearchMixin, viewsets.ModelViewSet):
    """Members one at a time. Each write re-checks the whole household through
    ``households.services``, so the family rules (one 户主, …) hold here too.

    PUT and PATCH both merge: omitted fields keep their values. A member changes
    household only by ``transfer``.
    """

    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    parser_classes = [JSONParser]
    # Where this member sits in the household list the service re-checks (set by create/update).
    _target_index: int | None = None

    def get_queryset(self):
        return selectors.member_list(user=self.request.user)

    def _member(self, member: Member, status_code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=member.pk)
        return Response(MemberSerializer(fresh, context=self.get_serializer_context()).data, status_code)

    def create(self, request, *args, **kwargs):
        serializer = MemberCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        household = data.pop("household")
        # The service re-checks the whole household; the new member is its last row.
        self._target_index = household.members.count()
        member = services.member_add(by=request.user, household=household, data=data)
        return self._member(member, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        member = self.get_object()
        serializer = MemberInputSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        self._target_index = list(member.household.members.values_list("pk", flat=True)).index(member.pk)
        member = services.member_update(by=request.user, member=member, data=dict(serializer.validated_data))
        return self._member(member)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.member_delete(by=request.user, member=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def registry_error_body(self, error: services.RegistryError) -> dict:
        """The service reports on the member's whole household: this member's own
        messages go next to its fields; the rest (other rows, the family as a whole)
        are non-field errors, each naming its row."""
        index = self._target_index
        own = error.members.get(index, {}) if index is not None else {}
        rest = services.RegistryError(
            household=error.household,
            members={i: fields for i, fields in error.members.items() if i != index},
            general=error.general,
        )
        body: dict = _member_errors(own)
        if self.action == "transfer":
            # The transfer service names the request's own fields (to_household, relationship, reason).
            body.update(error.household)
            rest.household = {}
        if rest:
            body.setdefault("non_field_errors", []).extend(rest.messages())
        body["messages"] = error.messages()
        return body

    @extend_schema(
        summary="查看完整证件号码（记录查看日志）",
        request=None,
        responses={
            200: inline_serializer("MemberIdNumberReveal", {"id_number": serializers.CharField()}),
            403: DetailResponse,
            429: DetailResponse,
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAuthenticated])
    def reveal(self, request, pk=None):
        # As for the household phone: the service decides and logs (DOMAIN.md §9).
        id_number = services.personal_data_reveal(by=request.user, member=self.get_object())
        return Response({"id_number": id_number})

    @extend_schema(
        summary="成员转移（迁入本人管辖范围内的另一户）",
        request=MemberTransferSerializer,
        responses={200: MemberSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        member = self.get_object()
        serializer = MemberTransferSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        member = services.member_transfer(
            by=request.user,
            member=member,
            to_household=serializer.validated_data["to_household"],
            relationship=serializer.validated_data.get("relationship", ""),
            reason=serializer.validated_data.get("reason", ""),
        )
        return self._member(member)
