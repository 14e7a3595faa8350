"""Deleting what other records depend on is refused in words, on every path (issue 15, point 4).

陈大山's household is in the 2020 exit campaign and 陈小河's (exited in 2019) is
monitored against relapse: both cases must be kept, so neither household may be deleted.
alice, their village's cadre, tries through the API; root, the administrator, through
Django admin. The answer is a refusal that names what depends on the household, never a
500 (it used to be ``ProtectedError``), and the household keeps all its members.

Then the class of problem rather than the example: every ModelAdmin, every API route that
answers DELETE and every page that deletes, with a ``ProtectedError`` (or
``RestrictedError``) forced at the moment of the delete — as when a case is enrolled in
the same instant — answers with the refusal, and nothing is deleted. A new admin or a new
DELETE route fails here until it is given a row to try.
"""

import datetime
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db.models import ProtectedError, RestrictedError
from django.db.models.deletion import Collector
from django.db.models.signals import pre_delete
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from knox.models import AuthToken

from core.deletion import deletion_blockers
from core.errors import ProtectedRecords
from exits import services as exit_services
from exits.models import DEFAULT_STEP_LEVELS, Campaign, PriorExit
from households import services as registry_services
from households.models import ExitStatus, Household, Member, Relationship
from monitoring import services as monitoring_services
from monitoring.models import Channel
from regions.models import Region
from tests.conftest import VILLAGE_A, household_in
from tests.exits.conftest import campaign, clock, ready_household  # noqa: F401 - shared fixtures
from tests.households.conftest import edit_form_data
from tests.html import text

API = "/api/v1/households/"
KEPT = "这些记录须保留。"


def refused(household: Household, dependents: str) -> str:
    head = household.members.get(relationship=Relationship.HEAD)
    return f"不能删除户“{head.name}”（户编号 {household.number}）：还有{dependents}与之关联，{KEPT}"


def snapshot(household: Household) -> tuple:
    return (
        Household.objects.filter(pk=household.pk).exists(),
        sorted(Member.objects.filter(household_id=household.pk).values_list("name", flat=True)),
        household.incomes.count(),
        Member.history.filter(household_id=household.pk, history_type="-").count(),
    )


@pytest.fixture
def autumn_2020(request):
    """The exit campaign's ``clock`` and ``campaign`` (tests/exits/conftest.py)."""
    request.getfixturevalue("clock")
    return request.getfixturevalue("campaign")


@pytest.fixture
def chen_dashan(autumn_2020, alice):
    """In the 2020 exit campaign (enrolled by alice)."""
    household = ready_household(head="陈大山", son="陈小山")
    exit_services.case_enrol(by=alice, campaign=autumn_2020, household=household)
    return household


@pytest.fixture
def chen_xiaohe(autumn_2020, alice):
    """Exited in 2019, now monitored: 陈小河 declared a serious illness."""
    household = ready_household(head="陈小河", son="陈小溪", exit_status=ExitStatus.EXITED, exit_year=2019)
    monitoring_services.case_report(
        by=alice, household=household, channel=Channel.SELF_DECLARED, risk_types=["illness"], description="户主突发重病"
    )
    return household


@pytest.fixture
def deletes():
    """Every row Django was about to delete (pre_delete), even in a rolled-back transaction."""
    seen = []

    def record(sender, instance, **kwargs):
        seen.append(instance)

    pre_delete.connect(record, dispatch_uid="test_protected_delete")
    yield seen
    pre_delete.disconnect(dispatch_uid="test_protected_delete")


# --- the example: a household with an exit case, one with a monitoring case -------------------


@pytest.mark.parametrize(("name", "dependents"), [("chen_dashan", "1个退出案件"), ("chen_xiaohe", "1个监测对象")])
def test_the_api_refuses_to_delete_a_household_that_cases_depend_on(request, client, alice, name, dependents):
    household = request.getfixturevalue(name)
    before = snapshot(household)
    client.force_login(alice)

    response = client.delete(f"{API}{household.pk}/")

    assert response.status_code == 409
    assert response.json()["detail"] == refused(household, dependents)
    assert snapshot(household) == before


def test_the_service_refuses_before_it_deletes_anything(chen_dashan, alice, deletes):
    with pytest.raises(ProtectedRecords) as caught:
        registry_services.household_delete(by=alice, household=chen_dashan)

    assert caught.value.messages == [refused(chen_dashan, "1个退出案件")]
    assert deletes == []  # not even a member, later rolled back


def test_it_counts_every_kind_of_record_in_the_way(chen_dashan, alice):
    # 陈小山 moved to his uncle's: the transfer names the household he left.
    uncle = household_in(VILLAGE_A)
    son = chen_dashan.members.get(name="陈小山")
    registry_services.member_transfer(
        by=alice, member=son, to_household=uncle, relationship=Relationship.OTHER, reason="投亲"
    )

    with pytest.raises(ProtectedRecords) as caught:
        registry_services.household_delete(by=alice, household=chen_dashan)

    assert caught.value.messages == [refused(chen_dashan, "1个退出案件、1个成员转移")]


