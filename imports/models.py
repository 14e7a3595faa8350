"""One Excel import (导入任务): the uploaded file, where it stands, what it found.

A job moves 排队中 → 校验中 → 待确认导入 (no rejected row) or 有错误，未导入; the
uploader confirms a clean file, and it goes 导入中 → 已导入. A file that cannot be read
at all ends 文件无法导入 with the reason; a file (or a confirmation) that would change
nothing ends 无变化. A job whose worker died, that waited too long for one, or that broke
on an unexpected error ends 失败可重试: nothing was written, and the uploader retries it
without uploading again (imports/services.py). The original, the parsed rows (kept between
the preview and the confirmation) and the marked-up error workbook are files under
MEDIA_ROOT, served only through the job's own views.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from regions.scoping import ScopedQuerySet


class ImportKind(models.TextChoices):
    HOUSEHOLDS = "households", _("贫困户及家庭成员")
    SECTOR_COMPARISON = "sector_comparison", _("行业比对名单")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    CHECKING = "checking", _("校验中")
    READY = "ready", _("待确认导入")
    REJECTED = "rejected", _("有错误，未导入")
    APPLYING = "applying", _("导入中")
    APPLIED = "applied", _("已导入")
    FAILED = "failed", _("文件无法导入")
    UNCHANGED = "unchanged", _("无变化")
    INTERRUPTED = "interrupted", _("失败可重试")


RUNNING_STATUSES = (ImportStatus.QUEUED, ImportStatus.CHECKING, ImportStatus.APPLYING)


def _upload_to(job: ImportJob, filename: str) -> str:
    return f"imports/{job.created_at:%Y/%m}/{job.token}/original.xlsx"


class ImportJobQuerySet(ScopedQuerySet):
    region_lookup = "region__code"


class ImportJob(models.Model):
    kind = models.CharField(_("导入内容"), max_length=20, choices=ImportKind.choices)
    status = models.CharField(_("状态"), max_length=12, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="imports"
    )
    # The uploader's region when the file came in: who above them sees the job.
    region = models.ForeignKey(
        "regions.Region", verbose_name=_("所属区划"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    token = models.CharField(max_length=32, unique=True, editable=False)
    original_name = models.CharField(_("文件名"), max_length=255)
    file_size = models.PositiveIntegerField(_("文件大小"))
    file = models.FileField(_("原始文件"), upload_to=_upload_to, max_length=255)
    parsed_file = models.CharField(max_length=255, blank=True, editable=False)
    error_report = models.CharField(_("错误报告"), max_length=255, blank=True, editable=False)
    phase = models.CharField(_("当前环节"), max_length=40, blank=True)
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)
    total_rows = models.PositiveIntegerField(_("数据行数"), null=True, blank=True)
    counts = models.JSONField(_("统计"), default=dict, blank=True)
    errors = models.JSONField(_("错误明细"), default=list, blank=True)
    # Rows reported but not imported, without blocking the rest (e.g. a sector list's
    # ID numbers that match no registered member): same shape as ``errors``.
    skipped = models.JSONField(_("未导入的行"), default=list, blank=True)
    message = models.TextField(_("说明"), blank=True)
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    checked_at = models.DateTimeField(_("校验完成时间"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # The current run: when it was handed to the broker (or started inline), when a
    # runner claimed it (None while it waits), and how many runs the job has had.
    queued_at = models.DateTimeField(_("排队时间"), null=True, blank=True)
    started_at = models.DateTimeField(_("开始处理时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("处理次数"), default=0)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("导入任务")
        verbose_name_plural = _("导入任务")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["uploaded_by", "-created_at"]), models.Index(fields=["region", "-created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ImportKind.values), name="importjob_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="importjob_status_valid"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="importjob_progress_at_most_100"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name}（{self.get_status_display()}）"

    @property
    def is_running(self) -> bool:
        return self.status in RUNNING_STATUSES

    @property
    def can_retry(self) -> bool:
        return self.status == ImportStatus.INTERRUPTED

    @property
    def error_count(self) -> int:
        return len(self.errors)

    def count(self, group: str, name: str) -> int:
        return int(self.counts.get(group, {}).get(name, 0))
