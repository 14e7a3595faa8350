"""Running an import: upload → check (parse, validate, preview) → confirm → apply.

``import_start`` stores the file and checks it, inline when it is small — packed and
unpacked, which the request learns by decompressing no more than a few MB — and as a
Celery task otherwise; ``import_confirm`` applies a clean check the same way. The
check writes nothing to the registry: it first bounds what the file unpacks to (its
parts, cells and rows, imports/bounds.py, before openpyxl holds any of it), parses the
file once (the parsed rows are kept next to it), plans every row against the registry
and records counts, row errors and, when there are any, the marked-up error workbook.
Applying re-plans inside one transaction — the registry may have moved since the
preview — and writes everything or, on any error, nothing.

Both steps claim the job with a guarded UPDATE on its status, so a task delivered
twice, or two clicks on 确认导入, do the work once. Applies run one at a time, and one
that finds the registry already holds everything in the file (another upload of it was
applied first) ends 无变化, not a second 已导入.

Every run holds the job's lease (core/locks.py) while it works. ``imports_sweep`` (a
Celery beat job every minute, and each look at a running job's page) ends a job whose
runner died — its lease expired — or that waited longer than ``IMPORT_QUEUE_TIMEOUT``
for a worker, as 失败可重试; ``import_retry`` runs it again without a new upload.
When the broker cannot take the task, the upload is not kept (or the confirmation is
undone) and the caller gets ``BrokerUnavailable`` for a 503.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import jobs
from core.bulk import analyze
from core.locks import held_names, lease, serialize_in_transaction
from households.importing import ImportFileError
from imports.bounds import unpacks_within, workbook_check
from imports.errorbook import marked_up_workbook
from imports.kinds import Importer, importer_for
from imports.models import RUNNING_STATUSES, ImportJob, ImportKind, ImportStatus

logger = logging.getLogger(__name__)

# Percent of the check spent bounding the file, then reading it; the rest is validation.
BOUNDS_SHARE = 5
READ_SHARE = 60


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
    """Whether the job's file is small enough to check or apply inside the request:
    packed, and unpacked too — a 233 KB file can hold a 200 MB cell (issue 16)."""
    if job.file_size > settings.IMPORT_INLINE_MAX_BYTES:
        return False
    try:
        with job.file.storage.open(job.file.name, "rb") as source:
            return unpacks_within(source, settings.IMPORT_INLINE_MAX_UNPACKED_BYTES)
    except OSError:
        return False


def job_lease_name(job_id: int) -> str:
    return f"imports.job.{job_id}"


def _dispatch(job: ImportJob, task_name: str, *, undo: Callable[[], None]) -> None:
    """Run a check or an apply now (small file) or hand it to a worker; ``undo`` puts the
    job back as it was when the broker cannot take the task (then BrokerUnavailable)."""
    ImportJob.objects.filter(pk=job.pk).update(queued_at=timezone.now(), started_at=None)
    if _runs_inline(job):
        (import_check if task_name == "check" else import_apply)(job.pk)
        return
    from imports.tasks import import_apply_task, import_check_task

    task = import_check_task if task_name == "check" else import_apply_task

    def send() -> None:
        try:
            jobs.send(task, job.pk)
        except jobs.BrokerUnavailable:
            undo()
            raise

    transaction.on_commit(send)


def _discard(job: ImportJob) -> None:
    """Forget an upload whose check could not be queued: the row and the stored file."""
    name = job.file.name
    ImportJob.objects.filter(pk=job.pk).delete()
    if name and default_storage.exists(name):
        default_storage.delete(name)


def import_start(*, by: User, kind: str, upload: UploadedFile) -> ImportJob:
    """Store an uploaded file as a new job and start checking it. When the broker is down
    nothing is kept and ``jobs.BrokerUnavailable`` says to upload again later."""
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

    def undo() -> None:
        _discard(job)

    try:
        _dispatch(job, "check", undo=undo)
    except jobs.BrokerUnavailable as error:
        raise jobs.BrokerUnavailable(
            _(
                "后台任务服务暂时不可用，文件没有保存，请稍后重新上传；如持续出现，请联系系统管理员检查任务队列（Redis）。"
            )
        ) from error
    job.refresh_from_db()
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
    final = status in (ImportStatus.APPLIED, ImportStatus.FAILED, ImportStatus.UNCHANGED)
    fields.setdefault("finished_at", timezone.now() if final else None)
    ImportJob.objects.filter(pk=job.pk).update(status=status, progress=100, phase="", **fields)


def _record_rejection(job: ImportJob, plan, *, message: str = "") -> None:
    errors = _row_errors(plan.errors)
    importer = importer_for(job.kind)
    with job.file.open("rb") as source:
        content = marked_up_workbook(source, errors, importer.sheets)
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


def _interrupted_message(reason: str) -> str:
    if reason == "worker_died":
        return _(
            "后台处理进程在处理该文件时停止了（例如服务器重启），没有写入任何数据。请点击“重试”重新处理，无需重新上传。"
        )
    if reason == "queue_timeout":
        return _(
            "该文件等待后台处理超过 %(minutes)d 分钟仍未开始，没有写入任何数据。请点击“重试”；"
            "如仍无进展，请联系系统管理员检查后台任务服务（Celery worker）。"
        ) % {"minutes": settings.IMPORT_QUEUE_TIMEOUT // 60}
    return _("处理该文件时出现意外错误，没有写入任何数据。请点击“重试”；如再次失败，请联系系统管理员。")


def _interrupt(job_id: int, status: str, reason: str) -> None:
    ImportJob.objects.filter(pk=job_id, status=status).update(
        status=ImportStatus.INTERRUPTED,
        phase="",
        message=_interrupted_message(reason),
        finished_at=timezone.now(),
    )


def import_check(job_id: int) -> None:
    """Parse and validate a queued job; never writes to the registry. Safe to re-run: a
    run that finds another live one (the job's lease) does nothing."""
    with lease(job_lease_name(job_id)) as holder:
        if holder is None:
            return
        claimed = ImportJob.objects.filter(pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.CHECKING]).update(
            status=ImportStatus.CHECKING,
            phase=_("读取文件"),
            progress=1,
            started_at=timezone.now(),
            attempts=F("attempts") + 1,
        )
        if not claimed:
            return
        try:
            _check(job_id)
        except Exception:
            logger.exception("import %s: check broke", job_id)
            _interrupt(job_id, ImportStatus.CHECKING, "error")


