"""The overdue scan (exits/scans.py, DOMAIN.md §4, issue 6 point 2): every step not done by
its level's deadline is overdue, every case whose town's pace will miss a deadline is at
risk; each is raised once to the people responsible at that level and cleared when the
step is done. Running it twice gives the same rows; its number of queries does not grow
with the number of cases; the task skips while another run holds the lock.

The campaign's deadlines: village 10-20, town 10-31, county 11-10, marking 11-20; the clock
starts on 2020-10-12.
"""

import datetime
import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from core.locks import acquire, release
from core.models import TaskLock
from exits import services
from exits import tasks as exits_tasks
from exits.models import Step
from exits.scans import IDLE_HORIZON_DAYS, PACE_DAYS, overdue_scan
from exits.tasks import overdue_scan_task
from notifications.models import Alert, Notification
from notifications.services import unread_count
from tests.conftest import VILLAGE_A2, VILLAGE_B
from tests.exits.conftest import ready_household
from tests.notifications.conftest import AT_RISK, OVERDUE, alert_for, go_to, open_steps, recipients, snapshot

pytestmark = pytest.mark.django_db

D = datetime.date
VILLAGE_DEADLINE, TOWN_DEADLINE, COUNTY_DEADLINE, MARKING_DEADLINE = (
    D(2020, 10, 20),
    D(2020, 10, 31),
    D(2020, 11, 10),
    D(2020, 11, 20),
)


def enrol_in(flow, village, by, *, certify=False):
    return flow.enrol(ready_household(village), by=by, certify=certify)


@pytest.fixture
def one_per_level(flow):
    """Cases of village A waiting at a village step (1), a town step (3), a county step (6)
    and the marking (8); the clock ends on 10-19 (the notice took its seven days)."""
    village = flow.enrol(certify=False)
    town = flow.enrol(certify=False)
    county = flow.enrol()
    marking = flow.enrol()
    flow.bring_to(town, Step.CROSS_CHECK)
    flow.bring_to([county, marking], Step.APPROVE)
    flow.bring_to(marking, Step.MARK)
    assert [c.current_step for c in (village, town, county, marking)] == [1, 3, 6, 8]
    return {"village": village, "town": town, "county": county, "marking": marking}


def test_steps_become_overdue_the_day_after_their_levels_deadline_and_go_to_that_level(
    flow, clock, one_per_level, everyone
):
    cases = one_per_level
    village, town, county, marking = (cases[k].pk for k in ("village", "town", "county", "marking"))
    expected = [
        (VILLAGE_DEADLINE, set()),  # the deadline day itself is not late
        (VILLAGE_DEADLINE + datetime.timedelta(days=1), {(village, 1)}),
        (TOWN_DEADLINE, {(village, 1)}),
        (TOWN_DEADLINE + datetime.timedelta(days=1), {(village, 1), (town, 3)}),
        (COUNTY_DEADLINE + datetime.timedelta(days=1), {(village, 1), (town, 3), (county, 6)}),
        (MARKING_DEADLINE, {(village, 1), (town, 3), (county, 6)}),
        (MARKING_DEADLINE + datetime.timedelta(days=1), {(village, 1), (town, 3), (county, 6), (marking, 8)}),
    ]
    for day, overdue in expected:
        go_to(clock, day)
        overdue_scan()
        assert open_steps(OVERDUE) == overdue, day

    who = {
        step: recipients(alert_for(cases[level], step, OVERDUE))
        for level, step in [("village", 1), ("town", 3), ("county", 6), ("marking", 8)]
    }
    # Every account of the level's role and region: the flow's second town and county
    # officials (tom2, carol2) too.
    assert who == {1: {"alice"}, 3: {"tom", "tom2"}, 6: {"carol", "carol2"}, 8: {"carol", "carol2"}}
    for name in ("bob", "zed", "sam", "sue", "root"):
        # (sam, 汉滨区's education account, hears of the criteria left uncertified —
        # tests/notifications/test_certification_overdue.py — not of the steps.)
        assert not everyone[name].notifications.filter(alert__kind__in=[OVERDUE, AT_RISK]).exists(), name


def test_an_overdue_alert_links_to_its_case_and_names_its_deadline(flow, clock, alice):
    case = flow.enrol(certify=False)
    go_to(clock, D(2020, 10, 23))
    overdue_scan()

    alert = alert_for(case, Step.VERIFY, OVERDUE)
    assert (alert.link, alert.due_on, alert.level, alert.region_id) == (
        f"/exits/{case.pk}/",
        VILLAGE_DEADLINE,
        "village",
        case.village_id,
    )
    assert case.household.number in alert.title


