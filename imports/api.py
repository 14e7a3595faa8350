"""The import pipeline over the API, for other systems and scripts: the same services
as the pages, so the same checks, counts and Chinese messages.

    GET  /api/v1/imports/                         import history (scoped)
    GET  /api/v1/imports/households/template/     the blank template
    POST /api/v1/imports/households/              multipart ``file``: start an import
    POST /api/v1/imports/sector-comparison/       multipart ``file``: a sector's comparison list (行业比对)
    GET  /api/v1/imports/{id}/                    status, progress, counts, row errors
    POST /api/v1/imports/{id}/confirm/            apply a clean check
    POST /api/v1/imports/{id}/retry/              run a 失败可重试 job again (no new upload)
    GET  /api/v1/imports/{id}/errors.xlsx         the marked-up error workbook
"""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.exports import XLSX_CONTENT_TYPE
from core.jobs import BrokerUnavailable
from core.permissions import RoleWritePermission
from imports import selectors, services
from imports.kinds import importer_for
from imports.models import ImportJob, ImportKind
from imports.views import error_report_filename


class RowErrorSerializer(serializers.Serializer):
    sheet = serializers.CharField(help_text="工作表")
    row = serializers.IntegerField(help_text="Excel 行号")
    column = serializers.CharField(help_text="列名")
    message = serializers.CharField(help_text="问题")


class CountsSerializer(serializers.Serializer):
    new = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField(help_text="有错误的行")
    # Kinds whose rows have no households to hold them back (the sector lists) leave it out.
    held = serializers.IntegerField(default=0, help_text="本行无错误，但同户其他行有错误，随户未导入")


class ImportJobSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    uploaded_by = serializers.CharField(source="uploaded_by.__str__", read_only=True)
    counts = serializers.DictField(child=CountsSerializer(), read_only=True, help_text="按“户”“成员”分组的统计")
    errors = RowErrorSerializer(many=True, read_only=True)
    error_report_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id", "kind", "status", "status_display", "phase", "progress", "original_name", "file_size",
            "uploaded_by", "created_at", "checked_at", "confirmed_at", "finished_at", "total_rows", "counts",
            "errors", "skipped", "message", "error_report_url",
        ]  # fmt: skip
        read_only_fields = fields

    def get_error_report_url(self, job: ImportJob) -> str | None:
        request = self.context.get("request")
        if not job.error_report or (request and not selectors.can_download_files(request.user, job)):
            return None
        url = f"/api/v1/imports/{job.pk}/errors.xlsx"
        return request.build_absolute_uri(url) if request else url


class ImportJobListSerializer(ImportJobSerializer):
    class Meta(ImportJobSerializer.Meta):
        fields = [f for f in ImportJobSerializer.Meta.fields if f != "errors"]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="填好的导入模板（.xlsx）")


def _refusal(refused: services.ImportRefused) -> Response:
    code = status.HTTP_409_CONFLICT if refused.conflict else status.HTTP_400_BAD_REQUEST
    return Response({"detail": refused.message}, status=code)


def _unavailable(unavailable: BrokerUnavailable) -> Response:
    return Response({"detail": unavailable.message}, status=status.HTTP_503_SERVICE_UNAVAILABLE)


UNAVAILABLE = inline_serializer("ImportBrokerUnavailable", {"detail": serializers.CharField()})


