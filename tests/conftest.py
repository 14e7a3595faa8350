"""Shared fixtures: a small region tree and named people, one story each.

- alice: village cadre of village A (西关村 610902101201)
- bob:   village cadre of village B, in another town (610902102201)
- tom:   town official of village A's town (610902101000)
- carol: county official of 汉滨区 (610902)
- sam:   sector department (教育) of 汉滨区
- sue:   city supervisor (read-only)
- root:  administrator
- zed:   county official of another county (汉阴县 610921)

``registry`` puts households in villages A, A2, B and one in 汉阴县, so that every
person above sees a different count. Rendered pages are read with ``tests/html.py``.
"""

import pytest

from accounts.models import Role, Sector, User
from households.models import ExitStatus, Relationship, Schooling
from regions.data import generated_tree
from regions.models import Region
from regions.services import region_tree_load
from tests.factories import HouseholdFactory, MemberFactory

PASSWORD = "correct-horse-42"

VILLAGE_A = "610902101201"
VILLAGE_A2 = "610902101202"
VILLAGE_B = "610902102201"
TOWN_A = "610902101000"
TOWN_B = "610902102000"
COUNTY = "610902000000"
OTHER_COUNTY = "610921000000"
OTHER_COUNTY_VILLAGE = "610921101201"
CITY = "610900000000"


@pytest.fixture
def regions(db):
    """Ankang, its ten counties, 4 towns each and 3 villages per town (171 regions).

    Four towns, because the first two of a county are sub-districts (街道 001, 002) and
    the named people need two real towns (101 and 102) in 汉滨区.
    """
    region_tree_load(rows=generated_tree(towns_per_county=4, villages_per_town=3))
    return {r.code: r for r in Region.objects.all()}


def make_user(username, role, region_code=None, sector="", **extra):
    user = User(
        username=username,
        full_name=extra.pop("full_name", username.capitalize()),
        role=role,
        region_id=region_code,
        sector=sector,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
        **extra,
    )
    user.set_password(PASSWORD)
    user.full_clean()
    user.save()
    return user


@pytest.fixture
def alice(regions):
    return make_user("alice", Role.VILLAGE_CADRE, VILLAGE_A, full_name="李爱丽")


@pytest.fixture
def bob(regions):
    return make_user("bob", Role.VILLAGE_CADRE, VILLAGE_B, full_name="王博")


@pytest.fixture
def tom(regions):
    return make_user("tom", Role.TOWN_OFFICIAL, TOWN_A, full_name="张涛")


@pytest.fixture
def carol(regions):
    return make_user("carol", Role.COUNTY_OFFICIAL, COUNTY, full_name="陈卡")


@pytest.fixture
def sam(regions):
    return make_user("sam", Role.SECTOR, COUNTY, sector=Sector.EDUCATION, full_name="刘山")


@pytest.fixture
def sue(regions):
    return make_user("sue", Role.CITY_SUPERVISOR, CITY, full_name="赵素")


@pytest.fixture
def zed(regions):
    return make_user("zed", Role.COUNTY_OFFICIAL, OTHER_COUNTY, full_name="周泽")


@pytest.fixture
def root(regions):
    return make_user("root", Role.ADMIN, full_name="管理员")


@pytest.fixture
def everyone(alice, bob, tom, carol, sam, sue, zed, root):
    return {u.username: u for u in (alice, bob, tom, carol, sam, sue, zed, root)}


def household_in(village_code, *, members=1, **fields):
    """A household in ``village_code`` with a head and ``members - 1`` children."""
    household = HouseholdFactory(village_id=village_code, **fields)
    MemberFactory(household=household, relationship=Relationship.HEAD)
    for _ in range(members - 1):
        MemberFactory(household=household, relationship=Relationship.SON, education="", schooling=Schooling.PRIMARY)
    return household


@pytest.fixture
def registry(regions):
    """Households placed so that every person's scope holds a different count.

    village A: 3 households (4 members), village A2 (same town): 2, village B (other
    town, same county): 1, and one in 汉阴县. So alice sees 3, tom 5, carol and sam 6,
    zed 1, sue and root 7 households.
    """
    return {
        VILLAGE_A: [
            household_in(VILLAGE_A, members=2),
            household_in(VILLAGE_A),
            household_in(VILLAGE_A, exit_status=ExitStatus.EXITED, exit_year=2019),
        ],
        VILLAGE_A2: [household_in(VILLAGE_A2), household_in(VILLAGE_A2)],
        VILLAGE_B: [household_in(VILLAGE_B)],
        OTHER_COUNTY_VILLAGE: [household_in(OTHER_COUNTY_VILLAGE)],
    }
