"""Household and member counts per region come from the tallies the minute job counts
(regions.tallies), labelled with their time, and from a live count when the tallies are
missing or old — the figures are the same either way (issue 17)."""

import datetime

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from regions.models import RegionTally
from regions.tallies import tallies_refresh
from regions.tasks import tallies_refresh_task
from tests.conftest import CITY, COUNTY, OTHER_COUNTY_VILLAGE, TOWN_A, VILLAGE_A, VILLAGE_A2, VILLAGE_B, household_in
from tests.html import element, text
from tests.regions.test_region_pages import child_rows, make_households, region_url, summary_cards


def test_every_region_is_tallied_with_its_descendants(registry):
    tallies_refresh()
    tally = {t.region_id: (t.households, t.not_exited, t.exited, t.members) for t in RegionTally.objects.all()}
    assert tally[VILLAGE_A] == (3, 2, 1, 4)
    assert tally[VILLAGE_A2] == (2, 2, 0, 2)
    assert tally[TOWN_A] == (5, 4, 1, 6)
    assert tally[COUNTY] == (6, 5, 1, 7)
    assert tally[CITY] == (7, 6, 1, 8)
    # A region without households is tallied too, with zeros.
    assert RegionTally.objects.filter(households=0).exists()


def test_the_pages_show_the_same_figures_from_the_tallies_as_counted_live(client, carol, registry):
    client.force_login(carol)
    live_summary = summary_cards(client.get(region_url(COUNTY)))
    live_children = child_rows(client.get(region_url(COUNTY)))
    assert "实时统计" in text(client.get(region_url(COUNTY)))
    tallies_refresh()
    response = client.get(region_url(COUNTY))
    assert summary_cards(response) == live_summary
    assert child_rows(response) == live_children
    counted = timezone.localtime(RegionTally.objects.get(region_id=COUNTY).counted_at).strftime("%H:%M")
    assert f"统计于 {counted}" in element(response, "p", data_testid="counted-at").text


def test_the_tallies_lag_until_the_next_count(client, carol, registry):
    client.force_login(carol)
    tallies_refresh()
    household_in(VILLAGE_B)
    assert summary_cards(client.get("/")).startswith("贫困户 6 ")
    tallies_refresh_task()  # the beat job, every minute
    assert summary_cards(client.get("/")).startswith("贫困户 7 ")


def test_old_tallies_are_not_shown_the_page_counts_live(client, carol, registry, settings):
    client.force_login(carol)
    tallies_refresh()
    household_in(OTHER_COUNTY_VILLAGE)
    household_in(VILLAGE_A)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.REGION_TALLY_MAX_AGE + 1)):
        response = client.get("/")
    assert summary_cards(response).startswith("贫困户 7 ")
    assert "实时统计" in text(response)


def test_a_page_from_tallies_does_not_count_households(client, carol, regions):
    client.force_login(carol)
    make_households(30)
    tallies_refresh()
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    counting = [q["sql"] for q in queries.captured_queries if 'FROM "households_member"' in q["sql"]]
    assert not counting, counting
