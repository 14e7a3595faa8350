"""The scans' schedules live in the database (django-celery-beat), created by migrations so
an administrator can change them; each names a task the worker knows. A worker also runs
the scans once when it starts (povertyexit/celery.py), unless told not to."""

import importlib

import pytest
from django.apps import apps as django_apps
from django_celery_beat.models import PeriodicTask

from povertyexit import celery as celery_module
from povertyexit.celery import app

pytestmark = pytest.mark.django_db

SCAN = importlib.import_module("exits.migrations.0002_scan_schedule")
DIGEST = importlib.import_module("notifications.migrations.0002_digest_schedule")


def test_the_overdue_scan_runs_every_fifteen_minutes():
    task = PeriodicTask.objects.get(task="exits.overdue_scan")
    assert task.name == "退出步骤逾期与进度滞后扫描"
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (15, "minutes")
    assert task.crontab is None


def test_the_digest_goes_out_every_morning_at_half_past_seven_beijing_time():
    task = PeriodicTask.objects.get(task="notifications.daily_digest")
    assert task.name == "每日待办与逾期邮件"
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("30", "7")
    assert (task.crontab.day_of_week, task.crontab.day_of_month, task.crontab.month_of_year) == ("*", "*", "*")
    assert str(task.crontab.timezone) == "Asia/Shanghai"
    assert task.interval is None


def test_the_scheduled_tasks_are_tasks_the_worker_knows():
    app.loader.import_default_modules()
    for name in ("exits.overdue_scan", "notifications.daily_digest"):
        assert PeriodicTask.objects.filter(task=name).count() == 1
        assert name in app.tasks


@pytest.mark.parametrize(("migration", "task"), [(SCAN, "exits.overdue_scan"), (DIGEST, "notifications.daily_digest")])
def test_the_schedule_migrations_reverse_and_reapply_cleanly(migration, task):
    migration.remove_schedule(django_apps, None)
    assert not PeriodicTask.objects.filter(task=task).exists()

    migration.create_schedule(django_apps, None)
    migration.create_schedule(django_apps, None)  # a second run finds it

    assert PeriodicTask.objects.filter(task=task).count() == 1


def test_an_administrators_change_survives_the_migration_running_again():
    PeriodicTask.objects.filter(task="exits.overdue_scan").update(enabled=False)
    SCAN.create_schedule(django_apps, None)
    assert PeriodicTask.objects.get(task="exits.overdue_scan").enabled is False


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(app, "send_task", lambda name, *args, **kwargs: calls.append(name))
    return calls


def test_a_starting_worker_runs_the_scans_once(settings, sent):
    settings.RUN_SCANS_AT_WORKER_START = True
    celery_module.run_scans_at_start(sender=None)
    assert "exits.overdue_scan" in sent
    assert sent == list(settings.SCANS_AT_WORKER_START)  # each once


def test_a_starting_worker_runs_no_scan_when_told_not_to(settings, sent):
    assert settings.RUN_SCANS_AT_WORKER_START is False  # the test settings: workers run one task at a time
    celery_module.run_scans_at_start(sender=None)
    assert sent == []