def _has_changes(counts: dict) -> bool:
    return any(group["new"] + group["updated"] for group in counts.values())


def _headers(importer: Importer) -> dict[str, list[str]]:
    return {sheet: [column.header for column in columns] for sheet, columns in importer.sheets.items()}


def _check(job_id: int) -> None:
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    importer = importer_for(job.kind)
    try:
        with job.file.open("rb") as source:
            # Before openpyxl holds any of it: it loads every shared string whole.
            workbook_check(
                source, headers=_headers(importer), progress=_reporter(job.pk, _("检查文件"), 1, BOUNDS_SHARE)
            )
            parsed = importer.parse(source, progress=_reporter(job.pk, _("读取文件"), BOUNDS_SHARE, READ_SHARE))
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
    skipped = _row_errors(getattr(plan, "skipped", []))
    if not _has_changes(plan.counts):
        default_storage.delete(parsed_name)
        _finish(
            job,
            ImportStatus.UNCHANGED,
            counts=plan.counts,
            errors=[],
            skipped=skipped,
            parsed_file="",
            checked_at=timezone.now(),
            message=_("文件中没有需要导入的新数据或变化，所有记录与系统中一致。"),
        )
        return
    _finish(
        job,
        ImportStatus.READY,
        counts=plan.counts,
        errors=[],
        skipped=skipped,
        checked_at=timezone.now(),
        message="",
    )


def _refused_for_status(job: ImportJob) -> ImportRefused:
    job.refresh_from_db()
    messages = {
        ImportStatus.APPLYING: _("该文件已确认，正在导入，请勿重复提交。"),
        ImportStatus.APPLIED: _("该文件已导入完成，请勿重复提交。"),
        ImportStatus.UNCHANGED: _("该文件的数据已全部在系统中，没有需要导入的内容。"),
        ImportStatus.REJECTED: _("该文件有错误，不能导入；请按错误报告修改后重新上传。"),
        ImportStatus.FAILED: _("该文件无法导入，请重新上传。"),
        ImportStatus.INTERRUPTED: _("该文件的处理已中断，请点击“重试”。"),
    }
    return ImportRefused(messages.get(job.status, _("该文件还在校验中，请稍候再确认。")), conflict=True)