def test_it_still_deletes_a_household_nothing_depends_on(client, alice, registry):
    household = registry[VILLAGE_A][1]
    client.force_login(alice)

    assert client.delete(f"{API}{household.pk}/").status_code == 204
    assert not Household.objects.filter(pk=household.pk).exists()


def test_admin_never_deletes_a_household_that_cases_depend_on(client, root, chen_dashan, chen_xiaohe):
    client.force_login(root)
    before = [snapshot(chen_dashan), snapshot(chen_xiaohe)]
    changelist = reverse("admin:households_household_changelist")

    for household in (chen_dashan, chen_xiaohe):
        url = reverse("admin:households_household_delete", args=[household.pk])
        assert client.get(url).status_code == 403  # the registry is read-only in admin
        assert client.post(url, {"post": "yes"}).status_code == 403
    bulk = client.post(
        changelist, {"action": "delete_selected", "_selected_action": [chen_dashan.pk, chen_xiaohe.pk], "post": "yes"}
    )

    assert bulk.status_code < 500
    assert [snapshot(chen_dashan), snapshot(chen_xiaohe)] == before


def test_admin_shows_what_protects_a_campaign_and_a_village_and_keeps_them(client, root, chen_dashan, autumn_2020):
    client.force_login(root)

    for model, obj in ((Campaign, autumn_2020), (Region, Region.objects.get(code=VILLAGE_A))):
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_delete", args=[quote(obj.pk)])
        page = client.get(url)
        assert page.status_code == 200
        assert "无法删除" in text(page)  # Django admin's "cannot delete" page, naming what is in the way
        assert client.post(url, {"post": "yes"}).status_code == 200
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        bulk = client.post(changelist, {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
        assert bulk.status_code == 200
        assert model.objects.filter(pk=obj.pk).exists()


# --- the class: whatever reaches ProtectedError answers with a refusal --------------------------


@pytest.fixture(params=[ProtectedError, RestrictedError])
def dependents_appear(request, monkeypatch, chen_dashan):
    """``arm()`` makes every delete from then on run into PROTECT (or RESTRICT), whatever
    was checked before it: 陈大山's exit case stands for a record that appeared in the same
    instant. It returns the refusal the user should read. (Armed after logging in, which
    may delete a session or lockout rows of its own.)"""
    case = chen_dashan.exit_cases.get()

    def delete(self):
        raise request.param("forced by the test", {case})

    def arm() -> str:
        monkeypatch.setattr(Collector, "delete", delete)
        return f"不能删除该记录：还有1个退出案件与之关联，{KEPT}"

    return arm


def still_there(row) -> bool:
    # By the primary key column (an AuthToken's is its digest).
    pk = row._meta.pk.attname
    return type(row)._base_manager.filter(**{pk: getattr(row, pk)}).exists()


def api_routes_that_delete() -> set[str]:
    """Names of every URL whose view answers DELETE (viewset routes and plain API views)."""

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern):
                yield namespace, pattern

    found = set()
    for namespace, pattern in walk(get_resolver().url_patterns):
        view = pattern.callback
        cls = getattr(view, "cls", None)
        if cls is None:
            continue
        actions = getattr(view, "actions", None)
        allows = "delete" in actions if actions is not None else hasattr(cls, "delete")
        if allows and "delete" in cls.http_method_names:
            found.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
    return found


def _household(world):
    return household_in(VILLAGE_A)


def _member(world):
    return household_in(VILLAGE_A, members=2).members.get(relationship=Relationship.SON)


# A row alice may delete through each route, with nothing depending on it.
API_DELETES = {"household-detail": _household, "member-detail": _member}


def test_every_api_route_that_deletes_is_tried_below():
    assert api_routes_that_delete() == set(API_DELETES)


@pytest.mark.parametrize("route", sorted(API_DELETES))
def test_no_api_delete_lets_a_protected_error_through(client, alice, dependents_appear, route):
    row = API_DELETES[route](None)
    client.force_login(alice)
    message = dependents_appear()

    response = client.delete(reverse(route, args=[row.pk]))

    assert response.status_code == 409
    assert response.json()["detail"] == message
    assert still_there(row)


def test_a_page_that_deletes_goes_back_to_the_form_with_the_refusal(client, alice, dependents_appear):
    household = household_in(VILLAGE_A, members=2)
    son = household.members.get(relationship=Relationship.SON)
    edit = f"/households/{household.pk}/edit/"
    post = edit_form_data(household)
    index = next(i for i in range(2) if post[f"members-{i}-id"] == son.pk)
    post[f"members-{index}-DELETE"] = "on"
    client.force_login(alice)
    message = dependents_appear()

    response = client.post(edit, post, headers={"referer": f"http://testserver{edit}"})

    assert response.status_code == 302
    assert response.url == f"http://testserver{edit}"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [message]
    assert Member.objects.filter(pk=son.pk).exists()

    # Without a Referer to go back to (or from another site): a page that says it.
    for headers in ({}, {"referer": f"https://elsewhere.example{edit}"}):
        response = client.post(edit, post, headers=headers)
        assert response.status_code == 409
        assert message in text(response)
    assert Member.objects.filter(pk=son.pk).exists()


# One row per registered ModelAdmin, with nothing depending on it, for root to delete.
ADMIN_ROWS = {
    "auth.Group": lambda w: Group.objects.create(name="测试组"),
    "knox.AuthToken": lambda w: AuthToken.objects.create(user=w["bob"])[0],
    "axes.AccessAttempt": lambda w: AccessAttempt.objects.create(
        username="x",
        user_agent="t",
        http_accept="*/*",
        path_info="/",
        get_data="",
        post_data="",
        failures_since_start=1,
    ),  # fmt: skip
    "axes.AccessLog": lambda w: AccessLog.objects.create(
        username="x", user_agent="t", http_accept="*/*", path_info="/"
    ),
    "axes.AccessFailureLog": lambda w: AccessFailureLog.objects.create(
        username="x", user_agent="t", http_accept="*/*", path_info="/"
    ),
    "django_celery_beat.PeriodicTask": lambda w: PeriodicTask.objects.create(
        name="测试任务", task="exits.overdue_scan", interval=IntervalSchedule.objects.create(every=2, period="days")
    ),
    "django_celery_beat.ClockedSchedule": lambda w: ClockedSchedule.objects.create(clocked_time=timezone.now()),
    "django_celery_beat.CrontabSchedule": lambda w: CrontabSchedule.objects.create(minute="7"),
    "django_celery_beat.SolarSchedule": lambda w: SolarSchedule.objects.create(
        event="sunrise", latitude=Decimal("32.68"), longitude=Decimal("109.02")
    ),
    "django_celery_beat.IntervalSchedule": lambda w: IntervalSchedule.objects.create(every=3, period="days"),
    "accounts.User": lambda w: w["bob"],
    "regions.Region": lambda w: Region.objects.get(code="610902102202"),  # a village with nothing in it
    "households.Household": lambda w: household_in(VILLAGE_A),
    "households.Member": lambda w: household_in(VILLAGE_A, members=2).members.get(relationship=Relationship.SON),
    "exits.Campaign": lambda w: Campaign.objects.create(
        year=2021,
        name="2021年度贫困户退出",
        income_line=Decimal("4200"),
        village_deadline=datetime.date(2021, 10, 20),
        town_deadline=datetime.date(2021, 10, 31),
        county_deadline=datetime.date(2021, 11, 10),
        marking_deadline=datetime.date(2021, 11, 20),
        step_levels=dict(DEFAULT_STEP_LEVELS),
    ),  # fmt: skip
    "exits.ExitCase": lambda w: w["case"],
    "exits.PriorExit": lambda w: PriorExit.objects.create(
        household=household_in(VILLAGE_A, exit_status=ExitStatus.EXITED, exit_year=2015),
        year=2015,
        document="汉滨脱贫〔2015〕1号",
        recorded_by=w["root"],
    ),  # fmt: skip
}
REGISTERED = sorted(model._meta.label for model in admin.site._registry)


def test_every_model_admin_is_tried_below():
    assert sorted(ADMIN_ROWS) == REGISTERED


@pytest.mark.parametrize("label", REGISTERED)
def test_no_admin_delete_lets_a_protected_error_through(client, root, bob, chen_dashan, dependents_appear, label):
    row = ADMIN_ROWS[label]({"bob": bob, "root": root, "case": chen_dashan.exit_cases.get()})
    model = type(row)
    model_admin = admin.site._registry[model]
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    changelist = reverse(f"{name}_changelist")
    url = reverse(f"{name}_delete", args=[quote(row.pk)])
    client.force_login(root)
    request = client.get(changelist).wsgi_request
    may_delete = model_admin.has_delete_permission(request, row)
    offers_bulk = "delete_selected" in model_admin.get_actions(request)  # DRF's TokenAdmin has no actions
    message = dependents_appear()

    single = client.post(url, {"post": "yes"}, headers={"referer": f"http://testserver{url}"})
    bulk = client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
        headers={"referer": f"http://testserver{changelist}"},
    )

    assert still_there(row)
    assert single.status_code == (302 if may_delete else 403)
    assert bulk.status_code < 500
    for response, tried in ((single, may_delete), (bulk, offers_bulk)):
        if tried:
            assert response.status_code == 302
            assert message in [str(m) for m in get_messages(response.wsgi_request)]


def test_admin_refuses_every_row_that_others_depend_on(client, root, chen_dashan, chen_xiaohe):
    """Without forcing: every row of the story that has dependents, in every admin, is kept."""
    client.force_login(root)
    tried = 0
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        for row in model._default_manager.order_by("pk")[:3]:
            if not deletion_blockers(row):
                continue
            tried += 1
            single = client.post(reverse(f"{name}_delete", args=[quote(row.pk)]), {"post": "yes"})
            bulk = client.post(
                reverse(f"{name}_changelist"),
                {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"},
            )
            assert single.status_code in (200, 403), (model, row)
            assert bulk.status_code < 500, (model, row)
            assert model._default_manager.filter(pk=row.pk).exists(), (model, row)
    assert tried >= 5  # users, regions, households, members' households, the campaign