def test_each_village_hears_about_its_own_cases(flow, clock, alice, bob, amy):
    mine = flow.enrol(certify=False)
    bobs = enrol_in(flow, VILLAGE_B, bob)
    amys = enrol_in(flow, VILLAGE_A2, amy)
    go_to(clock, D(2020, 10, 21))

    overdue_scan()

    assert recipients(alert_for(mine, 1, OVERDUE)) == {"alice"}
    assert recipients(alert_for(bobs, 1, OVERDUE)) == {"bob"}
    assert recipients(alert_for(amys, 1, OVERDUE)) == {"amy"}


def test_completing_the_step_clears_its_alert_on_the_next_scan(flow, clock, alice, tom):
    case = flow.enrol(certify=False)
    go_to(clock, D(2020, 10, 21))
    overdue_scan()
    step1 = alert_for(case, 1, OVERDUE)
    assert unread_count(user=alice) == 1

    flow.complete(case)  # step 1, late
    assert step1.is_open  # nothing changes until the scan runs
    result = overdue_scan()

    step1.refresh_from_db()
    assert not step1.is_open
    assert open_steps(OVERDUE) == {(case.pk, 2)}  # the next village step is late too
    assert result["overdue"] == {"raised": 1, "reopened": 0, "cleared": 1, "open": 1}
    assert unread_count(user=alice) == 1

    flow.complete(case)  # step 2: the case reaches the town, whose deadline is 10-31
    overdue_scan()
    assert open_steps(OVERDUE) == set()
    assert unread_count(user=alice) == 0
    assert Notification.objects.filter(user=alice).count() == 2  # kept as history


def test_a_case_sent_back_reopens_the_alert_of_the_step_it_must_do_again(flow, clock, alice, tom):
    case = flow.enrol(certify=False)
    go_to(clock, D(2020, 10, 21))
    overdue_scan()
    flow.complete(case)
    overdue_scan()
    flow.complete(case)
    overdue_scan()
    step2 = alert_for(case, 2, OVERDUE)
    assert not step2.is_open
    alice_note = step2.notifications.get(user=alice)
    alice_note.read_at = alice_note.alert.raised_at
    alice_note.save()

    services.case_return(by=tom, case=case, to_step=Step.APPRAISE, reason="评议记录缺签字")
    result = overdue_scan()

    assert result["overdue"]["reopened"] == 1
    step2.refresh_from_db()
    assert step2.is_open
    alice_note.refresh_from_db()
    assert alice_note.read_at is None
    assert Alert.objects.filter(key=step2.key).count() == 1


def test_exited_cases_and_closed_campaigns_are_not_flagged(flow, clock, campaign, alice):
    case = flow.enrol(certify=False)
    go_to(clock, D(2020, 10, 21))
    overdue_scan()
    assert open_steps(OVERDUE) == {(case.pk, 1)}

    campaign.is_active = False
    campaign.save()
    overdue_scan()

    assert open_steps(OVERDUE) == set()
    assert open_steps(AT_RISK) == set()


def test_running_the_scan_twice_gives_the_same_rows(flow, clock, one_per_level, bob):
    enrol_in(flow, VILLAGE_B, bob)
    go_to(clock, D(2020, 11, 4))  # village and town steps late; the county's idle since 10-19
    first = overdue_scan()
    assert first["overdue"]["raised"] > 0 and first["at_risk"]["raised"] > 0
    before = snapshot()

    second = overdue_scan()

    assert snapshot() == before
    for kind in ("overdue", "at_risk"):
        assert second[kind] == {"raised": 0, "reopened": 0, "cleared": 0, "open": first[kind]["open"]}


def test_an_open_overdue_alert_does_not_keep_a_stale_number_of_days(flow, clock, alice):
    case = flow.enrol(certify=False)
    with translation.override("zh-hans"):
        go_to(clock, D(2020, 10, 21))
        overdue_scan()
        title = alert_for(case, 1, OVERDUE).title
        assert title.endswith("已逾期（时限2020-10-20）")

        go_to(clock, D(2020, 11, 4))  # two weeks on, still not done
        overdue_scan()

    # The title names the deadline, which stays true, not a day count that would go stale.
    assert alert_for(case, 1, OVERDUE).title == title


# --- at risk ----------------------------------------------------------------------------------------------


