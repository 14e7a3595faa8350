"""Certification overdue (exits/scans.py ``certification_overdue``; DOMAIN.md §3, issue 14):
certification has its own deadline — the campaign's ``certification_deadline``, by default
the village deadline (10-20). Once it has passed, the criteria of cases in progress still
waiting for their sector (measured as met, not certified) are raised as one alert per
campaign, county and sector, naming how many wait, delivered to that county's accounts of
that sector only; the count follows the certifications and the alert clears with the last.

In 汉滨区 the five ``certifiers`` (one account per criterion's sector) and sam (教育) wait on
the cases of villages A and B; in 汉阴县, ``han_yin_education`` on olga's case.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import Role, Sector
from exits import services
from exits.models import Criterion, CriterionResult
from exits.scans import overdue_scan
from households.models import Member, Relationship
from notifications.models import Alert, AlertKind
from notifications.services import AlertSpec, alerts_sync, notification_read
from tests.conftest import COUNTY, OTHER_COUNTY, OTHER_COUNTY_VILLAGE, VILLAGE_B, make_user
from tests.exits.conftest import olga, ready_household  # noqa: F401 - fixture
from tests.notifications.conftest import go_to, recipients, snapshot

pytestmark = pytest.mark.django_db

D = datetime.date
CERTIFICATION = AlertKind.CERTIFICATION_OVERDUE
DAY_AFTER_VILLAGE_DEADLINE = D(2020, 10, 21)
SECTORS = (Sector.POVERTY_STATISTICS, Sector.HOUSING, Sector.EDUCATION, Sector.HEALTH, Sector.WATER)


@pytest.fixture
def han_yin_education(regions):
    return make_user("hy_edu", Role.SECTOR, OTHER_COUNTY, sector=Sector.EDUCATION, full_name="汉阴教育")


@pytest.fixture
def waiting(flow, alice, bob, olga):  # noqa: F811
    """Three cases in 汉滨区 (two in village A, one in B) and one in 汉阴县, none certified,
    every criterion measured as met."""
    cases = {
        "a1": flow.enrol(certify=False),
        "a2": flow.enrol(certify=False),
        "b": flow.enrol(ready_household(VILLAGE_B), by=bob, certify=False),
        "x": flow.enrol(ready_household(OTHER_COUNTY_VILLAGE), by=olga, certify=False),
    }
    for case in cases.values():
        assert set(case.criteria.values_list("result", flat=True)) == {CriterionResult.MET}
    return cases


def certify(flow, case, criterion):
    check = case.criteria.get(criterion=criterion)
    services.criterion_certify(by=flow.certifiers[criterion], check=check, note="数据比对一致")


def open_alerts() -> dict[str, Alert]:
    """The open certification alerts by key."""
    return {a.key: a for a in Alert.objects.filter(kind=CERTIFICATION, cleared_at__isnull=True)}


def key(campaign, county, sector) -> str:
    return f"certification:{campaign.pk}:{county[:6]}:{sector}"


def test_nothing_is_overdue_until_the_day_after_the_certification_deadline(flow, clock, campaign, waiting):
    go_to(clock, D(2020, 10, 20))  # the village deadline, the default certification deadline
    overdue_scan()
    assert open_alerts() == {}

    go_to(clock, DAY_AFTER_VILLAGE_DEADLINE)
    overdue_scan()
    assert set(open_alerts()) == {
        key(campaign, county, sector) for county in (COUNTY, OTHER_COUNTY) for sector in SECTORS
    }


def test_one_alert_per_county_and_sector_names_the_count_and_reaches_that_sector_only(
    flow, clock, campaign, waiting, everyone, han_yin_education
):
    go_to(clock, DAY_AFTER_VILLAGE_DEADLINE)
    with translation.override("zh-hans"):
        overdue_scan()

    alert = open_alerts()[key(campaign, COUNTY, Sector.EDUCATION)]
    assert alert.title == "2020年度贫困户退出：3项“义务教育”待教育部门达标认定，已过认定时限（2020-10-20）"
    assert (alert.region_id, alert.level, alert.sector, alert.due_on) == (
        COUNTY,
        "county",
        Sector.EDUCATION,
        D(2020, 10, 20),
    )
    assert alert.link == f"/exits/?campaign={campaign.pk}&uncertified=education"
    # 汉滨区's education accounts, and nobody else: not the county office, the villages,
    # the town, the other sectors, nor 汉阴县's education account.
    assert recipients(alert) == {"sector_education", "sam"}
    housing = open_alerts()[key(campaign, COUNTY, Sector.HOUSING)]
    assert recipients(housing) == {"sector_housing"}
    other = open_alerts()[key(campaign, OTHER_COUNTY, Sector.EDUCATION)]
    assert "1项“义务教育”" in other.title
    assert recipients(other) == {"hy_edu"}
    for name in ("alice", "bob", "tom", "carol", "zed", "sue", "root"):
        assert not everyone[name].notifications.filter(alert__kind=CERTIFICATION).exists(), name


def test_the_count_follows_the_certifications_and_the_alert_clears_with_the_last(flow, clock, campaign, waiting, sam):
    go_to(clock, DAY_AFTER_VILLAGE_DEADLINE)
    overdue_scan()
    education = key(campaign, COUNTY, Sector.EDUCATION)
    note = sam.notifications.get(alert__key=education)
    notification_read(user=sam, notification_id=note.pk)

    certify(flow, waiting["a1"], Criterion.EDUCATION)
    with translation.override("zh-hans"):
        overdue_scan()
    alert = open_alerts()[education]
    assert "2项“义务教育”" in alert.title
    # Still the same alert, still read: a smaller count is no news.
    note.refresh_from_db()
    assert note.alert_id == alert.pk and note.read_at is not None

    certify(flow, waiting["a2"], Criterion.EDUCATION)
    certify(flow, waiting["b"], Criterion.EDUCATION)
    result = overdue_scan()["certification"]
    assert education not in open_alerts()
    assert result["cleared"] == 1
    # The other sectors of 汉滨区 still wait.
    assert key(campaign, COUNTY, Sector.WATER) in open_alerts()


def test_the_campaign_s_own_certification_deadline_counts(flow, clock, campaign, waiting):
    campaign.certification_deadline = D(2020, 10, 25)
    campaign.save()
    go_to(clock, D(2020, 10, 25))
    overdue_scan()
    assert open_alerts() == {}

    go_to(clock, D(2020, 10, 26))
    overdue_scan()
    alert = open_alerts()[key(campaign, COUNTY, Sector.EDUCATION)]
    assert alert.due_on == D(2020, 10, 25) and "2020-10-25" in alert.title


def test_a_moved_certification_deadline_clears_the_alerts(flow, clock, campaign, waiting):
    go_to(clock, DAY_AFTER_VILLAGE_DEADLINE)
    overdue_scan()
    assert open_alerts()
    campaign.certification_deadline = D(2020, 10, 30)
    campaign.save()
    overdue_scan()
    assert open_alerts() == {}


def test_a_criterion_not_met_waits_on_the_village_not_on_the_sector(flow, clock, campaign, alice):
    """A child out of school: 义务教育 is 未达标, which nobody can certify until the
    data changes; the education sector is not told about it."""
    household = ready_household()
    Member.objects.filter(household=household, relationship=Relationship.SON).update(schooling="", education="primary")
    case = flow.enrol(household, certify=False)
    assert case.criteria.get(criterion=Criterion.EDUCATION).result == CriterionResult.NOT_MET
    go_to(clock, DAY_AFTER_VILLAGE_DEADLINE)
    overdue_scan()
    assert key(campaign, COUNTY, Sector.EDUCATION) not in open_alerts()
    assert key(campaign, COUNTY, Sector.HOUSING) in open_alerts()


def test_closed_campaigns_are_not_flagged(flow, clock, campaign, waiting):
    campaign.is_active = False
    campaign.save()
    go_to(clock, DAY_AFTER_VILLAGE_DEADLINE)
    overdue_scan()
    assert open_alerts() == {}


def test_running_the_scan_twice_changes_nothing(flow, clock, campaign, waiting):
    go_to(clock, DAY_AFTER_VILLAGE_DEADLINE)
    first = overdue_scan()["certification"]
    before = snapshot()
    second = overdue_scan()["certification"]
    assert snapshot() == before
    assert first == {"raised": 10, "reopened": 0, "cleared": 0, "open": 10}
    assert second == {"raised": 0, "reopened": 0, "cleared": 0, "open": 10}


def test_the_number_of_queries_is_the_same_for_3_cases_as_for_15(flow, clock, campaign, certifiers):
    def run(count):
        for _ in range(count):
            flow.enrol(certify=False)
        go_to(clock, DAY_AFTER_VILLAGE_DEADLINE)
        overdue_scan()  # raise
        certify(flow, flow.campaign.cases.order_by("pk").first(), Criterion.EDUCATION)
        with CaptureQueriesContext(connection) as captured:
            overdue_scan()  # a count changes: one alert reworded
        return len(captured)

    three = run(3)
    Alert.objects.all().delete()
    for case in campaign.cases.all():
        case.criteria.all().delete()
        case.delete()
    go_to(clock, D(2020, 10, 12))
    fifteen = run(15)
    assert three == fifteen


# --- delivery by sector (notifications.services) -------------------------------------------------


def test_an_alert_for_a_sector_goes_to_that_sector_s_active_accounts_of_the_region(
    certifiers, sam, carol, han_yin_education
):
    make_user("old_edu", Role.SECTOR, COUNTY, sector=Sector.EDUCATION, is_active=False)
    spec = AlertSpec(key="k", region_code=COUNTY, level="county", title="待认定", sector=Sector.EDUCATION)
    alerts_sync(CERTIFICATION, [spec])
    assert recipients(Alert.objects.get(key="k")) == {"sector_education", "sam"}


def test_a_sector_alert_raised_from_a_village_reaches_its_county_s_sector(certifiers, sam):
    spec = AlertSpec(key="k", region_code="610902101201", level="county", title="待认定", sector=Sector.WATER)
    alerts_sync(CERTIFICATION, [spec])
    assert recipients(Alert.objects.get(key="k")) == {"sector_water"}


def test_a_reopened_sector_alert_reaches_the_sector_again(certifiers, sam):
    spec = AlertSpec(key="k", region_code=COUNTY, level="county", title="待认定", sector=Sector.EDUCATION)
    alerts_sync(CERTIFICATION, [spec])
    alerts_sync(CERTIFICATION, [])
    newcomer = make_user("new_edu", Role.SECTOR, COUNTY, sector=Sector.EDUCATION)
    assert alerts_sync(CERTIFICATION, [spec])["reopened"] == 1
    assert recipients(Alert.objects.get(key="k")) == {"sector_education", "sam", newcomer.username}


def test_without_reword_an_open_alert_keeps_its_wording(regions):
    first = AlertSpec(key="k", region_code=COUNTY, level="county", title="3项待认定")
    alerts_sync(CERTIFICATION, [first])
    alerts_sync(CERTIFICATION, [AlertSpec(key="k", region_code=COUNTY, level="county", title="2项待认定")])
    assert Alert.objects.get(key="k").title == "3项待认定"
    alerts_sync(
        CERTIFICATION,
        [AlertSpec(key="k", region_code=COUNTY, level="county", title="2项待认定", due_on=D(2020, 10, 25))],
        reword=True,
    )
    alert = Alert.objects.get(key="k")
    assert (alert.title, alert.due_on) == ("2项待认定", D(2020, 10, 25))
