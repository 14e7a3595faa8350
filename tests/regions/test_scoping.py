"""visible_to(user): the one place that decides which rows a person sees (DOMAIN.md §1)."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from households.models import Household, Member
from regions.models import Region
from tests.conftest import (
    COUNTY,
    OTHER_COUNTY,
    OTHER_COUNTY_VILLAGE,
    TOWN_A,
    VILLAGE_A,
    VILLAGE_A2,
    VILLAGE_B,
)

ALL_REGIONS = 1 + 10 + 10 * 4 + 10 * 4 * 3  # the `regions` fixture: city, counties, towns, villages


def region_codes(user):
    return set(Region.objects.visible_to(user).values_list("code", flat=True))


def household_villages(user):
    return sorted(Household.objects.visible_to(user).values_list("village_id", flat=True))


def member_villages(user):
    return sorted(Member.objects.visible_to(user).values_list("household__village_id", flat=True))


def test_it_shows_a_village_cadre_only_her_village(alice, registry):
    assert region_codes(alice) == {VILLAGE_A}
    assert household_villages(alice) == [VILLAGE_A] * 3
    # Village A's first household has two members.
    assert member_villages(alice) == [VILLAGE_A] * 4


def test_it_shows_another_village_cadre_only_his_village(bob, registry):
    assert region_codes(bob) == {VILLAGE_B}
    assert household_villages(bob) == [VILLAGE_B]
    assert member_villages(bob) == [VILLAGE_B]


def test_it_shows_a_town_official_his_town_and_its_villages(tom, registry):
    assert region_codes(tom) == {TOWN_A, "610902101001", VILLAGE_A, VILLAGE_A2}
    assert household_villages(tom) == [VILLAGE_A] * 3 + [VILLAGE_A2] * 2
    assert len(member_villages(tom)) == 6
    assert VILLAGE_B not in member_villages(tom)


@pytest.mark.parametrize("who", ["carol", "sam"])
def test_it_shows_county_official_and_sector_department_their_county(who, everyone, registry):
    user = everyone[who]
    codes = region_codes(user)
    assert len(codes) == 1 + 4 + 4 * 3
    assert all(code.startswith("610902") for code in codes)
    assert COUNTY in codes and VILLAGE_B in codes
    assert household_villages(user) == [VILLAGE_A] * 3 + [VILLAGE_A2] * 2 + [VILLAGE_B]
    assert len(member_villages(user)) == 7
    assert OTHER_COUNTY_VILLAGE not in member_villages(user)


def test_it_shows_a_county_official_of_another_county_only_that_county(zed, registry):
    codes = region_codes(zed)
    assert OTHER_COUNTY in codes and COUNTY not in codes
    assert household_villages(zed) == [OTHER_COUNTY_VILLAGE]
    assert member_villages(zed) == [OTHER_COUNTY_VILLAGE]


@pytest.mark.parametrize("who", ["sue", "root"])
def test_it_shows_supervisor_and_admin_the_whole_city(who, everyone, registry):
    user = everyone[who]
    assert len(region_codes(user)) == ALL_REGIONS
    assert Household.objects.visible_to(user).count() == 7
    assert Member.objects.visible_to(user).count() == 8


def test_it_shows_an_admin_regions_outside_the_city_too(root, registry):
    # An administrator's scope is "everything", not "the city": a region of another
    # city (added by a later import) is still visible to them, and only to them.
    Region.objects.create(code="610800000000", name="汉中市", level=Region.Level.CITY)
    assert "610800000000" in region_codes(root)


def test_it_shows_an_inactive_user_nothing(alice, carol, registry):
    for user in (alice, carol):
        user.is_active = False
        user.save()
        assert region_codes(user) == set()
        assert household_villages(user) == []
        assert member_villages(user) == []


@pytest.mark.parametrize("user", [AnonymousUser(), None], ids=["anonymous", "none"])
def test_it_shows_an_anonymous_caller_nothing(user, registry):
    assert region_codes(user) == set()
    assert Household.objects.visible_to(user).count() == 0
    assert Member.objects.visible_to(user).count() == 0


def village_prefix_filter(prefix):
    # PostgreSQL prints the column with a ::text cast, SQLite without.
    return re.compile(rf'"households_household"\."village_id"(::text)? LIKE {prefix}%')


def test_it_filters_households_on_the_village_code_column_without_a_join(alice):
    sql = str(Household.objects.visible_to(alice).query)
    # The foreign key column holds the village's code, so the scope is a prefix
    # match on that indexed column: no join to the region table.
    assert village_prefix_filter(VILLAGE_A).search(sql), sql
    assert "JOIN" not in sql.upper()
    assert "regions_region" not in sql


def test_it_filters_a_town_officials_households_on_the_town_prefix(tom):
    sql = str(Household.objects.visible_to(tom).query)
    assert village_prefix_filter("610902101").search(sql), sql
    assert "JOIN" not in sql.upper()


def test_it_filters_members_through_their_household_only(alice):
    sql = str(Member.objects.visible_to(alice).query)
    assert village_prefix_filter(VILLAGE_A).search(sql), sql
    assert "regions_region" not in sql


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index use is checked where production runs")
def test_it_answers_a_town_scope_from_the_village_index_on_postgresql(tom):
    queryset = Household.objects.visible_to(tom).values("id")
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # An empty table would always be scanned; forbid that to see which plan is possible.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "households_household_village_id" in plan and "_like" in plan, plan
