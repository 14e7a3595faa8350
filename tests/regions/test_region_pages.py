"""The home page and a region's page show only what lies in the viewer's scope."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households.models import ExitStatus
from tests.conftest import (
    CITY,
    COUNTY,
    OTHER_COUNTY,
    TOWN_A,
    TOWN_B,
    VILLAGE_A,
    VILLAGE_A2,
    VILLAGE_B,
    household_in,
)
from tests.html import breadcrumb, element, elements, text


def region_url(code):
    return f"/regions/{code}/"


def household_count(response):
    """The big "贫困户" number on a home page."""
    return int(element(response, "div", data_testid="count-households").text.replace(",", ""))


def summary_cards(response):
    """The four summary cards of a region page, as one line of visible text."""
    match = re.search(r"贫困户 [\d,]+ 家庭成员 [\d,]+ 未脱贫户 [\d,]+ 已脱贫户 [\d,]+", text(response))
    assert match, "no summary cards"
    return match.group(0)


def child_rows(response):
    """The children table: [(name, households, not exited)]."""
    rows = []
    for row in elements(response, "tr"):
        if not any(href.startswith("/regions/") for href in row.hrefs):
            continue
        name, _code, total, not_exited, *_ = row.text.split()
        rows.append((name, int(total.replace(",", "")), int(not_exited.replace(",", ""))))
    return rows


def test_it_shows_a_village_cadre_her_own_village(client, alice, registry):
    client.force_login(alice)
    response = client.get(region_url(VILLAGE_A))
    assert response.status_code == 200
    assert [h1.text for h1 in elements(response, "h1")] == ["西关村"]
    assert summary_cards(response) == "贫困户 3 家庭成员 4 未脱贫户 2 已脱贫户 1"


@pytest.mark.parametrize("code", [VILLAGE_A2, TOWN_A, COUNTY, CITY, VILLAGE_B], ids=lambda c: c)
def test_it_hides_every_other_region_from_a_village_cadre(client, alice, registry, code):
    client.force_login(alice)
    response = client.get(region_url(code))
    assert response.status_code == 404
    # The 404 page says why in Chinese, and does not leak the region's name.
    page = text(response)
    assert "不在您的管辖范围内" in page
    assert "红沟村" not in page and "银滩镇" not in page


def test_it_hides_another_county_from_a_county_official(client, carol, regions):
    client.force_login(carol)
    assert client.get(region_url(OTHER_COUNTY)).status_code == 404
    assert client.get(region_url(COUNTY)).status_code == 200


def test_it_returns_404_for_a_code_that_does_not_exist(client, root, regions):
    client.force_login(root)
    assert client.get(region_url("619999999999")).status_code == 404


def test_it_sends_an_anonymous_visitor_to_the_login_page(client, regions):
    response = client.get(region_url(VILLAGE_A))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_redirects_the_region_index_to_the_users_own_region(client, tom, root, regions):
    client.force_login(tom)
    assert client.get("/regions/")["Location"] == region_url(TOWN_A)
    client.force_login(root)
    assert client.get("/regions/")["Location"] == region_url(CITY)


@pytest.mark.parametrize(
    ("who", "households"),
    [("alice", 3), ("bob", 1), ("tom", 5), ("carol", 6), ("sam", 6), ("zed", 1), ("sue", 7), ("root", 7)],
)
def test_it_counts_only_the_users_scope_on_the_home_page(client, everyone, registry, who, households):
    client.force_login(everyone[who])
    assert household_count(client.get("/")) == households


def test_it_counts_a_towns_villages_separately(client, tom, registry):
    client.force_login(tom)
    response = client.get(region_url(TOWN_A))
    assert summary_cards(response) == "贫困户 5 家庭成员 6 未脱贫户 4 已脱贫户 1"
    assert child_rows(response) == [("龙溪社区", 0, 0), ("西关村", 3, 2), ("红沟村", 2, 2)]


def test_it_lists_a_countys_towns_with_their_counts(client, carol, registry):
    client.force_login(carol)
    rows = child_rows(client.get(region_url(COUNTY)))
    assert [name for name, *_ in rows] == ["黄湖街道", "松河街道", "银滩镇", "花溪镇"]
    assert {name: total for name, total, _ in rows} == {"黄湖街道": 0, "松河街道": 0, "银滩镇": 5, "花溪镇": 1}


def test_it_shows_the_path_from_the_city_without_links_above_the_users_scope(client, alice, regions):
    client.force_login(alice)
    trail = breadcrumb(client.get(region_url(VILLAGE_A)))
    assert trail == [("安康市", False), ("汉滨区", False), ("银滩镇", False), ("西关村", False)]


def test_it_links_the_breadcrumb_within_the_users_scope(client, carol, regions):
    client.force_login(carol)
    trail = breadcrumb(client.get(region_url(VILLAGE_A)))
    # The city is above carol's county: plain text. The page's own region is not a link.
    assert trail == [("安康市", False), ("汉滨区", True), ("银滩镇", True), ("西关村", False)]
    links = [item.hrefs for item in elements(client.get(region_url(VILLAGE_A)), "li", "breadcrumb-item")]
    assert links == [[], [region_url(COUNTY)], [region_url(TOWN_A)], []]


def test_it_shows_the_change_history_panel(client, root, regions):
    client.force_login(root)
    panel = element(client.get(region_url(TOWN_B)), "section", id="history").text
    assert panel.startswith("变更记录")
    # The region was created by the loader, not by a person.
    assert "创建" in panel and "系统" in panel


def make_households(count):
    """``count`` more households over three villages of two towns, mixed exit states."""
    villages = [VILLAGE_A, VILLAGE_A2, VILLAGE_B]
    for i in range(count):
        exited = i % 3 == 0
        household_in(
            villages[i % 3],
            members=1 + i % 3,
            exit_status=ExitStatus.EXITED if exited else ExitStatus.NOT_EXITED,
            exit_year=2019 if exited else None,
        )


@pytest.mark.parametrize("code", [COUNTY, TOWN_A, VILLAGE_A])
def test_it_renders_a_region_page_in_the_same_number_of_queries_whatever_the_data(client, carol, regions, code):
    client.force_login(carol)
    make_households(3)
    with CaptureQueriesContext(connection) as small:
        assert client.get(region_url(code)).status_code == 200
    make_households(30)
    with CaptureQueriesContext(connection) as large:
        assert client.get(region_url(code)).status_code == 200
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


def test_it_renders_a_region_page_in_a_handful_of_queries(client, carol, registry, django_assert_max_num_queries):
    client.force_login(carol)
    # session, user, region, path, summary (tally + 3 live), children (tallies + 2 live),
    # history, the alerts badge: about a dozen, never one per row.
    with django_assert_max_num_queries(15):
        client.get(region_url(COUNTY))


def test_it_renders_the_home_page_in_the_same_number_of_queries_whatever_the_data(client, carol, regions):
    client.force_login(carol)
    make_households(3)
    with CaptureQueriesContext(connection) as small:
        client.get("/")
    make_households(30)
    with CaptureQueriesContext(connection) as large:
        client.get("/")
    assert len(large) == len(small)
