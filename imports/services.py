"""Running an import: upload → check (parse, validate, preview) → confirm → apply.

``import_start`` stores the file and checks it, inline when it is small and as a
Celery task otherwise; ``import_confirm`` applies a clean check the same way. The
check writes nothing to the registry: it parses the file once (the parsed rows are
kept next to it), plans every row against the registry and records counts, row
errors and, when there are any, the marked-up error workbook. Applying re-plans
inside one transaction — the registry may have moved since the preview — and writes
everything or, on any error, nothing.

Both steps claim the job with a guarded UPDATE on its status, so a task delivered
twice, or two clicks on 确认导入, do the work once.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from households.importing import ImportFileError
from imports.errorbook import marked_up_workbook
from imports.kinds import importer_for
from imports.models import ImportJob, ImportKind, ImportStatus

logger = logging.getLogger(__name__)

READ_SHARE = 60  # percent of the check spent reading the file; the rest is validation


class ImportRefused(Exception):
    """The request cannot be carried out; ``message`` says why, in Chinese."""

    def __init__(self, message: str, *, conflict: bool = False):
        super().__init__(message)
        self.message = message
        self.conflict = conflict


def _size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(size // 1024, 1)} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _check_upload(upload: UploadedFile) -> None:
    name = (upload.name or "").lower()
    if name.endswith(".xls"):
        raise ImportRefused(
            _("“%(name)s”是旧版 .xls 格式，请在 Excel 中“另存为”Excel 工作簿（.xlsx）后上传。") % {"name": upload.name}
        )
    if name.endswith(".csv"):
        raise ImportRefused(_("不能导入 CSV 文件，请下载导入模板（.xlsx），将数据填入模板后上传。"))
    if not name.endswith(".xlsx"):
        raise ImportRefused(_("只能上传 Excel 工作簿（.xlsx）文件，请使用系统提供的导入模板。"))
    if not upload.size:
        raise ImportRefused(_("上传的文件是空的，请重新选择文件。"))
    if upload.size > settings.IMPORT_MAX_BYTES:
        raise ImportRefused(
            _("文件大小为 %(size)s，超过 %(max)s 的上限，请拆分后分批导入。")
            % {"size": _size(upload.size), "max": _size(settings.IMPORT_MAX_BYTES)}
        )


def _runs_inline(job: ImportJob) -> bool:
    return job.file_size <= settings.IMPORT_INLINE_MAX_BYTES


def import_start(*, by: User, kind: str, upload: UploadedFile) -> ImportJob:
    """Store an uploaded file as a new job and start checking it."""
    if not by.can_write:
        raise ImportRefused(_("市级督查账号为只读账号，不能导入数据。"))
    importer = importer_for(kind)
    if importer.roles is not None and by.role not in importer.roles:
        raise ImportRefused(_("您的角色不能导入“%(kind)s”。") % {"kind": ImportKind(kind).label})
    _check_upload(upload)
    job = ImportJob(
        kind=kind,
        uploaded_by=by,
        region_id=by.region_id,
        token=uuid.uuid4().hex,
        original_name=PurePosixPath(upload.name.replace("\\", "/")).name[:255],
        file_size=upload.size,
        created_at=timezone.now(),
        phase=_("等待处理"),
    )
    job.file.save("original.xlsx", upload, save=False)
    job.save()
    if _runs_inline(job):
        import_check(job.pk)
        job.refresh_from_db()
    else:
        from imports.tasks import import_check_task

        transaction.on_commit(lambda: import_check_task.delay(job.pk))
    return job


def _reporter(job_id: int, phase: str, start: int, end: int) -> Callable[[int, int], None]:
    """A progress callback mapping (done, total) onto start–end percent of the job."""
    last = [-1]

    def report(done: int, total: int) -> None:
        percent = start + (end - start) * min(done, total) // max(total, 1)
        if percent != last[0]:
            last[0] = percent
            ImportJob.objects.filter(pk=job_id).update(progress=percent, phase=phase)

    return report


def _parsed_name(job: ImportJob) -> str:
    return str(PurePosixPath(job.file.name).with_name("parsed.json"))


def _error_report_name(job: ImportJob) -> str:
    return str(PurePosixPath(job.file.name).with_name("errors.xlsx"))


def _store(name: str, content: bytes) -> str:
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(content))


def _row_errors(errors) -> list[dict]:
    return [{"sheet": e.sheet, "row": e.row, "column": e.column_header, "message": e.message} for e in errors]


def _finish(job: ImportJob, status: str, **fields) -> None:
    fields.setdefault("finished_at", timezone.now() if status in (ImportStatus.APPLIED, ImportStatus.FAILED) else None)
    ImportJob.objects.filter(pk=job.pk).update(status=status, progress=100, phase="", **fields)


def _record_rejection(job: ImportJob, plan, *, message: str = "") -> None:
    errors = _row_errors(plan.errors)
    importer = importer_for(job.kind)
    with job.file.open("rb") as source:
        content = marked_up_workbook(source, errors, importer.sheets, size=job.file_size)
    report = _store(_error_report_name(job), content)
    if job.parsed_file:
        default_storage.delete(job.parsed_file)
    _finish(
        job,
        ImportStatus.REJECTED,
        counts=plan.counts,
        errors=errors,
        error_report=report,
        message=message,
        parsed_file="",
        checked_at=timezone.now(),
    )


def import_check(job_id: int) -> None:
    """Parse and validate a queued job; never writes to the registry. Safe to re-run."""
    claimed = ImportJob.objects.filter(pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.CHECKING]).update(
        status=ImportStatus.CHECKING, phase=_("读取文件"), progress=1
    )
    if not claimed:
        return
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    importer = importer_for(job.kind)
    try:
        with job.file.open("rb") as source:
            parsed = importer.parse(source, progress=_reporter(job.pk, _("读取文件"), 1, READ_SHARE))
    except ImportFileError as error:
        _finish(job, ImportStatus.FAILED, message=error.message)
        return
    except Exception:  # noqa: BLE001 - a damaged file can break openpyxl in many ways
        logger.exception("import %s: unreadable file", job.pk)
        _finish(
            job,
            ImportStatus.FAILED,
            message=_("文件内容已损坏或无法识别，请用 Excel 打开确认后另存为 .xlsx 重新上传。"),
        )
        return
    if parsed.row_count == 0 and not parsed.errors:
        _finish(
            job,
            ImportStatus.FAILED,
            total_rows=0,
            message=_("文件中没有数据行，请在“户信息”“成员信息”表中填写数据后再上传。"),
        )
        return
    parsed_name = _store(_parsed_name(job), json.dumps(parsed.to_json(), ensure_ascii=False).encode())
    ImportJob.objects.filter(pk=job.pk).update(total_rows=parsed.row_count, parsed_file=parsed_name)
    plan = importer.plan(parsed, by=job.uploaded_by, progress=_reporter(job.pk, _("校验数据"), READ_SHARE, 99))
    job.refresh_from_db()
    if plan.errors:
        _record_rejection(job, plan)
        return
    if not any(plan.counts[group]["new"] + plan.counts[group]["updated"] for group in plan.counts):
        message = _("文件中没有需要导入的新数据或变化，所有记录与系统中一致。")
    else:
        message = ""
    _finish(
        job,
        ImportStatus.READY,
        counts=plan.counts,
        errors=[],
        skipped=_row_errors(getattr(plan, "skipped", [])),
        checked_at=timezone.now(),
        message=message,
    )


def import_confirm(*, by: User, job: ImportJob) -> ImportJob:
    """The uploader confirms a clean check; the registry is written (inline or as a task)."""
    if by.pk != job.uploaded_by_id:
        raise ImportRefused(_("只有上传该文件的用户可以确认导入。"))
    if not by.can_write:
        raise ImportRefused(_("市级督查账号为只读账号，不能导入数据。"))
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.READY).update(
        status=ImportStatus.APPLYING, confirmed_by=by, confirmed_at=timezone.now(), phase=_("写入数据"), progress=0
    )
    if not claimed:
        job.refresh_from_db()
        messages = {
            ImportStatus.APPLYING: _("该文件已确认，正在导入，请勿重复提交。"),
            ImportStatus.APPLIED: _("该文件已导入完成，请勿重复提交。"),
            ImportStatus.REJECTED: _("该文件有错误，不能导入；请按错误报告修改后重新上传。"),
            ImportStatus.FAILED: _("该文件无法导入，请重新上传。"),
        }
        raise ImportRefused(messages.get(job.status, _("该文件还在校验中，请稍候再确认。")), conflict=True)
    if _runs_inline(job):
        import_apply(job.pk)
    else:
        from imports.tasks import import_apply_task

        transaction.on_commit(lambda: import_apply_task.delay(job.pk))
    job.refresh_from_db()
    return job


class _Rejected(Exception):
    def __init__(self, plan):
        self.plan = plan


def import_apply(job_id: int) -> None:
    """Write a confirmed job to the registry, all or nothing. Safe to re-run: only a job
    still 导入中 is applied, and the job row is locked for the whole transaction."""
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    if job.status != ImportStatus.APPLYING:
        return
    importer = importer_for(job.kind)
    with default_storage.open(job.parsed_file, "rb") as handle:
        parsed = importer.load_parsed(json.load(handle))
    try:
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job_id)
            if locked.status != ImportStatus.APPLYING:
                return
            plan = importer.plan(parsed, by=job.uploaded_by)
            if plan.errors:
                raise _Rejected(plan)
            importer.apply(plan, by=job.uploaded_by, progress=_reporter(job.pk, _("写入数据"), 0, 99))
            _finish(locked, ImportStatus.APPLIED, counts=plan.counts, skipped=_row_errors(getattr(plan, "skipped", [])))
    except _Rejected as rejected:
        _record_rejection(
            job,
            rejected.plan,
            message=_(
                "确认前系统中的数据已有变化，文件中有记录不再符合规则，未导入任何数据。请按错误报告修改后重新上传。"
            ),
        )
        return
    except (IntegrityError, DatabaseError):
        logger.exception("import %s: write failed", job_id)
        _finish(
            job,
            ImportStatus.FAILED,
            message=_("保存失败：户编号或证件号码刚被他人登记，未导入任何数据。请重新上传该文件核对。"),
        )
        return
    default_storage.delete(job.parsed_file)
    ImportJob.objects.filter(pk=job.pk).update(parsed_file="")
