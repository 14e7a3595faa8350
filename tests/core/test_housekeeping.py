"""The daily housekeeping job: expired sessions and API tokens, old login logs and stale lockout counters go."""

from datetime import timedelta

from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from knox.models import AuthToken

from core.services import housekeeping_run
from core.tasks import housekeeping
from povertyexit.celery import app

NOW = timezone.now()


def session(expires):
    store = SessionStore()
    store["who"] = "alice"
    store.create()
    Session.objects.filter(session_key=store.session_key).update(expire_date=expires)
    return store.session_key


def access_log(username, when):
    log = AccessLog.objects.create(username=username, ip_address="10.0.0.1", user_agent="test", path_info="/")
    # attempt_time is set on insert; move it back in time afterwards.
    AccessLog.objects.filter(pk=log.pk).update(attempt_time=when)
    return log.pk


def access_attempt(username, when):
    attempt = AccessAttempt.objects.create(
        username=username,
        ip_address="10.0.0.1",
        user_agent="test",
        path_info="/accounts/login/",
        get_data="",
        post_data="",
        failures_since_start=3,
    )
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=when)
    return attempt.pk


def test_it_deletes_expired_sessions_and_keeps_live_ones(db):
    expired = session(NOW - timedelta(minutes=1))
    live = session(NOW + timedelta(hours=1))
    result = housekeeping_run(now=NOW)
    assert result["sessions"] == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
    assert expired != live


def test_it_deletes_login_logs_past_the_retention_period(db):
    retention = timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)
    old = access_log("old", NOW - retention - timedelta(days=1))
    fresh = access_log("fresh", NOW - retention + timedelta(days=1))
    today = access_log("today", NOW)
    result = housekeeping_run(now=NOW)
    assert result["access_logs"] == 1
    assert set(AccessLog.objects.values_list("pk", flat=True)) == {fresh, today}
    assert old not in AccessLog.objects.values_list("pk", flat=True)


def test_it_deletes_lockout_counters_whose_cool_off_has_passed(db):
    stale = access_attempt("stale", NOW - settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
    current = access_attempt("current", NOW - timedelta(minutes=1))
    result = housekeeping_run(now=NOW)
    assert result["expired_lockouts"] == 1
    assert list(AccessAttempt.objects.values_list("pk", flat=True)) == [current]
    assert stale != current


def test_it_deletes_expired_api_tokens(alice):
    expired, _ = AuthToken.objects.create(user=alice, expiry=timedelta(days=-1))
    live, _ = AuthToken.objects.create(user=alice)
    assert housekeeping_run(now=NOW)["api_tokens"] == 1
    assert list(AuthToken.objects.values_list("digest", flat=True)) == [live.digest]
    assert expired.digest != live.digest


def test_it_changes_nothing_the_second_time(db):
    session(NOW - timedelta(days=1))
    session(NOW + timedelta(days=1))
    access_log("old", NOW - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS + 1))
    access_attempt("stale", NOW - timedelta(days=1))
    first = housekeeping_run(now=NOW)
    assert first == {"sessions": 1, "api_tokens": 0, "access_logs": 1, "expired_lockouts": 1}
    second = housekeeping_run(now=NOW)
    assert second == {"sessions": 0, "api_tokens": 0, "access_logs": 0, "expired_lockouts": 0}
    assert Session.objects.count() == 1


def test_it_keeps_a_signed_in_users_session(client, alice):
    client.force_login(alice)
    housekeeping_run()
    assert client.get("/").status_code == 200


def test_it_runs_the_same_service_from_the_task(db):
    session(timezone.now() - timedelta(minutes=5))
    # Called directly (in this process), the task is the service.
    assert housekeeping() == {"sessions": 1, "api_tokens": 0, "access_logs": 0, "expired_lockouts": 0}
    assert Session.objects.count() == 0


def test_it_is_scheduled_daily_in_the_database(db):
    task = PeriodicTask.objects.get(task="core.housekeeping")
    assert task.name == "每日清理过期会话与登录日志"
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("30", "2")
    assert (task.crontab.day_of_week, task.crontab.day_of_month, task.crontab.month_of_year) == ("*", "*", "*")
    assert str(task.crontab.timezone) == "Asia/Shanghai"


def test_it_names_a_task_the_worker_knows(db):
    app.loader.import_default_modules()
    for task in PeriodicTask.objects.all():
        assert task.task in app.tasks, task.task
