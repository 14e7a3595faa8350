"""Lists count at most LIST_COUNT_CAP rows and page on beyond it (core/paging.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.paging import CappedPaginator
from households.models import Household
from tests.conftest import VILLAGE_A, household_in
from tests.html import element, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def households(regions):
    return [household_in(VILLAGE_A) for _ in range(7)]


def test_below_the_cap_it_is_djangos_paginator(households):
    paginator = CappedPaginator(Household.objects.order_by("pk"), 3, cap=10)
    assert (paginator.count, paginator.exact, paginator.num_pages) == (7, True, 3)
    assert [h.pk for h in paginator.page(3)] == [households[6].pk]
    assert not paginator.page(3).has_next()


def test_at_the_cap_the_count_is_exact(households):
    paginator = CappedPaginator(Household.objects.order_by("pk"), 3, cap=7)
    assert (paginator.count, paginator.exact) == (7, True)


def test_beyond_the_cap_it_says_so_and_pages_on_to_the_last_row(households):
    paginator = CappedPaginator(Household.objects.order_by("pk"), 3, cap=4)
    assert (paginator.count, paginator.exact) == (4, False)
    seen, number = [], 1
    while True:
        page = paginator.page(number)
        seen += [h.pk for h in page]
        if not page.has_next():
            break
        number += 1
    assert seen == [h.pk for h in households] and number == 3


def test_the_count_asks_for_no_more_than_cap_plus_one_keys(households):
    paginator = CappedPaginator(Household.objects.order_by("number"), 3, cap=4)
    with CaptureQueriesContext(connection) as queries:
        assert paginator.count == 4
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert "LIMIT 5" in sql and "ORDER BY" not in sql


def test_the_household_list_says_more_than_the_cap(client, settings, alice, households):
    settings.LIST_COUNT_CAP = 5
    client.force_login(alice)
    response = client.get("/households/")
    assert element(response, "span", data_testid="result-count").text == "超过 5 户"
    settings.LIST_COUNT_CAP = 100
    response = client.get("/households/")
    assert element(response, "span", data_testid="result-count").text == "共 7 户"
    assert "超过" not in text(response)
