"""A search by full ID number never travels in a URL (issue 16, point 5).

alice looks up 西关村's households by a member's ID number on the shared 村委会 PC. The
number must not land in the access log, the browser history or the address bar: the
filter forms POST, the lists answer with a redirect whose URL carries only a token, and
the token means nothing outside alice's session. API clients put the number in the body.
"""

import pytest

from households.models import Member
from tests.conftest import VILLAGE_A
from tests.html import text

LISTS = ["/households/", "/exits/", "/monitoring/"]


@pytest.fixture
def member(registry):
    return Member.objects.filter(household__village_id=VILLAGE_A).order_by("pk").first()


@pytest.mark.parametrize("url", LISTS)
def test_it_keeps_the_number_out_of_the_redirect(client, alice, member, url):
    client.force_login(alice)
    response = client.post(url, {"q": member.id_number, "page": "2"})
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith(url + "?q=~")  # "~" and a token
    assert member.id_number not in location
    assert member.id_number[-6:] not in location
    page = client.get(location)
    assert page.status_code == 200


def test_it_finds_the_household_through_the_token(client, alice, member):
    client.force_login(alice)
    location = client.post("/households/", {"q": member.id_number})["Location"]
    page = client.get(location)
    assert member.household.number in text(page)
    # The search box shows the number (in the page, which no cache keeps), not the token.
    assert page.context["filter"].form["q"].value() == member.id_number
    # Other households of the village are filtered out.
    assert page.context["page"].paginator.count == 1


def test_it_keeps_names_and_other_filters_as_they_were(client, alice, member):
    client.force_login(alice)
    response = client.post("/households/", {"q": "", "exit_status": "not_exited", "region": ""})
    assert response.status_code == 303
    assert response["Location"] == "/households/?exit_status=not_exited"


def test_it_redirects_a_get_that_carries_a_full_number(client, alice, member):
    client.force_login(alice)
    response = client.get("/households/", {"q": member.id_number})
    assert response.status_code == 303
    assert member.id_number not in response["Location"]


def test_the_token_means_nothing_in_another_session(client, alice, tom, member):
    client.force_login(alice)
    location = client.post("/households/", {"q": member.id_number})["Location"]
    client.force_login(tom)
    page = client.get(location)
    assert page.status_code == 200
    assert page.context["page"].paginator.count == 0


def test_it_searches_by_post_with_htmx(client, alice, member):
    client.force_login(alice)
    response = client.post("/households/", {"q": member.id_number}, headers={"HX-Request": "true"}, follow=True)
    assert response.redirect_chain[0][1] == 303
    assert member.household.number in text(response)


def test_the_export_of_a_token_search_exports_that_household(client, alice, member):
    client.force_login(alice)
    location = client.post("/households/", {"q": member.id_number})["Location"]
    query = location.split("?", 1)[1]
    export = client.get(f"/households/export/households.xlsx?{query}")
    assert export.status_code == 200
    assert member.id_number not in export.request["QUERY_STRING"]


def test_the_api_refuses_a_full_number_in_the_query_string(client, alice, member):
    client.force_login(alice)
    for url in ("/api/v1/members/", "/api/v1/households/", "/api/v1/exit-cases/", "/api/v1/monitoring-cases/"):
        response = client.get(url, {"q": member.id_number})
        assert response.status_code == 400, url
        assert "不能放在网址中" in response.json()["q"][0]


def test_the_api_searches_by_number_in_the_body(client, alice, bob, member):
    client.force_login(alice)
    response = client.post("/api/v1/members/search/", {"q": member.id_number}, content_type="application/json")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [member.pk]
    assert member.id_number not in response.content.decode()  # masked in the answer
    # Out of scope: nothing, as in the list.
    client.force_login(bob)
    response = client.post("/api/v1/members/search/", {"q": member.id_number}, content_type="application/json")
    assert response.json()["results"] == []


def test_the_api_still_searches_names_in_the_query_string(client, alice, member):
    client.force_login(alice)
    response = client.get("/api/v1/members/", {"q": member.name})
    assert response.status_code == 200
    assert member.pk in [row["id"] for row in response.json()["results"]]


def test_it_hides_a_mistyped_number_too(client, alice, member):
    # A wrong check digit is still someone's number: it never goes into the URL either.
    wrong = member.id_number[:17] + ("0" if member.id_number[17] != "0" else "1")
    client.force_login(alice)
    response = client.post("/households/", {"q": wrong})
    assert response.status_code == 303
    assert wrong not in response["Location"]
    assert client.get("/api/v1/members/", {"q": wrong}).status_code == 400


def test_it_leaves_a_household_number_in_the_url(client, alice, member):
    # An 18-digit 户编号 is not a person's number: it stays readable in the address.
    client.force_login(alice)
    response = client.post("/households/", {"q": member.household.number})
    assert response["Location"] == f"/households/?q={member.household.number}"
