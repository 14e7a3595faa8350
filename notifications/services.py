"""Raising and clearing alerts, set-based, and the inbox.

A scan computes every condition that holds now and hands the whole set to
``alerts_sync``: new conditions become alerts, delivered to the people responsible at
their level; conditions that no longer hold are cleared; a condition that comes back
reopens its alert. The work is a fixed handful of queries whatever the number of
cases (large ``IN`` lists are split only on SQLite, whose statements take at most
32,766 parameters).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from core.bulk import batch_size, in_chunks, update_batch_size
from notifications.models import Alert, DigestDelivery, Notification

# The role that acts at each level, and how long a prefix of the village code names
# the region its accounts are attached to. A sector department's accounts sit at the
# county like the county office's (DOMAIN.md §1).
logger = logging.getLogger(__name__)

LEVEL_ROLE = {"village": Role.VILLAGE_CADRE, "town": Role.TOWN_OFFICIAL, "county": Role.COUNTY_OFFICIAL}
LEVEL_PREFIX = {"village": 12, "town": 9, "county": 6}


@dataclass(frozen=True)
class AlertSpec:
    key: str
    region_code: str  # the village (or other region) where the condition is
    level: str  # "village", "town", "county" (the marking is the county's)
    title: str
    body: str = ""
    link: str = ""
    due_on: date | None = None
    sector: str = ""  # the work is this sector department's, not the level's role


def responsible_region(region_code: str, level: str) -> str:
    """The code of the region whose accounts answer for ``level`` at ``region_code``."""
    return responsible(region_code, level)[1]


def responsible(region_code: str, level: str, sector: str = "") -> tuple[str, str]:
    """(role, region code) of the accounts that answer for ``level`` at ``region_code``:
    the level's role, or with ``sector`` that sector department's accounts there. The
    system marking is the county operator's work (DOMAIN.md §4)."""
    level = "county" if level == "marking" else level
    role = Role.SECTOR if sector else LEVEL_ROLE[level]
    return role, region_code[: LEVEL_PREFIX[level]].ljust(12, "0")


@transaction.atomic
def alerts_sync(kind: str, specs: Iterable[AlertSpec], *, now=None, reword: bool = False) -> dict[str, int]:
    """Make the open alerts of ``kind`` exactly ``specs``; returns what changed. An
    alert still open keeps its wording as raised, or with ``reword`` takes the spec's
    (a condition that names a count of items, which changes while it holds); either way
    it keeps its recipients and read state."""
    now = now or timezone.now()
    wanted = {spec.key: spec for spec in specs}
    known = dict(Alert.objects.filter(kind=kind).values_list("key", "cleared_at"))
    open_keys = {key for key, cleared in known.items() if cleared is None}
    to_clear = open_keys - wanted.keys()
    to_reopen = [key for key in wanted if key in known and known[key] is not None]
    to_raise = [wanted[key] for key in wanted if key not in known]

    for chunk in in_chunks(to_clear):
        Alert.objects.filter(kind=kind, key__in=chunk).update(cleared_at=now)
    reopened: list[Alert] = []
    for chunk in in_chunks(to_reopen):
        Alert.objects.filter(kind=kind, key__in=chunk).update(cleared_at=None, raised_at=now)
        Notification.objects.filter(alert__kind=kind, alert__key__in=chunk).update(read_at=None, emailed_at=None)
        reopened += list(Alert.objects.filter(kind=kind, key__in=chunk))
    if reword:
        Alert.objects.bulk_update(
            _reworded(kind, [wanted[key] for key in wanted if key in known]), WORDING, batch_size=update_batch_size()
        )
    alerts = Alert.objects.bulk_create(
        [
            Alert(
                kind=kind,
                key=spec.key,
                region_id=spec.region_code,
                level=spec.level,
                title=spec.title[:200],
                body=spec.body,
                link=spec.link,
                due_on=spec.due_on,
                sector=spec.sector,
                raised_at=now,
            )
            for spec in to_raise
        ],
        batch_size=batch_size(),
    )
    if alerts and alerts[0].pk is None:  # a backend that does not return ids
        ids = dict(Alert.objects.filter(kind=kind, key__in=[a.key for a in alerts]).values_list("key", "pk"))
        for alert in alerts:
            alert.pk = ids[alert.key]
    # A reopened alert also reaches whoever became responsible since (no duplicates).
    _deliver([*alerts, *reopened])
    if emails_enabled() and (alerts or reopened):
        _email_pending()
    return {"raised": len(to_raise), "reopened": len(to_reopen), "cleared": len(to_clear), "open": len(wanted)}


# What a scan may say differently about a condition that still holds.
WORDING = ["title", "body", "link", "due_on"]


def _reworded(kind: str, specs: list[AlertSpec]) -> list[Alert]:
    """The open alerts among ``specs`` whose wording differs from the spec's, updated
    in memory (the caller saves them). One query: the open alerts of the kind, which
    a partial index holds."""
    if not specs:
        return []
    by_key = {spec.key: spec for spec in specs}
    changed = []
    for alert in Alert.objects.filter(kind=kind, cleared_at__isnull=True).only("pk", "key", *WORDING):
        spec = by_key.get(alert.key)
        if spec is None:
            continue
        wording = {"title": spec.title[:200], "body": spec.body, "link": spec.link, "due_on": spec.due_on}
        if any(getattr(alert, name) != value for name, value in wording.items()):
            for name, value in wording.items():
                setattr(alert, name, value)
            changed.append(alert)
    return changed


