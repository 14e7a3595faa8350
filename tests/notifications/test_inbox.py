"""The inbox (我的提醒) and the header badge (issue 6 point 6): each person sees only their
own notifications, the badge counts the unread ones still open, opening one marks it read
and goes to its case, and "all read" clears the badge."""

import datetime

import pytest
from django.utils import timezone

from exits.scans import overdue_scan
from notifications.models import Notification
from notifications.services import alerts_sync
from tests.html import element, elements, text
from tests.notifications.conftest import OVERDUE, alert_for, go_to, spec

pytestmark = pytest.mark.django_db

INBOX = "/notifications/"


def badge(page) -> int | str:
    """The unread count in the header ("99+" beyond 99); 0 when the badge is not shown."""
    found = elements(page, "span", data_testid="unread-count")
    if not found:
        return 0
    shown = found[0].text.split()[0]
    return shown if shown.endswith("+") else int(shown)


def titles(page) -> list[str]:
    return [item.text for item in elements(page, "button", "list-group-item-action")]


@pytest.fixture
def three(alice):
    """alice's inbox: 甲 open and unread, 乙 open and read, 丙 cleared (unread)."""
    alerts_sync(OVERDUE, [spec("a", title="甲户逾期"), spec("b", title="乙户逾期"), spec("c", title="丙户逾期")])
    alerts_sync(OVERDUE, [spec("a", title="甲户逾期"), spec("b", title="乙户逾期")])
    Notification.objects.filter(user=alice, alert__key="b").update(read_at=timezone.now())
    return {n.alert.key: n for n in Notification.objects.filter(user=alice).select_related("alert")}


def test_the_header_badge_counts_unread_open_notifications_on_every_page(client, alice, three):
    client.force_login(alice)
    for url in ("/", "/exits/", "/households/", INBOX):
        page = client.get(url)
        assert page.status_code == 200, url
        assert badge(page) == 1, url
    link = element(client.get("/"), "a", data_testid="inbox-link")
    assert link.attrs["href"] == INBOX


def test_no_badge_without_unread_notifications(client, alice, bob, three):
    client.force_login(bob)
    assert badge(client.get("/")) == 0
    assert elements(client.get("/"), "a", data_testid="inbox-link")  # the inbox itself is always there


def test_the_inbox_shows_open_notifications_by_default(client, alice, three):
    client.force_login(alice)
    page = client.get(INBOX)
    assert sorted(titles(page)) == sorted(titles(client.get(INBOX + "?show=open")))
    assert [t for t in ("甲户逾期", "乙户逾期", "丙户逾期") if any(t in shown for shown in titles(page))] == [
        "甲户逾期",
        "乙户逾期",
    ]


@pytest.mark.parametrize(
    ("show", "expected"),
    [("open", {"甲户逾期", "乙户逾期"}), ("unread", {"甲户逾期"}), ("all", {"甲户逾期", "乙户逾期", "丙户逾期"})],
)
def test_the_inbox_filters(client, alice, three, show, expected):
    client.force_login(alice)
    shown = titles(client.get(f"{INBOX}?show={show}"))
    assert {t for t in ("甲户逾期", "乙户逾期", "丙户逾期") if any(t in s for s in shown)} == expected
    assert len(shown) == len(expected)


def test_a_cleared_notification_is_shown_as_cleared(client, alice, three):
    client.force_login(alice)
    cleared = next(s for s in titles(client.get(f"{INBOX}?show=all")) if "丙户逾期" in s)
    assert "已解除" in cleared


def test_opening_a_notification_marks_it_read_and_goes_to_its_case(client, flow, clock, alice):
    case = flow.enrol(certify=False)
    go_to(clock, datetime.date(2020, 10, 21))
    overdue_scan()
    note = alert_for(case, 1, OVERDUE).notifications.get(user=alice)
    client.force_login(alice)
    assert badge(client.get(INBOX)) == 1
    actions = [f.attrs["action"] for f in elements(client.get(INBOX), "form") if "action" in f.attrs]
    assert f"/notifications/{note.pk}/" in actions

    response = client.post(f"/notifications/{note.pk}/")

    assert response.status_code == 302
    assert response["Location"] == f"/exits/{case.pk}/"
    assert client.get(response["Location"]).status_code == 200  # alice may see the case she is told about
    note.refresh_from_db()
    assert note.read_at == timezone.now()
    assert badge(client.get("/")) == 0
    assert titles(client.get(f"{INBOX}?show=unread")) == []
    assert len(titles(client.get(INBOX))) == 1  # still open: it stays in the inbox

    client.post(f"/notifications/{note.pk}/")
    note.refresh_from_db()
    assert note.read_at == timezone.now()  # opening it again keeps the first reading


