"""Import jobs that always end (issue 15): the sweep, 失败可重试 and its retry, 无变化,
and the broker's refusals, through the services, the pages and the API. Real killed
processes and a real stopped broker are in test_worker_death.py; here the same states
are reached in one process (a lease that lapses, a job that breaks, a broker that
refuses), so every rule runs on SQLite too."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
import time_machine
from django.utils import timezone

from core import jobs, locks
from households.models import Household, Member
from imports import services
from imports.models import RUNNING_STATUSES, ImportJob, ImportStatus
from tests.html import text
from tests.imports.pages_helpers import bare_job, clean_file, start, upload

pytestmark = pytest.mark.django_db

DIED = "后台处理进程在处理该文件时停止了"
UNEXPECTED = "处理该文件时出现意外错误"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def queued(settings, django_capture_on_commit_callbacks):
    """Jobs go to the broker (the captured send is not run): they stay 排队中."""
    settings.IMPORT_INLINE_MAX_BYTES = 0

    def make(user, content):
        with django_capture_on_commit_callbacks():
            return start(user, content)

    return make


def refreshed(job: ImportJob) -> ImportJob:
    job.refresh_from_db()
    return job


def as_if_running(job: ImportJob, status: str, *, started: bool = True, lease: bool = False) -> ImportJob:
    """Put ``job`` where a worker left it: ``status``, claimed (started) or waiting, with
    or without a live lease."""
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, started_at=timezone.now() if started else None, queued_at=timezone.now()
    )
    if lease:
        locks.acquire(services.job_lease_name(job.pk))
    return refreshed(job)


# --- the sweep ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [ImportStatus.CHECKING, ImportStatus.APPLYING])
def test_a_started_job_without_a_live_lease_ends_retryable(alice, status):
    job = as_if_running(start(alice, clean_file(1)), status)

    assert services.imports_sweep() == {"running": 1, "interrupted": 1}

    job = refreshed(job)
    assert (job.status, job.phase, job.is_running, job.can_retry) == (ImportStatus.INTERRUPTED, "", False, True)
    assert job.message.startswith(DIED) and "重试" in job.message and "没有写入任何数据" in job.message
    assert job.finished_at is not None
    assert services.imports_sweep() == {"running": 0, "interrupted": 0}  # once


@pytest.mark.parametrize("status", [ImportStatus.QUEUED, ImportStatus.CHECKING, ImportStatus.APPLYING])
def test_a_job_whose_lease_is_live_is_left_alone(alice, status):
    job = as_if_running(start(alice, clean_file(1)), status, lease=True)
    assert services.imports_sweep()["interrupted"] == 0
    assert refreshed(job).status == status


def test_a_lease_that_lapses_ends_the_job_at_the_next_sweep(alice, settings):
    settings.TASK_LEASE_SECONDS = 60
    with time_machine.travel(timezone.now(), tick=False) as clock:
        job = as_if_running(start(alice, clean_file(1)), ImportStatus.APPLYING, lease=True)
        clock.shift(datetime.timedelta(seconds=59))
        assert services.imports_sweep()["interrupted"] == 0
        clock.shift(datetime.timedelta(seconds=2))
        assert services.imports_sweep()["interrupted"] == 1
    assert refreshed(job).status == ImportStatus.INTERRUPTED


def test_a_waiting_job_ends_only_after_the_queue_timeout(alice, queued, settings):
    settings.IMPORT_QUEUE_TIMEOUT = 600
    with time_machine.travel(timezone.now(), tick=False) as clock:
        job = queued(alice, clean_file(1))
        as_if_running(job, ImportStatus.APPLYING, started=False)  # confirmed, waiting too
        other = queued(alice, clean_file(1, first=5))
        clock.shift(datetime.timedelta(seconds=599))
        assert services.imports_sweep() == {"running": 2, "interrupted": 0}
        clock.shift(datetime.timedelta(seconds=2))
        assert services.imports_sweep() == {"running": 2, "interrupted": 2}
    for ended in (refreshed(job), refreshed(other)):
        assert ended.status == ImportStatus.INTERRUPTED
        assert "等待后台处理超过 10 分钟仍未开始" in ended.message and "Celery worker" in ended.message


def test_the_sweep_leaves_a_run_that_started_after_it_looked(alice, monkeypatch):
    """Guarded on what it read: a runner that claims the job meanwhile keeps it."""
    job = as_if_running(start(alice, clean_file(1)), ImportStatus.APPLYING)
    real = locks.held_names

    def claim_meanwhile(names):
        ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now() + datetime.timedelta(seconds=1))
        return real(names)

    monkeypatch.setattr(services, "held_names", claim_meanwhile)
    assert services.imports_sweep()["interrupted"] == 0
    assert refreshed(job).status == ImportStatus.APPLYING


def test_finished_jobs_are_never_swept(alice):
    for status in set(ImportStatus.values) - set(RUNNING_STATUSES):
        bare_job(alice, status=status, started_at=timezone.now() - datetime.timedelta(days=1))
    assert services.imports_sweep() == {"running": 0, "interrupted": 0}


def test_looking_at_a_dead_job_ends_it_without_a_worker(client, alice):
    job = as_if_running(start(alice, clean_file(1)), ImportStatus.APPLYING)
    client.force_login(alice)

    progress = client.get(f"/imports/{job.pk}/progress/", headers={"HX-Request": "true"})
    assert progress["HX-Refresh"] == "true"
    page = client.get(f"/imports/{job.pk}/")
    assert DIED in text(page) and "失败可重试" in text(page)
    assert 'data-testid="retry-import"' in page.content.decode()


def test_the_history_and_the_api_end_a_dead_job_too(client, alice):
    first = as_if_running(start(alice, clean_file(1)), ImportStatus.CHECKING)
    client.force_login(alice)
    assert "处理中断，没有写入任何数据，可重试" in text(client.get("/imports/"))
    assert refreshed(first).status == ImportStatus.INTERRUPTED

    second = as_if_running(start(alice, clean_file(1, first=7)), ImportStatus.CHECKING)
    answer = client.get(f"/api/v1/imports/{second.pk}/").json()
    assert (answer["status"], answer["status_display"]) == ("interrupted", "失败可重试")


# --- a job that breaks ends 失败可重试, with nothing written --------------------------------


def patch_importer(monkeypatch, **parts):
    """The households importer with some of its steps replaced."""
    real = services.importer_for("households")
    patched = dataclasses.replace(real, **{name: make(getattr(real, name)) for name, make in parts.items()})
    monkeypatch.setattr(services, "importer_for", lambda kind: patched)


def test_an_apply_that_breaks_half_way_writes_nothing_and_ends_retryable(alice, monkeypatch):
    job = start(alice, clean_file(3))

    def half_then_break(real_apply):
        def apply(plan, **kwargs):
            real_apply(plan, **kwargs)
            assert Household.objects.count() == 3  # written inside the transaction …
            raise SystemExit("the worker is told to stop at once")

        return apply

    patch_importer(monkeypatch, apply=half_then_break)
    with pytest.raises(SystemExit):
        services.import_confirm(by=alice, job=job)
    # … and rolled back. SystemExit is not an Exception: the lease is given back and the
    # sweep ends the job.
    assert Household.objects.count() == 0 and Member.objects.count() == 0
    assert services.imports_sweep()["interrupted"] == 1
    assert refreshed(job).status == ImportStatus.INTERRUPTED


def broken(real):
    def fail(*args, **kwargs):
        raise RuntimeError("a bug")

    return fail


def test_a_check_or_apply_that_raises_ends_retryable_at_once(alice, monkeypatch):
    job = start(alice, clean_file(2))
    patch_importer(monkeypatch, apply=broken)
    services.import_confirm(by=alice, job=job)
    job = refreshed(job)
    assert job.status == ImportStatus.INTERRUPTED and job.message.startswith(UNEXPECTED)
    assert Household.objects.count() == 0
    assert not locks.held(services.job_lease_name(job.pk))

    patch_importer(monkeypatch, plan=broken)
    other = start(alice, clean_file(2, first=5))
    assert other.status == ImportStatus.INTERRUPTED and other.message.startswith(UNEXPECTED)


# --- retry ---------------------------------------------------------------------------------


def test_a_retry_after_a_confirmed_job_died_applies_it_once(alice):
    job = start(alice, clean_file(2))
    ImportJob.objects.filter(pk=job.pk).update(confirmed_by=alice, confirmed_at=timezone.now())
    as_if_running(job, ImportStatus.APPLYING)
    services.imports_sweep()

    job = services.import_retry(by=alice, job=refreshed(job))

    assert job.status == ImportStatus.APPLIED and job.message == ""
    assert (Household.objects.count(), Member.objects.count()) == (2, 4)
    with pytest.raises(services.ImportRefused, match="只有“失败可重试”的导入可以重试"):
        services.import_retry(by=alice, job=job)


def test_a_retry_of_a_job_that_was_in_fact_written_ends_unchanged(alice):
    """The worker died after the commit but before anyone saw it: the retry re-plans and
    finds everything there — 无变化, not a second 已导入."""
    job = start(alice, clean_file(2))
    services.import_confirm(by=alice, job=job)
    assert refreshed(job).status == ImportStatus.APPLIED
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.INTERRUPTED)
    # The parsed rows were removed after the apply, so the retry checks the file again.
    job = services.import_retry(by=alice, job=refreshed(job))
    assert job.status == ImportStatus.UNCHANGED
    assert job.confirmed_at is None
    assert Household.objects.count() == 2


def test_a_retry_before_the_confirmation_checks_again(alice):
    job = as_if_running(start(alice, clean_file(2)), ImportStatus.CHECKING)
    services.imports_sweep()
    job = services.import_retry(by=alice, job=refreshed(job))
    assert job.status == ImportStatus.READY and job.attempts == 2
    assert Household.objects.count() == 0


def test_only_the_uploader_retries(alice, tom, sue):
    job = as_if_running(start(alice, clean_file(1)), ImportStatus.CHECKING)
    services.imports_sweep()
    with pytest.raises(services.ImportRefused, match="只有上传该文件的用户可以重试"):
        services.import_retry(by=tom, job=refreshed(job))
    with pytest.raises(services.ImportRefused):
        services.import_retry(by=sue, job=refreshed(job))
    assert refreshed(job).status == ImportStatus.INTERRUPTED


def test_a_queued_retry_goes_to_the_broker(alice, queued, django_capture_on_commit_callbacks, monkeypatch):
    job = queued(alice, clean_file(1))
    as_if_running(job, ImportStatus.CHECKING)
    services.imports_sweep()
    sent = []
    monkeypatch.setattr(jobs, "send", lambda task, *args: sent.append((task.name, args)))
    with django_capture_on_commit_callbacks(execute=True):
        job = services.import_retry(by=alice, job=refreshed(job))
    assert job.status == ImportStatus.QUEUED and job.started_at is None
    assert sent == [("imports.check", (job.pk,))]


def test_the_retry_button_and_the_api(client, alice, bob):
    job = as_if_running(start(alice, clean_file(2)), ImportStatus.CHECKING)
    services.imports_sweep()
    client.force_login(alice)

    response = client.post(f"/imports/{job.pk}/retry/", follow=True)
    assert refreshed(job).status == ImportStatus.READY
    assert "待确认导入" in text(response)
    answer = client.post(f"/api/v1/imports/{job.pk}/retry/")
    assert answer.status_code == 409 and answer.json()["detail"] == "只有“失败可重试”的导入可以重试。"

    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.INTERRUPTED)
    answer = client.post(f"/api/v1/imports/{job.pk}/retry/")
    assert answer.status_code == 200 and answer.json()["status"] == "ready"

    client.force_login(bob)  # another village's cadre does not even see it
    assert client.post(f"/api/v1/imports/{job.pk}/retry/").status_code == 404


# --- exactly once: the same file twice ----------------------------------------------------


def test_two_uploads_of_one_file_confirmed_one_after_the_other_import_once(alice):
    first, second = start(alice, clean_file(2)), start(alice, clean_file(2))
    assert first.status == second.status == ImportStatus.READY

    services.import_confirm(by=alice, job=first)
    services.import_confirm(by=alice, job=second)

    assert refreshed(first).status == ImportStatus.APPLIED
    second = refreshed(second)
    assert second.status == ImportStatus.UNCHANGED
    assert "已全部在系统中" in second.message and second.parsed_file == ""
    assert (Household.objects.count(), Member.objects.count()) == (2, 4)
    assert ImportJob.objects.filter(status=ImportStatus.APPLIED).count() == 1


def test_a_file_with_nothing_new_ends_unchanged_and_offers_no_confirmation(client, alice):
    start(alice, clean_file(1))
    services.import_confirm(by=alice, job=ImportJob.objects.get())
    client.force_login(alice)
    again = start(alice, clean_file(1))
    page = client.get(f"/imports/{again.pk}/")
    assert again.status == ImportStatus.UNCHANGED and "无变化" in text(page)
    assert 'data-testid="confirm-import"' not in page.content.decode()
    assert "没有需要导入的新数据或变化" in text(client.get("/imports/"))


# --- the broker refuses ---------------------------------------------------------------------


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(task, *args, **kwargs):
        raise jobs.BrokerUnavailable()

    monkeypatch.setattr(jobs, "send", refuse)


@pytest.mark.django_db(transaction=True)  # the send runs when the request's rows are committed
def test_an_upload_the_broker_refuses_keeps_nothing(client, alice, settings, broker_down, media):
    settings.IMPORT_INLINE_MAX_BYTES = 0
    client.force_login(alice)
    response = client.post("/api/v1/imports/households/", {"file": upload(clean_file(1))})
    assert response.status_code == 503
    assert response.json()["detail"].startswith("后台任务服务暂时不可用，文件没有保存，请稍后重新上传")
    assert not ImportJob.objects.exists()
    assert not [path for path in media.rglob("*") if path.is_file()]  # the stored file is gone too


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_the_broker_refuses_stays_ready(client, alice, settings, broker_down):
    job = start(alice, clean_file(1))
    settings.IMPORT_INLINE_MAX_BYTES = 0
    client.force_login(alice)
    response = client.post(f"/imports/{job.pk}/confirm/")
    assert response.status_code == 503
    assert "尚未导入，文件仍为“待确认导入”" in text(response)
    job = refreshed(job)
    assert (job.status, job.confirmed_by, job.confirmed_at) == (ImportStatus.READY, None, None)
    assert 'data-testid="confirm-import"' in response.content.decode()  # try again from the same page


def test_the_safety_nets_answer_503_for_any_view_the_broker_fails(rf, alice):
    """A view that does not answer BrokerUnavailable itself: pages and API still get 503."""
    from rest_framework.views import APIView

    from core.api import exception_handler
    from core.middleware import ProtectedDeleteMiddleware

    request = rf.post("/exits/batch/")
    request.user = alice
    page = ProtectedDeleteMiddleware(lambda r: None).process_exception(request, jobs.BrokerUnavailable())
    assert page.status_code == 503 and "后台任务服务暂时不可用" in page.content.decode()
    api = exception_handler(jobs.BrokerUnavailable(), {"view": APIView()})
    assert api.status_code == 503 and api.data["detail"].startswith("后台任务服务暂时不可用")