def test_a_town_with_recent_completions_but_too_much_left_is_at_risk(flow, clock, alice, tom):
    """Two steps done in the last fortnight; four cases still need eight village steps in
    the eight days to 10-20: 8 × 14 / 2 = 56 days needed."""
    ahead = flow.enrol(certify=False)
    flow.bring_to(ahead, Step.CROSS_CHECK)
    behind = [flow.enrol(certify=False) for _ in range(4)]

    overdue_scan()

    assert open_steps(AT_RISK) == {(case.pk, 1) for case in behind}
    alert = alert_for(behind[0], 1, AT_RISK)
    assert (alert.level, alert.due_on, alert.link) == ("village", VILLAGE_DEADLINE, f"/exits/{behind[0].pk}/")
    assert recipients(alert) == {"alice"}
    # The case at the town's step: 2 steps at 2 per fortnight is 14 days, and 19 are left.
    assert (ahead.pk, 3) not in open_steps(AT_RISK)
    assert open_steps(OVERDUE) == set()


def test_a_town_keeping_pace_is_not_at_risk(flow, clock, alice, tom):
    """Six steps done in the last fortnight; one case needs two village steps in eight
    days (2 × 14 / 6 ≈ 4.7 days), three cases need six town steps in 19 (14 days)."""
    ahead = [flow.enrol(certify=False) for _ in range(3)]
    flow.bring_to(ahead, Step.CROSS_CHECK)
    flow.enrol(certify=False)

    overdue_scan()

    assert open_steps(AT_RISK) == set()


def test_the_pace_is_each_towns_own(flow, clock, alice, bob, tom):
    """Town A keeps pace; town B, which has done nothing, is eight days from the village
    deadline (within the idle horizon), so its case is at risk."""
    ahead = [flow.enrol(certify=False) for _ in range(3)]
    flow.bring_to(ahead, Step.CROSS_CHECK)
    flow.enrol(certify=False)
    idle = enrol_in(flow, VILLAGE_B, bob)

    overdue_scan()

    assert open_steps(AT_RISK) == {(idle.pk, 1)}
    assert recipients(alert_for(idle, 1, AT_RISK)) == {"bob"}


def test_an_idle_town_is_at_risk_once_the_deadline_is_within_the_idle_horizon(flow, clock, alice):
    assert IDLE_HORIZON_DAYS == 14
    clock.shift(-10)  # 10-02
    case = flow.enrol(certify=False)

    go_to(clock, VILLAGE_DEADLINE - datetime.timedelta(days=IDLE_HORIZON_DAYS + 1))
    overdue_scan()
    assert open_steps(AT_RISK) == set()

    go_to(clock, VILLAGE_DEADLINE - datetime.timedelta(days=IDLE_HORIZON_DAYS))
    overdue_scan()
    assert open_steps(AT_RISK) == {(case.pk, 1)}


def test_a_town_whose_completions_are_old_becomes_idle_near_its_deadline(flow, clock, alice, tom):
    """Steps 1–2 done on 10-12: on the day, 2 steps at 2 per fortnight fit in the 19 days
    left; a fortnight later nothing has been done since, and 10-31 is four days away."""
    case = flow.enrol(certify=False)
    flow.bring_to(case, Step.CROSS_CHECK)
    overdue_scan()
    assert open_steps(AT_RISK) == set()

    go_to(clock, D(2020, 10, 12) + datetime.timedelta(days=PACE_DAYS + 1))  # 10-27
    overdue_scan()

    assert open_steps(AT_RISK) == {(case.pk, 3)}
    alert = alert_for(case, 3, AT_RISK)
    assert (alert.level, alert.due_on) == ("town", TOWN_DEADLINE)
    assert recipients(alert) == {"tom", "tom2"}


def test_an_at_risk_alert_moves_on_with_the_case_and_gives_way_to_overdue(flow, clock, alice, bob):
    case = enrol_in(flow, VILLAGE_B, bob)  # town B: idle, eight days to go
    overdue_scan()
    assert open_steps(AT_RISK) == {(case.pk, 1)}

    flow.complete(case, by=bob)  # one step done: 1 × 14 / 1 = 14 days needed, 8 left
    overdue_scan()
    assert open_steps(AT_RISK) == {(case.pk, 2)}
    assert not alert_for(case, 1, AT_RISK).is_open

    go_to(clock, D(2020, 10, 21))
    overdue_scan()
    assert open_steps(AT_RISK) == set()
    assert open_steps(OVERDUE) == {(case.pk, 2)}


def test_at_the_marking_level_the_county_is_told(flow, clock, alice, tom, carol):
    case = flow.enrol()
    flow.bring_to(case, Step.MARK)  # 10-19
    go_to(clock, MARKING_DEADLINE - datetime.timedelta(days=IDLE_HORIZON_DAYS))  # 11-06: nothing done since 10-19
    overdue_scan()

    assert open_steps(AT_RISK) == {(case.pk, 8)}
    alert = alert_for(case, 8, AT_RISK)
    assert (alert.level, alert.due_on) == ("marking", MARKING_DEADLINE)
    assert recipients(alert) == {"carol", "carol2"}


