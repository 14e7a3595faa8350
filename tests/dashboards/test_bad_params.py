"""Whatever ends up in ``?campaign=`` and ``?region=``, the dashboards answer with the
page or a 404 — never a 500. ``str.isdigit`` accepts ² and ①, which the database
refuses, and PostgreSQL refuses a NUL in a string literal."""

import pytest

from core.params import as_id, as_ids, is_region_code
from tests.conftest import COUNTY

pytestmark = pytest.mark.django_db

URLS = [
    "/dashboard/deadlines/",
    "/dashboard/deadlines/export.xlsx",
    "/api/v1/dashboard/deadlines/",
    "/dashboard/monitoring/",
    "/dashboard/monitoring/export.xlsx",
    "/api/v1/dashboard/monitoring/",
]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("campaign_value", ["²", "①", "abc", "-1", "1.0", "9" * 30, "%00"])
def test_it_shows_the_current_campaign_for_a_campaign_that_is_no_id(client, carol, campaign, url, campaign_value):
    client.force_login(carol)
    assert client.get(f"{url}?campaign={campaign_value}").status_code == 200


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("region", ["%00", "²" * 12, "61090200000", COUNTY + "0", "x", "6109020000%00"])
def test_it_answers_404_for_a_region_that_is_no_code(client, carol, campaign, url, region):
    client.force_login(carol)
    assert client.get(f"{url}?region={region}").status_code == 404


def test_ids_are_ascii_digits_only():
    assert [as_id(v) for v in ("12", " 7 ", "²", "①", "٣", "-1", "1.0", "", None, "9" * 30)] == [
        12, 7, None, None, None, None, None, None, None, None,
    ]  # fmt: skip
    assert as_ids(["3", "x", "²", "4"]) == [3, 4]
    assert is_region_code(COUNTY) and not is_region_code("²" * 12) and not is_region_code(COUNTY[:-1])


def test_the_case_batch_ignores_ids_that_are_not_ascii_digits(client, tom, campaign):
    client.force_login(tom)
    response = client.post("/exits/batch/", {"cases": ["²", "①"], "step": "²", "next": "/exits/?step=3"})
    assert response.status_code == 302 and response["Location"] == "/exits/?step=3"


def test_the_case_batch_goes_back_only_to_a_page_of_this_site(client, tom, campaign):
    client.force_login(tom)
    response = client.post("/exits/batch/", {"cases": [], "step": "3", "next": "https://example.com/phish"})
    assert response.status_code == 302 and response["Location"] == "/exits/"