def _deliver(alerts: list[Alert]) -> None:
    """One inbox entry per alert for each active account responsible for it: the
    level's role in the level's region, or the alert's sector department there."""
    if not alerts:
        return
    roles = {responsible(a.region_id, a.level, a.sector)[0] for a in alerts}
    accounts: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    users = User.objects.filter(is_active=True, role__in=roles).values_list("pk", "role", "region_id", "sector")
    for pk, role, region, sector in users:
        accounts[(role, region, sector)].append(pk)
    notifications = []
    for alert in alerts:
        # Accounts other than a sector department's have no sector (a database
        # constraint on User), so "" matches them.
        for user_id in accounts.get((*responsible(alert.region_id, alert.level, alert.sector), alert.sector), []):
            notifications.append(Notification(user_id=user_id, alert_id=alert.pk))
    Notification.objects.bulk_create(notifications, batch_size=batch_size(), ignore_conflicts=True)


# --- the inbox ---------------------------------------------------------------------------


def inbox(*, user: User):
    return Notification.objects.filter(user=user).select_related("alert", "alert__region")


def _unread(user: User):
    return Notification.objects.filter(user=user, read_at__isnull=True, alert__cleared_at__isnull=True)


def unread_count(*, user: User) -> int:
    return _unread(user).count()


# The header badge says "99+" beyond this: every page's header counts at most 100 rows,
# however large a county official's backlog grows (issue 17).
BADGE_MAX = 99


def unread_badge(*, user: User) -> str:
    """The header's unread count as shown: "" for none, "1"–"99", or "99+"."""
    counted = _unread(user).order_by().values("pk")[: BADGE_MAX + 1].count()
    if counted > BADGE_MAX:
        return f"{BADGE_MAX}+"
    return str(counted) if counted else ""


def notification_read(*, user: User, notification_id: int) -> Notification | None:
    notification = Notification.objects.filter(user=user, pk=notification_id).select_related("alert").first()
    if notification is not None and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_read_all(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


# --- email ----------------------------------------------------------------------------------


def emails_enabled() -> bool:
    """Email goes out only when a real backend is configured (DJANGO_EMAIL_BACKEND)."""
    return settings.NOTIFICATION_EMAILS


def _email_pending() -> int:
    """Email each alert to its recipients once (and again after it reopens)."""
    pending = (
        Notification.objects.filter(emailed_at__isnull=True, alert__cleared_at__isnull=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("alert", "user")
    )
    sent = 0
    for note in pending:
        # Claimed before sending: two overlapping runs send each alert once.
        if not Notification.objects.filter(pk=note.pk, emailed_at__isnull=True).update(emailed_at=timezone.now()):
            continue
        body = note.alert.title
        if note.alert.due_on:
            body += f"\n{_('时限')}：{note.alert.due_on:%Y-%m-%d}"
        if note.alert.link:
            body += f"\n{note.alert.link}"
        send_mail(note.alert.title, body, None, [note.user.email], fail_silently=True)
        sent += 1
    return sent


def daily_digest(*, today: date | None = None) -> int:
    """Each user with open alerts gets one email listing what is due and overdue, once a
    day however often this runs: the day's ``DigestDelivery`` is claimed before sending
    (and given back if the mail server refuses, so the next run tries again). Returns
    the number of emails sent (none unless email is configured)."""
    if not emails_enabled():
        return 0
    today = today or timezone.localdate()
    done = set(DigestDelivery.objects.filter(day=today).values_list("user_id", flat=True))
    open_notes = (
        Notification.objects.filter(alert__cleared_at__isnull=True, user__is_active=True)
        .exclude(user__email="")
        .exclude(user_id__in=done)
        .select_related("alert", "user")
        .order_by("user_id", "alert__due_on")
    )
    by_user: dict[int, list[Notification]] = defaultdict(list)
    for note in open_notes:
        by_user[note.user_id].append(note)
    sent = 0
    for notes in by_user.values():
        user = notes[0].user
        try:
            with transaction.atomic():
                claim = DigestDelivery.objects.create(user=user, day=today, sent_at=timezone.now(), items=len(notes))
        except IntegrityError:
            continue  # another run sent it a moment ago
        lines = [
            f"- {n.alert.title}" + (f"（{_('时限')} {n.alert.due_on:%Y-%m-%d}）" if n.alert.due_on else "")
            for n in notes
        ]
        subject = _("脱贫退出案件管理：%(date)s 待办与逾期（%(n)d 项）") % {"date": today.isoformat(), "n": len(notes)}
        try:
            send_mail(subject, "\n".join(lines), None, [user.email], fail_silently=False)
        except Exception:
            DigestDelivery.objects.filter(pk=claim.pk).delete()
            logger.exception("daily digest to user %s not sent; the next run tries again", user.pk)
            continue
        sent += 1
    return sent