@extend_schema_view(
    list=extend_schema(summary="导入记录", description="本人及下级上传的导入任务，最新的在前。"),
    retrieve=extend_schema(summary="导入任务状态", description="状态、进度、统计和逐行错误。"),
)
class ImportJobViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated, RoleWritePermission]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return ImportJob.objects.none()
        return selectors.import_list(user=self.request.user)

    def get_serializer_class(self):
        return ImportJobListSerializer if self.action == "list" else ImportJobSerializer

    @extend_schema(
        summary="下载户信息导入模板",
        responses={(200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="导入模板 .xlsx")},
    )
    @action(detail=False, methods=["get"], url_path="households/template")
    def households_template(self, request):
        if not request.user.can_write:
            raise PermissionDenied(_("市级督查账号为只读账号，不能导入数据。"))
        importer = importer_for(ImportKind.HOUSEHOLDS)
        response = HttpResponse(importer.template(request.user), content_type=XLSX_CONTENT_TYPE)
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=importer.template_filename
        )
        return response

    @extend_schema(
        summary="上传户信息导入文件",
        description="上传后立即校验（大文件在后台校验）。返回导入任务；状态为“待确认导入”时调用 confirm 写入。",
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: ImportJobSerializer,
            400: inline_serializer("ImportRefusal", {"detail": serializers.CharField()}),
            503: UNAVAILABLE,
        },
    )
    @action(detail=False, methods=["post"], url_path="households", parser_classes=[MultiPartParser, FormParser])
    def households(self, request):
        return self._start(request, ImportKind.HOUSEHOLDS)

    def _start(self, request, kind: str) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            return Response({"detail": _("请上传 file 字段（.xlsx 文件）。")}, status=status.HTTP_400_BAD_REQUEST)
        try:
            job = services.import_start(by=request.user, kind=kind, upload=upload)
        except services.ImportRefused as refused:
            return _refusal(refused)
        except BrokerUnavailable as unavailable:
            return _unavailable(unavailable)
        return Response(ImportJobSerializer(job, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="上传行业比对名单",
        description="证件号码 + 比对指标；匹配到的成员所在户进入防返贫监测，未匹配的行在 skipped 中列出。",
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: ImportJobSerializer,
            400: inline_serializer("SectorImportRefusal", {"detail": serializers.CharField()}),
            503: UNAVAILABLE,
        },
    )
    @action(detail=False, methods=["post"], url_path="sector-comparison", parser_classes=[MultiPartParser, FormParser])
    def sector_comparison(self, request):
        return self._start(request, ImportKind.SECTOR_COMPARISON)

    @extend_schema(
        summary="确认导入",
        description="把校验无误的文件写入系统，全部写入或全部不写。重复确认返回 409。",
        request=None,
        responses={
            200: ImportJobSerializer,
            400: inline_serializer("ImportConfirmRefusal", {"detail": serializers.CharField()}),
            409: inline_serializer("ImportConfirmConflict", {"detail": serializers.CharField()}),
            503: UNAVAILABLE,
        },
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        job = self.get_object()
        try:
            job = services.import_confirm(by=request.user, job=job)
        except services.ImportRefused as refused:
            return _refusal(refused)
        except BrokerUnavailable as unavailable:
            return _unavailable(unavailable)
        return Response(ImportJobSerializer(job, context={"request": request}).data)

    @extend_schema(
        summary="重试导入",
        description="“失败可重试”的导入从中断处重新处理（已确认的重新写入，否则重新校验），无需重新上传。",
        request=None,
        responses={
            200: ImportJobSerializer,
            400: inline_serializer("ImportRetryRefusal", {"detail": serializers.CharField()}),
            409: inline_serializer("ImportRetryConflict", {"detail": serializers.CharField()}),
            503: UNAVAILABLE,
        },
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        job = self.get_object()
        try:
            job = services.import_retry(by=request.user, job=job)
        except services.ImportRefused as refused:
            return _refusal(refused)
        except BrokerUnavailable as unavailable:
            return _unavailable(unavailable)
        return Response(ImportJobSerializer(job, context={"request": request}).data)

    def retrieve(self, request, *args, **kwargs):
        services.import_refresh(self.get_object())
        return super().retrieve(request, *args, **kwargs)


class ImportErrorReportView(GenericAPIView):
    """``GET /api/v1/imports/{id}/errors.xlsx``: the uploaded workbook with the bad cells
    highlighted and an 错误说明 column."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="下载错误报告",
        responses={
            (200, XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY, description="标红错误单元格的原文件"),
            404: OpenApiResponse(description="没有错误报告"),
        },
    )
    def get(self, request, pk: int):
        try:
            job = selectors.import_get(user=request.user, pk=pk)
        except ImportJob.DoesNotExist:
            raise NotFound(_("导入记录不存在或不在您的管辖范围内。")) from None
        if not selectors.can_download_files(request.user, job):
            raise PermissionDenied(_("您的角色不能下载含完整证件号码的导入文件。"))
        if not job.error_report or not default_storage.exists(job.error_report):
            raise NotFound(_("该导入没有错误报告。"))
        try:
            handle = default_storage.open(job.error_report, "rb")
        except OSError:
            raise NotFound(_("该导入没有错误报告。")) from None
        return FileResponse(
            handle, as_attachment=True, filename=error_report_filename(job), content_type=XLSX_CONTENT_TYPE
        )