def import_confirm(*, by: User, job: ImportJob) -> ImportJob:
    """The uploader confirms a clean check; the registry is written (inline or as a task).
    When the broker is down the job stays 待确认导入 and ``jobs.BrokerUnavailable`` says so."""
    if by.pk != job.uploaded_by_id:
        raise ImportRefused(_("只有上传该文件的用户可以确认导入。"))
    if not by.can_write:
        raise ImportRefused(_("市级督查账号为只读账号，不能导入数据。"))
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.READY).update(
        status=ImportStatus.APPLYING, confirmed_by=by, confirmed_at=timezone.now(), phase=_("写入数据"), progress=0
    )
    if not claimed:
        raise _refused_for_status(job)

    def undo() -> None:
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.APPLYING, started_at=None).update(
            status=ImportStatus.READY, confirmed_by=None, confirmed_at=None, phase="", progress=100, queued_at=None
        )

    try:
        _dispatch(job, "apply", undo=undo)
    except jobs.BrokerUnavailable as error:
        raise jobs.BrokerUnavailable(
            _(
                "后台任务服务暂时不可用，尚未导入，文件仍为“待确认导入”。请稍后再点击“确认导入”；如持续出现，请联系系统管理员检查任务队列（Redis）。"
            )
        ) from error
    job.refresh_from_db()
    return job


def import_retry(*, by: User, job: ImportJob) -> ImportJob:
    """Run a 失败可重试 job again from where it stopped: a confirmed job is applied again
    (the registry is re-planned, so a job that was in fact written ends 无变化), any
    other is checked again. Only the uploader retries, as only they confirm."""
    if by.pk != job.uploaded_by_id:
        raise ImportRefused(_("只有上传该文件的用户可以重试。"))
    if not by.can_write:
        raise ImportRefused(_("市级督查账号为只读账号，不能导入数据。"))
    job.refresh_from_db()
    apply = bool(job.confirmed_at and job.parsed_file and default_storage.exists(job.parsed_file))
    restart = {"phase": _("等待处理"), "progress": 0, "message": "", "finished_at": None}
    if apply:
        claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.INTERRUPTED).update(
            status=ImportStatus.APPLYING, **restart
        )
    else:
        claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.INTERRUPTED).update(
            status=ImportStatus.QUEUED, confirmed_by=None, confirmed_at=None, **restart
        )
    if not claimed:
        if job.status in RUNNING_STATUSES:
            raise ImportRefused(_("该文件正在处理中，请勿重复提交。"), conflict=True)
        raise ImportRefused(_("只有“失败可重试”的导入可以重试。"), conflict=True)
    previous_message = job.message

    def undo() -> None:
        ImportJob.objects.filter(pk=job.pk, started_at=None, status__in=RUNNING_STATUSES).update(
            status=ImportStatus.INTERRUPTED, phase="", message=previous_message, finished_at=timezone.now()
        )

    _dispatch(job, "apply" if apply else "check", undo=undo)
    job.refresh_from_db()
    return job


class _Rejected(Exception):
    def __init__(self, plan):
        self.plan = plan


def import_apply(job_id: int) -> None:
    """Write a confirmed job to the registry, all or nothing. Safe to re-run: only a job
    still 导入中 is applied, by one live run at a time (the job's lease), and its row is
    locked for the whole transaction."""
    with lease(job_lease_name(job_id)) as holder:
        if holder is None:
            return
        claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.APPLYING).update(
            started_at=timezone.now(), attempts=F("attempts") + 1, phase=_("写入数据")
        )
        if not claimed:
            return
        try:
            _apply(job_id)
        except Exception:
            logger.exception("import %s: apply broke", job_id)
            _interrupt(job_id, ImportStatus.APPLYING, "error")