# --- set-based, and one run at a time ---------------------------------------------------------------------


def test_the_number_of_queries_is_the_same_for_3_cases_as_for_15(flow, clock, alice, bob, amy, tom, carol):
    """Both runs start from no alerts and do the same things: raise the at-risk alerts on
    10-12, then on 10-21 raise the overdue alerts and clear the at-risk ones."""

    def enrol(n):
        people = [(None, alice), (VILLAGE_B, bob), (VILLAGE_A2, amy)]
        for i in range(n):
            village, by = people[i % 3]
            flow.enrol(ready_household(village) if village else None, by=by, certify=False)

    def measure() -> tuple[int, int]:
        go_to(clock, D(2020, 10, 12))
        with CaptureQueriesContext(connection) as raise_at_risk:
            overdue_scan()
        go_to(clock, D(2020, 10, 21))
        with CaptureQueriesContext(connection) as raise_overdue:
            result = overdue_scan()
        assert result["overdue"]["raised"] == result["at_risk"]["cleared"] > 0
        return len(raise_at_risk), len(raise_overdue)

    steps = Alert.objects.filter(kind__in=[OVERDUE, AT_RISK])
    enrol(3)
    with_3 = measure()
    assert steps.count() == 6

    Alert.objects.all().delete()
    go_to(clock, D(2020, 10, 12))
    enrol(12)
    with_15 = measure()
    assert steps.count() == 30

    assert with_15 == with_3


def test_the_task_skips_while_another_run_holds_the_lock(flow, clock, alice):
    flow.enrol(certify=False)
    go_to(clock, D(2020, 10, 21))
    other = acquire("exits.overdue_scan", ttl=datetime.timedelta(minutes=30))

    skipped = overdue_scan_task.apply().get()
    assert skipped["skipped"] is True and f"another run holds the lease ({other}" in skipped["reason"]
    assert not Alert.objects.exists()
    assert TaskLock.objects.get().holder == other  # the running scan keeps its lock

    release("exits.overdue_scan", other)
    result = overdue_scan_task.apply().get()
    assert result["overdue"]["raised"] == 1
    assert Alert.objects.filter(kind=OVERDUE).count() == 1
    assert not TaskLock.objects.exists()  # released after the run


def test_the_task_run_twice_is_the_scan_run_once(flow, clock, alice, tom):
    flow.enrol(certify=False)
    go_to(clock, D(2020, 10, 21))
    overdue_scan_task.apply().get()
    before = snapshot()

    again = overdue_scan_task.apply().get()

    assert again["overdue"]["raised"] == again["overdue"]["cleared"] == 0
    assert snapshot() == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: two connections running at once")
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_of_the_task_scan_once(flow, clock, alice, monkeypatch):
    """The first run is held in the middle of its scan while a second one starts on
    another connection: the second skips, and the alerts are raised once."""
    flow.enrol(certify=False)
    go_to(clock, D(2020, 10, 21))
    inside, finish = threading.Event(), threading.Event()

    def held_scan():
        inside.set()
        assert finish.wait(timeout=60)
        return overdue_scan()

    monkeypatch.setattr(exits_tasks, "overdue_scan", held_scan)
    results = {}

    def first():
        try:
            results["first"] = overdue_scan_task.apply().get()
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(timeout=60)
        results["second"] = overdue_scan_task.apply().get()
    finally:
        finish.set()
        thread.join(timeout=60)

    assert results["second"]["skipped"] is True and "another run holds the lease" in results["second"]["reason"]
    assert results["first"]["overdue"]["raised"] == 1
    assert Alert.objects.filter(kind=OVERDUE).count() == Notification.objects.filter(alert__kind=OVERDUE).count() == 1
    assert not TaskLock.objects.exists()


def test_the_pace_window_ends_on_the_day_scanned(flow, clock):
    """overdue_scan(today=…) reads the pace of the two weeks before that day, not before the
    real date: scanned for a day weeks ahead, nothing was done in its window."""
    case = flow.enrol()
    flow.bring_to(case, Step.MARK)  # steps 1–7 done by 10-19, the real date now
    ahead = MARKING_DEADLINE - datetime.timedelta(days=IDLE_HORIZON_DAYS)  # 11-06: idle since 10-19
    overdue_scan(today=ahead)
    assert open_steps(AT_RISK) == {(case.pk, 8)}
