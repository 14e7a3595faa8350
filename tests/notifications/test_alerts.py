"""alerts_sync (notifications/services.py): the open alerts of a kind become exactly the
conditions handed in — new ones raised once and delivered to the accounts responsible at
their level, vanished ones cleared, returning ones reopened — and a second run with the
same conditions changes nothing."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from notifications.models import Alert, Notification
from notifications.services import alerts_sync, responsible_region, unread_count
from tests.conftest import (
    COUNTY,
    OTHER_COUNTY,
    OTHER_COUNTY_VILLAGE,
    TOWN_A,
    TOWN_B,
    VILLAGE_A,
    VILLAGE_A2,
    VILLAGE_B,
    make_user,
)
from tests.notifications.conftest import AT_RISK, OVERDUE, recipients, snapshot, spec

pytestmark = pytest.mark.django_db

MORNING = datetime.datetime(2020, 10, 21, 8, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture
def frozen():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


def test_a_new_condition_is_raised_once_with_what_it_says(everyone, frozen):
    due = datetime.date(2020, 10, 20)
    result = alerts_sync(OVERDUE, [spec("c1", title="1号户 第1步已逾期", body="详情", link="/exits/1/", due_on=due)])

    assert result == {"raised": 1, "reopened": 0, "cleared": 0, "open": 1}
    alert = Alert.objects.get()
    assert (alert.kind, alert.key, alert.region_id, alert.level) == (OVERDUE, "c1", VILLAGE_A, "village")
    assert (alert.title, alert.body, alert.link, alert.due_on) == ("1号户 第1步已逾期", "详情", "/exits/1/", due)
    assert (alert.raised_at, alert.cleared_at, alert.is_open) == (MORNING, None, True)


def test_running_again_with_the_same_conditions_changes_nothing(everyone, frozen):
    conditions = [spec("c1"), spec("c2", region=VILLAGE_B), spec("t1", level="town")]
    alerts_sync(OVERDUE, conditions)
    before = snapshot()
    frozen.shift(datetime.timedelta(hours=1))

    again = alerts_sync(OVERDUE, conditions)

    assert again == {"raised": 0, "reopened": 0, "cleared": 0, "open": 3}
    assert snapshot() == before  # not even raised_at moves, and nobody gets a second copy


def test_a_condition_listed_twice_is_one_alert(alice, frozen):
    assert alerts_sync(OVERDUE, [spec("c1"), spec("c1")])["raised"] == 1
    assert Alert.objects.count() == Notification.objects.count() == 1


def test_a_condition_that_went_away_is_cleared_and_stays_in_the_inbox(alice, frozen):
    alerts_sync(OVERDUE, [spec("c1"), spec("c2")])
    assert unread_count(user=alice) == 2
    frozen.shift(datetime.timedelta(hours=2))

    result = alerts_sync(OVERDUE, [spec("c2")])

    assert result == {"raised": 0, "reopened": 0, "cleared": 1, "open": 1}
    cleared = Alert.objects.get(key="c1")
    assert cleared.cleared_at == MORNING + datetime.timedelta(hours=2)
    assert not cleared.is_open
    assert Alert.objects.get(key="c2").is_open
    assert Notification.objects.filter(user=alice).count() == 2  # history: the cleared one is kept
    assert unread_count(user=alice) == 1  # …but no longer counts as something to do
    assert alerts_sync(OVERDUE, [spec("c2")])["cleared"] == 0  # cleared once


def test_a_condition_that_comes_back_reopens_its_alert_unread(alice, frozen):
    alerts_sync(OVERDUE, [spec("c1")])
    alert = Alert.objects.get()
    note = Notification.objects.get()
    Notification.objects.filter(pk=note.pk).update(read_at=MORNING)
    frozen.shift(datetime.timedelta(days=1))
    alerts_sync(OVERDUE, [])
    frozen.shift(datetime.timedelta(days=1))

    result = alerts_sync(OVERDUE, [spec("c1")])

    assert result == {"raised": 0, "reopened": 1, "cleared": 0, "open": 1}
    alert.refresh_from_db()
    assert (alert.cleared_at, alert.raised_at) == (None, MORNING + datetime.timedelta(days=2))
    assert Alert.objects.count() == 1  # the same alert, not a second one
    note.refresh_from_db()
    assert note.read_at is None and note.emailed_at is None
    assert Notification.objects.count() == 1
    assert unread_count(user=alice) == 1


def test_kinds_are_synced_separately(alice, frozen):
    alerts_sync(OVERDUE, [spec("c1:overdue")])
    alerts_sync(AT_RISK, [spec("c2:at_risk")])

    assert alerts_sync(AT_RISK, [])["cleared"] == 1

    assert Alert.objects.get(key="c1:overdue").is_open
    assert not Alert.objects.get(key="c2:at_risk").is_open


def test_nothing_to_do_writes_nothing(alice):
    assert alerts_sync(OVERDUE, []) == {"raised": 0, "reopened": 0, "cleared": 0, "open": 0}
    assert not Alert.objects.exists()


# --- who receives it ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "level", "expected"),
    [
        (VILLAGE_A, "village", {"alice"}),
        (VILLAGE_B, "village", {"bob"}),
        (VILLAGE_A2, "village", set()),  # nobody works in village A2
        (VILLAGE_A, "town", {"tom"}),
        (VILLAGE_A2, "town", {"tom"}),  # the same town
        (VILLAGE_B, "town", set()),  # town B has no official
        (VILLAGE_A, "county", {"carol"}),
        (VILLAGE_B, "county", {"carol"}),
        (VILLAGE_A, "marking", {"carol"}),  # the system marking is the county's
        (OTHER_COUNTY_VILLAGE, "county", {"zed"}),
        (OTHER_COUNTY_VILLAGE, "marking", {"zed"}),
        (OTHER_COUNTY_VILLAGE, "village", set()),
    ],
)
def test_it_goes_to_the_accounts_responsible_at_its_level(everyone, region, level, expected):
    alerts_sync(OVERDUE, [spec("k", region=region, level=level)])
    assert recipients(Alert.objects.get()) == expected


def test_sector_supervisor_and_admin_accounts_receive_none(everyone):
    alerts_sync(
        OVERDUE,
        [
            spec(f"{level}-{region}", region=region, level=level)
            for region in (VILLAGE_A, VILLAGE_B, OTHER_COUNTY_VILLAGE)
            for level in ("village", "town", "county", "marking")
        ],
    )
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"alice", "bob", "tom", "carol", "zed"}
    for name in ("sam", "sue", "root"):
        assert not everyone[name].notifications.exists()


def test_every_active_account_at_the_level_gets_its_own_copy_and_inactive_ones_none(tom, tom2, tom_inactive):
    alerts_sync(OVERDUE, [spec("t1", level="town"), spec("t2", region=VILLAGE_A2, level="town")])

    for alert in Alert.objects.all():
        assert recipients(alert) == {"tom", "tom2"}
    assert not tom_inactive.notifications.exists()
    assert Notification.objects.count() == 4


def test_a_county_official_elsewhere_or_a_village_cadre_of_the_county_gets_no_county_alert(everyone):
    alerts_sync(OVERDUE, [spec("c", region=VILLAGE_A, level="county")])
    assert recipients(Alert.objects.get()) == {"carol"}  # not zed (another county), not alice (a village)


def test_it_delivers_once_per_condition_however_often_it_runs(alice, tom, frozen):
    for _ in range(3):
        alerts_sync(OVERDUE, [spec("c1"), spec("t1", level="town")])
    assert sorted(Notification.objects.values_list("user__username", "alert__key")) == [
        ("alice", "c1"),
        ("tom", "t1"),
    ]


def test_a_reopened_alert_reaches_an_account_that_became_responsible_meanwhile(tom, frozen):
    alerts_sync(OVERDUE, [spec("t1", level="town")])
    alerts_sync(OVERDUE, [])
    newcomer = make_user("tom_new", Role.TOWN_OFFICIAL, TOWN_A, full_name="张新")

    alerts_sync(OVERDUE, [spec("t1", level="town")])

    assert recipients(Alert.objects.get()) == {"tom", "tom_new"}
    assert unread_count(user=newcomer) == 1


def test_the_number_of_queries_does_not_grow_with_the_number_of_conditions(everyone, frozen):
    def queries(count: int, start: int) -> int:
        conditions = [
            spec(
                f"k{i}",
                region=(VILLAGE_A, VILLAGE_B, OTHER_COUNTY_VILLAGE)[i % 3],
                level=("village", "town", "county")[i % 3],
            )
            for i in range(start, start + count)
        ]
        with CaptureQueriesContext(connection) as captured:
            result = alerts_sync(OVERDUE, conditions)
        assert result["raised"] == count
        return len(captured)

    few = queries(3, 0)
    Alert.objects.all().delete()
    assert queries(60, 100) == few


@pytest.mark.parametrize(
    ("code", "level", "expected"),
    [
        (VILLAGE_A, "village", VILLAGE_A),
        (VILLAGE_A, "town", TOWN_A),
        (VILLAGE_B, "town", TOWN_B),
        (VILLAGE_A, "county", COUNTY),
        (VILLAGE_A, "marking", COUNTY),
        (OTHER_COUNTY_VILLAGE, "county", OTHER_COUNTY),
    ],
)
def test_responsible_region(code, level, expected):
    assert responsible_region(code, level) == expected