def _apply(job_id: int) -> None:
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    importer = importer_for(job.kind)
    with default_storage.open(job.parsed_file, "rb") as handle:
        parsed = importer.load_parsed(json.load(handle))
    try:
        with transaction.atomic():
            # One apply at a time: a second upload of the same file, confirmed at the
            # same moment, plans against what the first has written.
            serialize_in_transaction("imports.apply")
            locked = ImportJob.objects.select_for_update().get(pk=job_id)
            if locked.status != ImportStatus.APPLYING:
                return
            plan = importer.plan(parsed, by=job.uploaded_by)
            if plan.errors:
                raise _Rejected(plan)
            skipped = _row_errors(getattr(plan, "skipped", []))
            if not _has_changes(plan.counts):
                _finish(
                    locked,
                    ImportStatus.UNCHANGED,
                    counts=plan.counts,
                    skipped=skipped,
                    message=_("确认导入时，文件中的数据已全部在系统中（可能已由另一次导入写入），没有写入任何数据。"),
                )
            else:
                importer.apply(plan, by=job.uploaded_by, progress=_reporter(job.pk, _("写入数据"), 0, 99))
                _finish(locked, ImportStatus.APPLIED, counts=plan.counts, skipped=skipped)
    except _Rejected as rejected:
        _record_rejection(
            job,
            rejected.plan,
            message=_(
                "确认前系统中的数据已有变化，文件中有记录不再符合规则，未导入任何数据。请按错误报告修改后重新上传。"
            ),
        )
        return
    except IntegrityError:
        logger.exception("import %s: write failed", job_id)
        _finish(
            job,
            ImportStatus.FAILED,
            message=_("保存失败：户编号或证件号码刚被他人登记，未导入任何数据。请重新上传该文件核对。"),
        )
        return
    default_storage.delete(job.parsed_file)
    ImportJob.objects.filter(pk=job.pk).update(parsed_file="")
    if (job.total_rows or 0) >= settings.IMPORT_ANALYZE_ROWS:
        analyze(*importer.models)


# --- the sweeper ----------------------------------------------------------------------


def _sweep(candidates, now) -> int:
    """End, as 失败可重试, each of ``candidates`` (running jobs) whose runner died or that
    waited for a worker past ``IMPORT_QUEUE_TIMEOUT``. Guarded on what was read, so a
    run that starts meanwhile is left alone."""
    rows = list(candidates.values("pk", "status", "started_at", "queued_at", "created_at"))
    if not rows:
        return 0
    live = held_names([job_lease_name(row["pk"]) for row in rows])
    waited_too_long = now - timedelta(seconds=settings.IMPORT_QUEUE_TIMEOUT)
    ended = 0
    for row in rows:
        if job_lease_name(row["pk"]) in live:
            continue
        if row["started_at"] is None:
            if (row["queued_at"] or row["created_at"]) > waited_too_long:
                continue
            reason = "queue_timeout"
        else:
            reason = "worker_died"
        try:
            ended += ImportJob.objects.filter(pk=row["pk"], status=row["status"], started_at=row["started_at"]).update(
                status=ImportStatus.INTERRUPTED, phase="", message=_interrupted_message(reason), finished_at=now
            )
        except OperationalError:
            # SQLite: a long apply holds the write lock (its lease could not be renewed
            # meanwhile); it ends by itself, and the next sweep looks again.
            logger.warning("import %s: sweep postponed, the database is busy", row["pk"])
            continue
        logger.warning("import %s: ended as interrupted (%s)", row["pk"], reason)
    return ended


def imports_sweep(*, now=None) -> dict[str, int]:
    """Every running job: is it still being worked on, or waiting within its time? If
    not, it ends 失败可重试 with a message that says what to do."""
    now = now or timezone.now()
    running = ImportJob.objects.filter(status__in=RUNNING_STATUSES)
    return {"running": running.count(), "interrupted": _sweep(running, now)}


def imports_refresh(job_ids: list[int]) -> int:
    """The sweep for the jobs on a page of the history."""
    return _sweep(ImportJob.objects.filter(pk__in=job_ids, status__in=RUNNING_STATUSES), timezone.now())


def import_refresh(job: ImportJob) -> ImportJob:
    """The sweep for one job, when someone looks at it: a page shows a dead job as ended
    even when no worker or beat is running to sweep it."""
    if job.is_running and _sweep(ImportJob.objects.filter(pk=job.pk, status__in=RUNNING_STATUSES), timezone.now()):
        job.refresh_from_db()
    return job
