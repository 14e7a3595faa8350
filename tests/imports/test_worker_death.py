"""Import jobs that always end, with real processes (issue 15, points 1 and 2).

A Celery worker process is killed (SIGKILL) while it applies a county-sized file; a
Redis of the test's own is stopped under an upload, a confirmation and a retry. The
worker and the test share the test database (PostgreSQL: the worker is another
process) and the media folder; the broker is the test's own Redis on another port, so
stopping it disturbs nothing else.

Needs PostgreSQL and a ``redis-server`` binary (CI has both); skipped otherwise.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections

from bench.bench_import import build_workbook
from core import locks
from households.models import Household, Member
from imports import services
from imports.models import RUNNING_STATUSES, ImportJob, ImportStatus
from imports.tasks import import_apply_task
from povertyexit.celery import app
from tests.imports.workbooks import H1, H2, household, liu_family, start, wang_family, workbook

REDIS = "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a worker process shares the test database only on PostgreSQL (set DATABASE_URL=postgres://…)",
    ),
    pytest.mark.skipif(REDIS is None, reason="needs redis-server for a broker of the test's own"),
    pytest.mark.django_db(transaction=True),
]

LEASE_SECONDS = 2  # the worker's lease: a dead worker's job is free again this soon
WAIT = 90  # generous bound for anything the test waits for on a loaded CI machine
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout: float = WAIT, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


class Redis:
    """A redis-server of the test's own, which the test can stop and start again."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.dir = tmp
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_until(answers, timeout=20, what="redis-server answers")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)


def use_broker(url: str | None) -> None:
    """Point this process's Celery app at ``url`` and forget pooled connections."""
    app.conf.broker_url = app.conf.broker_write_url = app.conf.broker_read_url = url
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None


