"""Import pages: upload, the job's progress / preview / result, confirmation, history,
and the downloads (template, original, error report). Work is done by
imports.services; these views only guard and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exports import XLSX_CONTENT_TYPE
from core.jobs import BrokerUnavailable
from core.permissions import write_required
from imports import selectors, services
from imports.forms import ImportUploadForm
from imports.kinds import IMPORTERS, importer_for
from imports.models import ImportJob, ImportKind, ImportStatus

PAGE_SIZE = 20
ERRORS_PAGE_SIZE = 100


def _job_for_user(request, pk) -> ImportJob:
    try:
        return selectors.import_get(user=request.user, pk=pk)
    except ImportJob.DoesNotExist:
        raise Http404(_("导入记录不存在或不在您的管辖范围内。")) from None


def _kind_or_404(kind: str) -> str:
    if kind not in IMPORTERS:
        raise Http404(_("不支持的导入内容。"))
    return kind


@login_required
def import_list(request):
    jobs = selectors.import_list(user=request.user)
    if request.GET.get("mine"):
        jobs = jobs.filter(uploaded_by=request.user)
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    running = [job.pk for job in page.object_list if job.is_running]
    if running and services.imports_refresh(running):
        page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "imports/list.html", {"page": page, "mine": bool(request.GET.get("mine"))})


@login_required
@write_required
def import_upload(request, kind):
    kind = _kind_or_404(kind)
    importer = importer_for(kind)
    if importer.roles is not None and request.user.role not in importer.roles:
        raise PermissionDenied(_("您的角色不能导入“%(kind)s”。") % {"kind": ImportKind(kind).label})
    form = ImportUploadForm(request.POST, request.FILES) if request.method == "POST" else ImportUploadForm()
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_start(by=request.user, kind=kind, upload=form.cleaned_data["file"])
        except services.ImportRefused as refused:
            form.add_error("file", refused.message)
        except BrokerUnavailable as unavailable:
            form.add_error("file", unavailable.message)
            status = 503
        else:
            return redirect("imports:detail", pk=job.pk)
    recent = selectors.import_list(user=request.user).filter(uploaded_by=request.user, kind=kind)[:5]
    return render(
        request,
        "imports/upload.html",
        {"form": form, "kind": kind, "kind_label": ImportKind(kind).label, "recent": recent, "importer": importer},
        status=status,
    )


@login_required
@write_required
def import_template(request, kind):
    importer = importer_for(_kind_or_404(kind))
    response = HttpResponse(importer.template(request.user), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=importer.template_filename
    )
    return response


def _detail_context(request, job: ImportJob) -> dict:
    importer = importer_for(job.kind)
    groups = [
        {
            "label": label,
            **{name: job.count(group, name) for name in ("new", "updated", "unchanged", "rejected", "held")},
        }
        for group, label in importer.count_labels.items()
    ]
    errors = Paginator(job.errors, ERRORS_PAGE_SIZE).get_page(request.GET.get("page")) if job.errors else None
    has_changes = any(group["new"] or group["updated"] for group in groups)
    # Rows held back with a household that has an error elsewhere: a column only then.
    held = any(group["held"] for group in groups)
    return {
        "job": job,
        "groups": groups,
        "held": held,
        "errors": errors,
        "can_confirm": job.status == ImportStatus.READY and job.uploaded_by_id == request.user.pk and has_changes,
        "can_retry": job.can_retry and job.uploaded_by_id == request.user.pk and request.user.can_write,
        "waits_for_uploader": job.status == ImportStatus.READY and job.uploaded_by_id != request.user.pk,
        "can_download": selectors.can_download_files(request.user, job),
        "result_url": reverse(importer.result_url_name),
    }


@login_required
def import_detail(request, pk):
    job = services.import_refresh(_job_for_user(request, pk))
    return render(request, "imports/detail.html", _detail_context(request, job))


@login_required
def import_progress(request, pk):
    """htmx polls this while the job runs; once it has finished the page reloads."""
    job = services.import_refresh(_job_for_user(request, pk))
    response = render(request, "imports/_progress.html", {"job": job})
    if not job.is_running and request.htmx:
        response["HX-Refresh"] = "true"
    return response


def _unavailable(request, job: ImportJob, unavailable: BrokerUnavailable) -> HttpResponse:
    """The job's page, answering 503 with what the broker outage means for this job."""
    job.refresh_from_db()
    messages.error(request, unavailable.message)
    return render(request, "imports/detail.html", _detail_context(request, job), status=503)


@login_required
@require_POST
def import_confirm(request, pk):
    job = _job_for_user(request, pk)
    try:
        job = services.import_confirm(by=request.user, job=job)
    except services.ImportRefused as refused:
        messages.error(request, refused.message)
    except BrokerUnavailable as unavailable:
        return _unavailable(request, job, unavailable)
    else:
        if job.status == ImportStatus.APPLIED:
            messages.success(request, _("导入完成。"))
    return redirect("imports:detail", pk=job.pk)


@login_required
@require_POST
def import_retry(request, pk):
    job = _job_for_user(request, pk)
    try:
        job = services.import_retry(by=request.user, job=job)
    except services.ImportRefused as refused:
        messages.error(request, refused.message)
    except BrokerUnavailable as unavailable:
        return _unavailable(request, job, unavailable)
    return redirect("imports:detail", pk=job.pk)


def _file_response(request, job: ImportJob, name: str, filename: str) -> FileResponse:
    if not selectors.can_download_files(request.user, job):
        raise PermissionDenied(_("您的角色不能下载含完整证件号码的导入文件。"))
    if not name or not default_storage.exists(name):
        raise Http404(_("文件不存在。"))
    return FileResponse(
        default_storage.open(name, "rb"), as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )


@login_required
def import_original(request, pk):
    job = _job_for_user(request, pk)
    return _file_response(request, job, job.file.name, job.original_name)


def error_report_filename(job: ImportJob) -> str:
    stem = job.original_name.rsplit(".", 1)[0]
    return _("%(name)s（错误报告）.xlsx") % {"name": stem}


@login_required
def import_error_report(request, pk):
    job = _job_for_user(request, pk)
    return _file_response(request, job, job.error_report, error_report_filename(job))
