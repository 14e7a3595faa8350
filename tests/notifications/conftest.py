"""Fixtures and helpers for the background scans, alerts and the inbox (issue 6).

The exit-case fixtures (the 2020 campaign, the clock at 2020-10-12, the ``flow`` that moves
cases through the steps) come from ``tests/exits/conftest.py``. An alert's ``key`` names the
condition it stands for, ``exit:<case>:step:<n>:<kind>``; ``open_steps`` reads it back as
``{(case id, step)}`` so a test says which cases are flagged at which step.
"""

import datetime

import pytest
from django.utils import timezone

from accounts.models import Role
from notifications.models import Alert, AlertKind, Notification
from notifications.services import AlertSpec
from tests.conftest import TOWN_A, VILLAGE_A, make_user
from tests.exits.conftest import amy, campaign, carol2, certifiers, clock, flow, tom2  # noqa: F401

OVERDUE = AlertKind.STEP_OVERDUE
AT_RISK = AlertKind.STEP_AT_RISK


def go_to(the_clock, day: datetime.date) -> None:
    """Move the ``clock`` fixture to 10:00 on ``day`` (Asia/Shanghai)."""
    the_clock.shift((day - timezone.localdate()).days)


def spec(key: str, region: str = VILLAGE_A, level: str = "village", **fields) -> AlertSpec:
    """A condition for ``alerts_sync`` with a title made from its key."""
    return AlertSpec(key=key, region_code=region, level=level, title=fields.pop("title", f"提醒 {key}"), **fields)


def open_steps(kind: str) -> set[tuple[int, int]]:
    """The (case id, step) of every open alert of ``kind`` raised by the overdue scan."""
    found = set()
    for key in Alert.objects.filter(kind=kind, cleared_at__isnull=True).values_list("key", flat=True):
        _exit, case, _step, step, _kind = key.split(":")
        found.add((int(case), int(step)))
    return found


def alert_for(case, step: int, kind: str) -> Alert:
    return Alert.objects.get(
        kind=kind, key=f"exit:{case.pk}:step:{int(step)}:{'overdue' if kind == OVERDUE else 'at_risk'}"
    )


def recipients(alert: Alert) -> set[str]:
    return set(alert.notifications.values_list("user__username", flat=True))


def snapshot() -> tuple[list, list]:
    """Every alert and notification row, every column: two equal snapshots mean a run
    changed nothing."""
    return (
        list(Alert.objects.order_by("pk").values()),
        list(Notification.objects.order_by("pk").values()),
    )


@pytest.fixture
def tom_inactive(regions):
    """A town official of alice's town whose account is disabled."""
    return make_user("tom_old", Role.TOWN_OFFICIAL, TOWN_A, full_name="张旧", is_active=False)
