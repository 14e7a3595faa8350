"""Email (issue 6 point 6): nothing is emailed unless email is configured
(settings.NOTIFICATION_EMAILS); with it, the daily digest sends each active user with
open alerts one email listing what is due and overdue."""

import datetime
import threading

import pytest
from django.db import connection, connections
from django.utils import translation

from core.locks import acquire, release
from notifications import services
from notifications.models import DigestDelivery
from notifications.services import alerts_sync, daily_digest
from notifications.tasks import daily_digest_task
from tests.conftest import VILLAGE_B
from tests.notifications.conftest import AT_RISK, OVERDUE, spec

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2020, 10, 21)


@pytest.fixture
def addressed(everyone, tom_inactive):
    """Everyone has an email address except bob."""
    for user in [*everyone.values(), tom_inactive]:
        user.email = "" if user.username == "bob" else f"{user.username}@example.org"
        user.save()
    return everyone


@pytest.fixture
def alerts(addressed):
    """alice: two open (one overdue, one at risk) and one cleared; tom: one open;
    bob (no email): one open; carol: only a cleared one."""
    alerts_sync(
        OVERDUE,
        [
            spec("a1", title="甲户第1步已逾期", due_on=datetime.date(2020, 10, 20)),
            spec("a-gone", title="乙户第2步已逾期"),
            spec("t1", level="town", title="丙户第3步已逾期", due_on=datetime.date(2020, 10, 31)),
            spec("b1", region=VILLAGE_B, title="丁户第1步已逾期"),
            spec("c-gone", level="county", title="戊户第6步已逾期"),
        ],
    )
    alerts_sync(OVERDUE, [spec("a1"), spec("t1", level="town"), spec("b1", region=VILLAGE_B)])
    alerts_sync(AT_RISK, [spec("a2", title="己户第2步进度滞后")])


def test_no_email_unless_email_is_configured(settings, mailoutbox, alerts):
    settings.NOTIFICATION_EMAILS = False
    assert daily_digest(today=TODAY) == 0
    assert daily_digest_task.apply().get() == {"sent": 0}
    assert mailoutbox == []


def test_raising_alerts_emails_nobody_unless_email_is_configured(settings, mailoutbox, addressed):
    settings.NOTIFICATION_EMAILS = False
    alerts_sync(OVERDUE, [spec("a1"), spec("t1", level="town")])
    assert mailoutbox == []


def test_one_digest_per_user_with_open_alerts(settings, mailoutbox, alerts):
    settings.NOTIFICATION_EMAILS = True

    with translation.override("zh-hans"):
        assert daily_digest(today=TODAY) == 2

    by_user = {tuple(message.to): message for message in mailoutbox}
    assert set(by_user) == {
        ("alice@example.org",),
        ("tom@example.org",),
    }  # not carol (nothing open), not bob (no address)
    alice = by_user[("alice@example.org",)]
    assert "2020-10-21" in alice.subject and "（2 项）" in alice.subject
    assert "甲户第1步已逾期" in alice.body and "2020-10-20" in alice.body
    assert "己户第2步进度滞后" in alice.body
    assert "乙户第2步已逾期" not in alice.body  # cleared
    assert len(alice.body.strip().splitlines()) == 2
    tom = by_user[("tom@example.org",)]
    assert "丙户第3步已逾期" in tom.body and "2020-10-31" in tom.body
    assert all(message.from_email == settings.DEFAULT_FROM_EMAIL for message in mailoutbox)


def test_inactive_accounts_get_no_digest(settings, mailoutbox, addressed, tom, tom_inactive):
    alerts_sync(OVERDUE, [spec("t1", level="town")])
    tom_inactive.is_active = True
    tom_inactive.save()
    alerts_sync(OVERDUE, [spec("t1", level="town"), spec("t2", level="town")])
    tom_inactive.is_active = False  # had "t2" delivered while active, then left
    tom_inactive.save()
    settings.NOTIFICATION_EMAILS = True

    daily_digest(today=TODAY)

    assert [message.to for message in mailoutbox] == [["tom@example.org"]]


def test_no_open_alerts_no_digest(settings, mailoutbox, addressed):
    settings.NOTIFICATION_EMAILS = True
    assert daily_digest(today=TODAY) == 0
    assert mailoutbox == []


def test_the_digest_task_sends_and_skips_while_another_run_holds_the_lock(settings, mailoutbox, alerts):
    settings.NOTIFICATION_EMAILS = True
    other = acquire("notifications.daily_digest", ttl=datetime.timedelta(minutes=30))
    skipped = daily_digest_task.apply().get()
    assert skipped["skipped"] is True and f"another run holds the lease ({other}" in skipped["reason"]
    assert mailoutbox == []

    release("notifications.daily_digest", other)
    assert daily_digest_task.apply().get() == {"sent": 2}
    assert len(mailoutbox) == 2


def test_email_is_off_by_default_in_the_test_settings(settings):
    assert settings.NOTIFICATION_EMAILS is False


def test_with_email_configured_a_raised_alert_is_emailed_to_its_recipients(settings, mailoutbox, addressed):
    settings.NOTIFICATION_EMAILS = True

    alerts_sync(OVERDUE, [spec("t1", level="town", title="丙户第3步已逾期")])

    assert [message.to for message in mailoutbox] == [["tom@example.org"]]
    assert "丙户第3步已逾期" in mailoutbox[0].subject + mailoutbox[0].body


# --- exactly once per person per day (issue 15) ------------------------------------------------


def test_the_digest_run_again_the_same_day_sends_nothing_more(settings, mailoutbox, alerts):
    settings.NOTIFICATION_EMAILS = True
    assert daily_digest(today=TODAY) == 2
    assert daily_digest(today=TODAY) == 0
    assert len(mailoutbox) == 2
    assert DigestDelivery.objects.filter(day=TODAY).count() == 2

    assert daily_digest(today=TODAY + datetime.timedelta(days=1)) == 2  # the next day: again, once


def test_a_digest_the_mail_server_refused_goes_out_at_the_next_run(settings, mailoutbox, alerts, monkeypatch):
    settings.NOTIFICATION_EMAILS = True
    real = services.send_mail
    calls = []

    def refuse_tom(subject, body, sender, to, **kwargs):
        calls.append(to)
        if to == ["tom@example.org"] and len(calls) <= 2:
            raise ConnectionRefusedError("smtp down")
        return real(subject, body, sender, to, **kwargs)

    monkeypatch.setattr(services, "send_mail", refuse_tom)
    assert daily_digest(today=TODAY) == 1
    assert [m.to for m in mailoutbox] == [["alice@example.org"]]

    assert daily_digest(today=TODAY) == 1  # only tom's, which had not gone out
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.org", "tom@example.org"]
    assert daily_digest(today=TODAY) == 0


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: two connections sending at once"
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_send_each_digest_once(settings, mailoutbox, alerts):
    """Four runs at the same moment (no task lock between them: the lock is not what
    keeps the digest to one per day)."""
    settings.NOTIFICATION_EMAILS = True
    start = threading.Barrier(4, timeout=60)
    results: list = []

    def run() -> None:
        try:
            start.wait()
            results.append(daily_digest(today=TODAY))
        except Exception as error:  # asserted below
            results.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["alice@example.org", "tom@example.org"]
