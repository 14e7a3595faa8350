"""我的待办 on the home page and ``GET /api/v1/dashboard/todo/``: each person's groups
with the counts worked out in ``test_todo.py``, nothing from outside their region, the
notices the town is to publish and those the county may close, what a clear list and a
late group say, no section for those with nothing to do, and the API's numbers the same
as the page's."""

import pytest
from django.urls import reverse

from accounts.models import Role, Sector
from dashboards.todo import todo_for
from tests.conftest import COUNTY, VILLAGE_A, VILLAGE_B, make_user
from tests.dashboards.test_todo import (  # noqa: F401 - fixtures
    TODAY,
    TOWN_GROUPS,
    VILLAGE_GROUPS,
    case_at,
    criteria,
    exit_cases,
    monitoring,
    notices,
    objections,
    registry_problems,
    situations,
)
from tests.html import element, elements, text

pytestmark = pytest.mark.django_db

TODO_API = "/api/v1/dashboard/todo/"

# Each person's groups with work in them, counted by hand from the fixtures of
# test_todo.py (see each fixture's docstring); groups not listed are clear.
EXPECTED = {
    "alice": {
        "step-1": 3, "step-2": 2, "situations-investigate": 1, "monitoring-screening": 2, "measures": 2,
        "registry-no-head": 1, "registry-labour": 2, "registry-phone": 3, "registry-id": 2,
    },
    "bob": {
        "step-1": 1, "step-2": 1, "situations-investigate": 1, "monitoring-screening": 1, "measures": 1,
        "registry-no-head": 1, "registry-labour": 1, "registry-phone": 1, "registry-id": 1,
    },
    "tom": {
        "step-3": 3, "step-4": 1, "notice-publish": 2, "objections": 2, "monitoring-screening": 3, "measures": 3,
    },
    "carol": {
        "notice-close": 1, "objections": 2, "step-6": 1, "step-7": 1, "step-8": 2, "situations-decide": 2,
        "monitoring-assessment": 2,
    },
    "zed": {"notice-close": 1, "objections": 1, "step-6": 2, "situations-decide": 1, "monitoring-assessment": 1},
    "sam": {"certify": 1},  # B's 义务教育 is not met: nothing to certify
}  # fmt: skip


@pytest.fixture
def world(clock, exit_cases, notices, objections, situations, monitoring, registry_problems, criteria):  # noqa: F811
    """Every kind of work of test_todo.py at once, on 2020-10-12."""
    return {
        "exit_cases": exit_cases,
        "notices": notices,
        "monitoring": monitoring,
        "registry": registry_problems,
        "clock": clock,
    }


def cards(page) -> dict[str, int]:
    """The group cards of 我的待办, in order: key → the number on its badge."""
    keys = [
        card.attrs["data-testid"].removeprefix("todo-")
        for card in elements(page, "div", "card")
        if card.attrs.get("data-testid", "").startswith("todo-")
    ]
    badges = [int(badge.text) for badge in elements(page, "span", data_testid="todo-count")]
    assert len(keys) == len(badges)
    return dict(zip(keys, badges, strict=True))


def card(page, key):
    return element(page, "div", "card", data_testid=f"todo-{key}")


def home(client, user):
    client.force_login(user)
    page = client.get(reverse("home"))
    assert page.status_code == 200
    return page


# --- the home page ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["alice", "bob", "tom", "carol", "zed", "sam"])
def test_each_person_s_home_shows_her_groups_with_their_counts(client, request, world, who):
    page = home(client, request.getfixturevalue(who))
    assert cards(page) == EXPECTED[who]
    assert element(page, "section", data_testid="todo")


def test_the_groups_with_nothing_waiting_are_named_in_one_line(client, world, zed, tom):
    page = home(client, zed)
    clear = element(page, "p", data_testid="todo-clear").text
    assert clear == "以下各项暂无待办：待办理第7步：资料备案、待办理第8步：系统标注"
    # Tom has something in every group: no such line.
    assert elements(home(client, tom), "p", data_testid="todo-clear") == []