def test_following_a_notification_by_get_changes_nothing(client, alice):
    # A link in an e-mail, a bookmark or a browser's prefetch: GET goes, never marks read.
    alerts_sync(OVERDUE, [spec("x", link="/exits/")])
    note = Notification.objects.get(user=alice)
    client.force_login(alice)
    response = client.get(f"/notifications/{note.pk}/")
    assert (response.status_code, response["Location"]) == (302, "/exits/")
    note.refresh_from_db()
    assert note.read_at is None
    assert badge(client.get(INBOX)) == 1


@pytest.mark.parametrize("link", ["", "https://evil.example/exits/1/", "//evil.example/"])
def test_a_notification_without_a_safe_link_goes_back_to_the_inbox(client, alice, link):
    alerts_sync(OVERDUE, [spec("x", link=link)])
    note = Notification.objects.get(user=alice)
    client.force_login(alice)

    response = client.post(f"/notifications/{note.pk}/")

    assert (response.status_code, response["Location"]) == (302, INBOX)
    note.refresh_from_db()
    assert note.read_at is not None


def test_all_read_clears_the_badge(client, alice, three):
    client.force_login(alice)
    assert client.get("/notifications/read-all/").status_code == 405  # a change needs a POST

    response = client.post("/notifications/read-all/")

    assert (response.status_code, response["Location"]) == (302, INBOX)
    assert not Notification.objects.filter(user=alice, read_at__isnull=True).exists()
    assert badge(client.get("/")) == 0
    assert titles(client.get(f"{INBOX}?show=unread")) == []


def test_all_read_touches_only_ones_own_notifications(client, alice, tom):
    alerts_sync(OVERDUE, [spec("v"), spec("t", level="town")])
    client.force_login(alice)
    client.post("/notifications/read-all/")
    assert Notification.objects.get(user=tom).read_at is None


def test_other_peoples_notifications_are_not_found(client, alice, tom, bob):
    alerts_sync(OVERDUE, [spec("v"), spec("t", level="town")])
    toms = Notification.objects.get(user=tom)
    client.force_login(alice)

    assert client.get(f"/notifications/{toms.pk}/").status_code == 404
    assert client.get("/notifications/999999/").status_code == 404

    toms.refresh_from_db()
    assert toms.read_at is None
    assert all("提醒 t" not in t for t in titles(client.get(f"{INBOX}?show=all")))
    client.force_login(bob)
    assert titles(client.get(f"{INBOX}?show=all")) == []


def test_a_supervisor_has_an_empty_inbox(client, everyone):
    alerts_sync(OVERDUE, [spec(f"{lvl}", level=lvl) for lvl in ("village", "town", "county", "marking")])
    client.force_login(everyone["sue"])

    page = client.get(f"{INBOX}?show=all")

    assert page.status_code == 200
    assert titles(page) == []
    assert "没有提醒" in text(page)
    assert badge(page) == 0


def test_the_inbox_needs_a_login(client, alice, three):
    for url in (INBOX, f"/notifications/{three['a'].pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url
    assert client.post("/notifications/read-all/").status_code == 302
    assert Notification.objects.filter(read_at__isnull=True).count() == 2


def test_the_inbox_pages_through_many_notifications(client, alice):
    alerts_sync(OVERDUE, [spec(f"k{i:02}") for i in range(35)])
    client.force_login(alice)
    first, second = client.get(INBOX), client.get(f"{INBOX}?page=2")
    assert (len(titles(first)), len(titles(second))) == (30, 5)
    assert badge(first) == 35


def test_the_badge_counts_to_99_and_then_says_99_plus(client, alice):
    alerts_sync(OVERDUE, [spec(f"k{i}", title=f"第{i}户逾期") for i in range(99)])
    client.force_login(alice)
    assert badge(client.get("/")) == 99
    alerts_sync(OVERDUE, [spec(f"k{i}", title=f"第{i}户逾期") for i in range(101)])
    assert badge(client.get("/")) == "99+"
    assert elements(client.get("/"), "span", data_testid="unread-count")[0].text == "99+ 条未读"