@pytest.fixture
def redis(tmp_path):
    server = Redis(tmp_path)
    server.start()
    saved = app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_read_url
    use_broker(server.url)
    yield server
    server.stop()
    use_broker(None)
    app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_read_url = saved


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORT_INLINE_MAX_BYTES = 0  # every file goes through the broker
    return settings.MEDIA_ROOT


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """``celery worker`` in a process of its own, on the test's database, media and broker."""

    def __init__(self, broker: str, media: Path, log: Path):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "povertyexit.settings_test",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker,
            "DJANGO_MEDIA_ROOT": str(media),
            "POVERTYEXIT_TASK_LEASE_SECONDS": str(LEASE_SECONDS),
            "POVERTYEXIT_RUN_SCANS_AT_WORKER_START": "false",
        }
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "povertyexit",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
            ],  # fmt: skip
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: "ready." in log.read_text(errors="replace"), what="the worker starts")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(redis, media, tmp_path):
    started: list[Worker] = []

    def start_worker() -> Worker:
        worker = Worker(redis.url, media, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start_worker
    for worker in started:
        worker.stop()
    connections.close_all()


def both_families() -> bytes:
    return workbook([household(H1), household(H2)], [*wang_family(), *liu_family()])


def job(pk: int) -> ImportJob:
    return ImportJob.objects.get(pk=pk)


def county_file(tmp_path: Path) -> tuple[bytes, dict]:
    path = tmp_path / "county.xlsx"
    shape = build_workbook(path, households=3000, members=10000)
    return path.read_bytes(), shape


def test_a_worker_killed_mid_apply_ends_retryable_writes_nothing_and_a_retry_imports_once(
    carol, workers, redis, tmp_path
):
    content, shape = county_file(tmp_path)
    worker = workers()
    started = start(carol, content, name="全县贫困户.xlsx")
    wait_until(lambda: job(started.pk).status == ImportStatus.READY, what=f"the check ({job(started.pk).message})")

    services.import_confirm(by=carol, job=job(started.pk))
    # The apply has claimed the job (its lease is held, started_at set); it runs inside
    # one transaction for several seconds on a file this size.
    wait_until(lambda: job(started.pk).started_at is not None, what="the apply starts")
    time.sleep(1.0)
    assert job(started.pk).status == ImportStatus.APPLYING, "the apply finished before it could be killed"
    worker.kill()
    killed_at = time.monotonic()

    # Nothing half-written: the transaction died with the process.
    assert Household.objects.count() == 0 and Member.objects.count() == 0
    # The lease lapses within its time; the sweep (every minute, and on each look at
    # the job's page) then ends the job as 失败可重试 with what to do.
    wait_until(lambda: locks.held(services.job_lease_name(started.pk)) is None, what="the dead worker's lease lapses")
    assert time.monotonic() - killed_at <= LEASE_SECONDS + 5
    assert services.imports_sweep() == {"running": 1, "interrupted": 1}
    ended = job(started.pk)
    assert ended.status == ImportStatus.INTERRUPTED
    assert "没有写入任何数据" in ended.message and "重试" in ended.message
    assert not ended.is_running and ended.can_retry

    # The uploader retries without uploading again; a second copy of the apply message
    # (a broker redelivering the dead worker's one) arrives too: written exactly once.
    workers()
    services.import_retry(by=carol, job=ended)
    import_apply_task.delay(started.pk)
    wait_until(lambda: job(started.pk).status not in RUNNING_STATUSES, what="the retried apply")
    done = job(started.pk)
    assert done.status == ImportStatus.APPLIED, done.message
    assert (Household.objects.count(), Member.objects.count()) == (shape["households"], shape["members"])
    assert done.attempts == 3  # the check, the killed apply, the retried one
    time.sleep(1.5)  # the duplicate message has been consumed meanwhile or is now
    assert job(started.pk).status == ImportStatus.APPLIED
    assert (Household.objects.count(), Member.objects.count()) == (shape["households"], shape["members"])


def test_a_job_nobody_takes_ends_after_the_queue_timeout(carol, redis, media, settings):
    settings.IMPORT_QUEUE_TIMEOUT = 1
    waiting = start(carol, both_families())
    assert waiting.status == ImportStatus.QUEUED
    time.sleep(1.2)

    assert services.imports_sweep()["interrupted"] == 1

    ended = job(waiting.pk)
    assert ended.status == ImportStatus.INTERRUPTED and "等待后台处理超过" in ended.message


def upload_file(client, content: bytes, name: str = "贫困户导入.xlsx"):
    return client.post("/api/v1/imports/households/", {"file": SimpleUploadedFile(name, content, content_type=XLSX)})


def test_with_the_broker_down_requests_answer_503_and_leave_no_orphan_job(carol, client, redis, workers):
    client.force_login(carol)
    # While the broker is up: one job checked and waiting for its confirmation, one
    # ended 失败可重试 (its worker died before it started).
    workers()
    ready = upload_file(client, both_families()).json()
    wait_until(lambda: job(ready["id"]).status == ImportStatus.READY, what="the check")
    interrupted = ImportJob.objects.create(
        kind="households",
        uploaded_by=carol,
        region=carol.region,
        token="f" * 32,
        original_name="中断.xlsx",
        file_size=10,
        file=job(ready["id"]).file.name,
        status=ImportStatus.INTERRUPTED,
        message="处理中断",
    )
    before = ImportJob.objects.count()

    redis.stop()
    began = time.monotonic()
    response = upload_file(client, both_families(), name="另一个.xlsx")
    assert response.status_code == 503
    assert "后台任务服务暂时不可用" in response.json()["detail"] and "重新上传" in response.json()["detail"]
    assert time.monotonic() - began < 15
    assert ImportJob.objects.count() == before  # no job row without a task

    response = client.post(f"/api/v1/imports/{ready['id']}/confirm/")
    assert response.status_code == 503 and "确认导入" in response.json()["detail"]
    assert job(ready["id"]).status == ImportStatus.READY and job(ready["id"]).confirmed_at is None

    response = client.post(f"/api/v1/imports/{interrupted.pk}/retry/")
    assert response.status_code == 503
    assert job(interrupted.pk).status == ImportStatus.INTERRUPTED

    # The pages answer the same, in Chinese, with 503; pages that need no broker work.
    page = client.post(
        "/imports/households/new/", {"file": SimpleUploadedFile("页面.xlsx", both_families(), content_type=XLSX)}
    )
    assert page.status_code == 503 and "后台任务服务暂时不可用" in page.content.decode()
    page = client.post(f"/imports/{ready['id']}/confirm/")
    assert page.status_code == 503 and "后台任务服务暂时不可用" in page.content.decode()
    for url in ["/", "/households/", "/exits/", "/imports/", f"/imports/{ready['id']}/", "/api/v1/households/"]:
        assert client.get(url).status_code == 200, url
    assert ImportJob.objects.count() == before
    assert not ImportJob.objects.filter(status__in=RUNNING_STATUSES).exists()

    # The broker is back: the same confirmation goes through, and every job ends.
    redis.start()
    use_broker(redis.url)
    workers()
    response = client.post(f"/api/v1/imports/{ready['id']}/confirm/")
    assert response.status_code == 200, response.content
    wait_until(lambda: job(ready["id"]).status == ImportStatus.APPLIED, what="the confirmed apply")
    assert Household.objects.count() == 2
    services.imports_sweep()
    assert not ImportJob.objects.filter(status__in=RUNNING_STATUSES).exists()