def test_the_town_sees_the_notices_to_publish_and_the_county_those_to_close(client, world, tom, carol):
    publish = card(home(client, tom), "notice-publish")
    assert publish.text.startswith("待发布公示 2")
    assert "时限 2020-11-10 · 还剩 29 天" in publish.text
    detail = {key: reverse("exits:detail", args=[case.pk]) for key, case in world["notices"].items()}
    assert {h for h in publish.hrefs if h.startswith("/exits/") and h.rstrip("/").split("/")[-1].isdigit()} == {
        detail["a_unpublished"],
        detail["a2_unpublished"],
    }  # not village B's (the other town), nor the published ones

    page = home(client, carol)
    close = card(page, "notice-close")
    assert close.text.startswith("公示期满待办结 1")
    assert detail["a_ended"] in close.hrefs
    assert not {detail[k] for k in ("a_running", "a_unpublished", "a2_unpublished", "b_unpublished")} & set(close.hrefs)
    assert "notice-publish" not in cards(page)

    world["clock"].shift(1)  # 10-13: the notice published on 10-06 has run its seven days
    assert cards(home(client, carol))["notice-close"] == 2


def test_a_town_with_nothing_to_do_names_all_its_groups(client, clock, campaign, tom):
    page = home(client, tom)
    assert element(page, "div", data_testid="todo-empty").text == "暂无待办事项。"
    groups = todo_for(user=tom, campaign=campaign, today=TODAY)
    assert [g.key for g in groups] == TOWN_GROUPS
    assert element(page, "p", data_testid="todo-clear").text == "以下各项暂无待办：" + "、".join(
        str(g.title) for g in groups
    )


def test_a_home_page_shows_nothing_from_another_village(client, world, alice):
    page = home(client, alice)
    links = [href for e in elements(page, "section", data_testid="todo") for href in e.hrefs]
    village_b = [c for cases in world["exit_cases"][VILLAGE_B].values() for c in cases]
    assert not {reverse("exits:detail", args=[c.pk]) for c in village_b} & set(links)
    section = element(page, "section", data_testid="todo").text
    assert not [c.household.number for c in village_b if c.household.number in section]
    # Her own step-1 cases are there, with their detail pages.
    assert {reverse("exits:detail", args=[c.pk]) for c in world["exit_cases"][VILLAGE_A][1]} <= set(links)


def test_a_group_says_how_long_is_left_and_a_late_one_how_late(client, world, alice, tom):
    assert "时限 2020-10-20 · 还剩 8 天" in card(home(client, alice), "step-1").text
    # Tom's monitoring: the earliest response deadline passed a week ago, for one of three.
    assert "时限 2020-10-05 · 已过 7 天（1 项逾期）" in card(home(client, tom), "monitoring-screening").text

    world["clock"].shift(13)  # 10-25
    step_1 = card(home(client, alice), "step-1").text
    assert "时限 2020-10-20 · 已过 5 天" in step_1
    assert "项逾期" not in step_1  # all three are late: the count says it


def test_a_long_group_shows_five_rows_its_full_count_and_a_link_to_all(client, world, campaign, alice):
    for _ in range(4):
        case_at(campaign, VILLAGE_A, 1, by=alice)
    step_1 = card(home(client, alice), "step-1")
    assert cards(home(client, alice))["step-1"] == 7
    listed = [href for href in step_1.hrefs if href.startswith("/exits/") and href.rstrip("/").split("/")[-1].isdigit()]
    assert len(listed) == 5
    assert "（此处列出 5 项，共 7 项）" in step_1.text
    assert f"{reverse('exits:list')}?campaign={campaign.pk}&step=1" in [h.replace("&amp;", "&") for h in step_1.hrefs]


def test_a_village_with_nothing_to_do_says_so(client, clock, campaign, alice):
    page = home(client, alice)
    assert element(page, "div", data_testid="todo-empty").text == "暂无待办事项。"
    assert cards(page) == {}
    clear = element(page, "p", data_testid="todo-clear").text
    assert clear.startswith("以下各项暂无待办：")
    groups = todo_for(user=alice, campaign=campaign, today=TODAY)
    assert [g.key for g in groups] == VILLAGE_GROUPS
    assert all(str(g.title) in clear for g in groups)


@pytest.mark.parametrize("who", ["sue", "root"])
def test_the_supervisor_and_the_administrator_have_no_todo_section(client, request, world, who):
    page = home(client, request.getfixturevalue(who))
    assert elements(page, "section", data_testid="todo") == []
    assert "我的待办" not in text(page)


def test_a_sector_without_a_criterion_has_no_todo_section(client, world):
    police = make_user("pat", Role.SECTOR, COUNTY, sector=Sector.PUBLIC_SECURITY)
    assert elements(home(client, police), "section", data_testid="todo") == []


