"""GET /api/v1/regions/: the region tree through the API, scoped like the pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regions.models import Region
from tests.conftest import COUNTY, OTHER_COUNTY, TOWN_A, VILLAGE_A, VILLAGE_A2, VILLAGE_B

URL = "/api/v1/regions/"


def codes(response):
    assert response.status_code == 200, response.content
    return [row["code"] for row in response.json()["results"]]


def test_it_lists_only_a_village_cadres_village(client, alice, regions):
    client.force_login(alice)
    response = client.get(URL)
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "code": VILLAGE_A,
                "name": "西关村",
                "level": "village",
                "level_display": "村/社区",
                "parent": TOWN_A,
            }
        ],
    }


def test_it_retrieves_a_region_in_scope(client, tom, regions):
    client.force_login(tom)
    response = client.get(f"{URL}{VILLAGE_A2}/")
    assert response.status_code == 200
    assert response.json()["name"] == "红沟村"


@pytest.mark.parametrize("code", [VILLAGE_A2, VILLAGE_B, TOWN_A, COUNTY])
def test_it_answers_404_for_a_region_outside_a_cadres_village(client, alice, regions, code):
    client.force_login(alice)
    response = client.get(f"{URL}{code}/")
    assert response.status_code == 404
    assert "name" not in response.json()


def test_it_answers_404_for_another_county_to_a_county_official(client, carol, regions):
    client.force_login(carol)
    assert client.get(f"{URL}{OTHER_COUNTY}/").status_code == 404


def test_it_filters_by_level(client, carol, regions):
    client.force_login(carol)
    assert codes(client.get(URL, {"level": "town"})) == [
        "610902001000",
        "610902002000",
        TOWN_A,
        "610902102000",
    ]


def test_it_filters_by_parent(client, carol, regions):
    client.force_login(carol)
    assert codes(client.get(URL, {"parent": TOWN_A})) == ["610902101001", VILLAGE_A, VILLAGE_A2]


def test_it_filters_by_everything_under_a_region(client, carol, regions):
    client.force_login(carol)
    assert codes(client.get(URL, {"under": TOWN_A})) == [TOWN_A, "610902101001", VILLAGE_A, VILLAGE_A2]


def test_it_never_widens_the_scope_with_a_filter(client, carol, regions):
    client.force_login(carol)
    # Another county's subtree, or its towns by parent, stay invisible.
    assert codes(client.get(URL, {"under": OTHER_COUNTY})) == []
    assert codes(client.get(URL, {"parent": OTHER_COUNTY})) == []
    assert codes(client.get(URL, {"under": "619999999999"})) == []


def test_it_filters_by_name(client, carol, regions):
    client.force_login(carol)
    assert codes(client.get(URL, {"name": "银滩"})) == [TOWN_A]


def test_it_rejects_an_unknown_level(client, carol, regions):
    client.force_login(carol)
    response = client.get(URL, {"level": "province"})
    assert response.status_code == 400
    assert "level" in response.json()


def test_it_lets_the_city_supervisor_read_the_whole_tree(client, sue, regions):
    client.force_login(sue)
    response = client.get(URL)
    assert response.json()["count"] == Region.objects.count() == 171
    assert len(response.json()["results"]) == 50  # one page
    assert client.get(f"{URL}{OTHER_COUNTY}/").json()["name"] == "汉阴县"


def test_it_refuses_an_anonymous_caller(client, regions):
    response = client.get(URL)
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "身份认证信息未提供。"
    assert client.get(f"{URL}{VILLAGE_A}/").status_code in (401, 403)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_it_does_not_allow_writes_even_to_a_writing_role(client, root, regions, method):
    client.force_login(root)
    target = URL if method == "post" else f"{URL}{VILLAGE_A}/"
    response = getattr(client, method)(target, {"name": "改名村"}, content_type="application/json")
    assert response.status_code == 405
    assert Region.objects.get(code=VILLAGE_A).name == "西关村"


def test_it_lists_a_page_in_the_same_number_of_queries_whatever_its_size(client, sue, regions):
    client.force_login(sue)
    with CaptureQueriesContext(connection) as small:
        assert len(codes(client.get(URL, {"level": "city"}))) == 1
    with CaptureQueriesContext(connection) as large:
        assert len(codes(client.get(URL, {"level": "village"}))) == 50
    assert len(large) == len(small)