def test_a_registry_problem_opens_the_edit_page_at_the_member(client, world, alice):
    page = home(client, alice)
    registry = world["registry"]
    for key, members in (("registry-labour", registry["idle"]), ("registry-id", registry["bad_ids"])):
        links = card(page, key).hrefs
        for member in members:
            link = reverse("households:edit", args=[member.household_id]) + f"#member-{member.pk}"
            assert link in links
            edit = client.get(link.split("#")[0])
            assert edit.status_code == 200
            assert element(edit, "fieldset", id=f"member-{member.pk}")
    headless = registry["headless"]
    assert reverse("households:edit", args=[headless.pk]) in card(page, "registry-no-head").hrefs
    assert client.get(reverse("households:edit", args=[headless.pk])).status_code == 200


# --- the API ----------------------------------------------------------------------------------


def summary(groups) -> list[tuple]:
    return [
        (g["key"], g["count"], g["late"], g["deadline"], g["days_left"], [r["url"] for r in g["rows"]]) for g in groups
    ]


@pytest.mark.parametrize("who", ["alice", "tom", "carol", "sam"])
def test_the_api_gives_the_same_groups_as_the_home_page(client, request, world, campaign, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    response = client.get(TODO_API)
    assert response.status_code == 200
    data = response.json()
    assert data["campaign"] == campaign.pk
    expected = [
        (g.key, g.count, g.late, g.deadline and g.deadline.isoformat(), g.days_left, [r.url for r in g.rows])
        for g in todo_for(user=user, campaign=campaign, today=TODAY)
    ]
    assert summary(data["groups"]) == expected
    assert {g["key"]: g["count"] for g in data["groups"] if g["count"]} == EXPECTED[who]


def test_the_api_says_which_are_late(client, world, tom):
    client.force_login(tom)
    screening = next(g for g in client.get(TODO_API).json()["groups"] if g["key"] == "monitoring-screening")
    assert (screening["count"], screening["late"], screening["deadline"], screening["days_left"]) == (
        3, 1, "2020-10-05", -7,
    )  # fmt: skip
    assert [row["due"] for row in screening["rows"]] == ["2020-10-05", "2020-10-15", "2020-10-20"]


def test_the_api_needs_a_login(client, world):
    response = client.get(TODO_API)
    assert response.status_code in (401, 403)
    assert "groups" not in response.json()


def test_without_a_campaign_the_api_still_gives_monitoring_and_the_registry(client, clock, registry_problems, alice):  # noqa: F811
    client.force_login(alice)
    data = client.get(TODO_API).json()
    assert data["campaign"] is None
    assert {g["key"]: g["count"] for g in data["groups"]} == {
        "monitoring-screening": 0, "measures": 0,
        "registry-no-head": 1, "registry-labour": 2, "registry-phone": 3, "registry-id": 2,
    }  # fmt: skip


def test_the_api_gives_the_supervisor_no_groups(client, world, sue):
    client.force_login(sue)
    assert client.get(TODO_API).json()["groups"] == []


def test_every_row_s_anchor_is_on_the_page_it_opens(client, campaign, world, alice, carol, sam):
    """A row that points into a page (#criteria, #objections, #measures, #member-N) lands
    on an element with that id."""
    checked = 0
    for person in (alice, carol, sam):
        client.force_login(person)
        for group in todo_for(user=person, campaign=campaign, today=TODAY):
            for row in group.rows:
                path, _sep, anchor = row.url.partition("#")
                if anchor:
                    assert f'id="{anchor}"' in client.get(path).content.decode(), row.url
                    checked += 1
    assert checked >= 4


@pytest.mark.parametrize("who", ["tom", "carol", "sam"])
def test_the_notice_and_certification_groups_open_a_list_of_exactly_their_cases(client, campaign, world, who, request):
    """待发布公示, 公示期满待办结 and 待达标认定 open the case list filtered to the same cases."""
    person = request.getfixturevalue(who)
    client.force_login(person)
    keys = ("notice-publish", "notice-close", "certify")
    groups = [g for g in todo_for(user=person, campaign=campaign, today=TODAY) if g.key in keys]
    assert groups and all(g.count for g in groups)
    for group in groups:
        listed = client.get(group.url).context["page"].paginator.count
        assert listed == group.count, group.key
