"""load_regions: Ankang's real city and county codes (DOMAIN.md §1), generated towns and villages."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from regions.models import Region

# DOMAIN.md §1: Ankang (610900) and its ten county-level units in 2020.
COUNTIES = {
    "610902000000": "汉滨区",
    "610921000000": "汉阴县",
    "610922000000": "石泉县",
    "610923000000": "宁陕县",
    "610924000000": "紫阳县",
    "610925000000": "岚皋县",
    "610926000000": "平利县",
    "610927000000": "镇坪县",
    "610928000000": "旬阳县",
    "610929000000": "白河县",
}


def load(*args):
    out = StringIO()
    call_command("load_regions", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def loaded(db):
    output = load()
    return output, {r.code: r for r in Region.objects.all()}


def by_level(tree, level):
    return [r for r in tree.values() if r.level == level]


def test_it_creates_the_city_and_its_ten_real_counties(loaded):
    _, tree = loaded
    [city] = by_level(tree, "city")
    assert (city.code, city.name, city.parent_id) == ("610900000000", "安康市", None)
    assert {r.code: r.name for r in by_level(tree, "county")} == COUNTIES
    assert all(r.parent_id == city.code for r in by_level(tree, "county"))


def test_it_creates_fifteen_towns_per_county_and_ten_villages_per_town(loaded):
    output, tree = loaded
    for county in COUNTIES:
        assert len([r for r in by_level(tree, "town") if r.parent_id == county]) == 15
    for town in by_level(tree, "town"):
        assert len([r for r in by_level(tree, "village") if r.parent_id == town.code]) == 10
    assert len(tree) == 1 + 10 + 150 + 1500
    assert output.strip() == "区划：共 1661 个，新增 1661 个，更名 0 个。"


def test_it_gives_every_region_a_12_digit_code_under_its_parents_prefix(loaded):
    _, tree = loaded
    for region in tree.values():
        assert len(region.code) == 12 and region.code.isdigit(), region.code
        # The digits below the region's own level are zero.
        assert set(region.code[Region.PREFIX_LENGTH[region.level] :]) <= {"0"}, region.code
        if region.parent_id:
            parent = tree[region.parent_id]
            assert region.code.startswith(parent.prefix), (region.code, parent.code)
            assert Region.CHILD_LEVEL[parent.level] == region.level


def test_it_names_towns_and_villages_as_places_do(loaded):
    _, tree = loaded
    for town in by_level(tree, "town"):
        # Sub-districts (街道) are numbered 001–099, towns (镇) 100 up.
        assert town.name.endswith("街道" if int(town.code[6:9]) < 100 else "镇"), town
    for village in by_level(tree, "village"):
        # Communities (社区) are numbered 001–199, villages (村) 200 up.
        assert village.name.endswith("社区" if int(village.code[9:]) < 200 else "村"), village
    # Siblings never share a name: a cadre picks a village by name.
    for parent in [*by_level(tree, "county"), *by_level(tree, "town")]:
        names = [r.name for r in tree.values() if r.parent_id == parent.code]
        assert len(names) == len(set(names)), parent


def test_it_names_the_demo_villages_the_same_on_every_machine(loaded):
    _, tree = loaded
    assert tree["610902101000"].name == "银滩镇"
    assert tree["610902101201"].name == "西关村"
    assert tree["610902102201"].name == "柳坡村"


def test_it_creates_nothing_the_second_time(loaded):
    history_before = Region.history.count()
    assert load().strip() == "区划：共 1661 个，新增 0 个，更名 0 个。"
    assert Region.objects.count() == 1661
    assert Region.history.count() == history_before


def test_it_audits_every_created_region(loaded):
    assert Region.history.filter(history_type="+").count() == 1661


def test_it_restores_a_renamed_region_and_counts_it(loaded):
    Region.objects.filter(code="610902101201").update(name="错误村名")
    assert load().strip() == "区划：共 1661 个，新增 0 个，更名 1 个。"
    assert Region.objects.get(code="610902101201").name == "西关村"


def test_it_takes_smaller_trees_for_tests(db):
    output = load("--towns-per-county", "2", "--villages-per-town", "3")
    assert output.strip() == "区划：共 91 个，新增 91 个，更名 0 个。"
    assert Region.objects.filter(level="village").count() == 10 * 2 * 3


def town_a():
    return Region.objects.get(code="610902101000")


def test_it_rejects_a_village_code_outside_its_towns_prefix(regions):
    village = Region(code="610902102205", name="错位村", level="village", parent=town_a())
    with pytest.raises(ValidationError) as excinfo:
        village.full_clean()
    assert excinfo.value.message_dict == {"code": ["区划代码必须以上级区划的代码 610902101 开头。"]}


def test_it_accepts_a_village_code_inside_its_towns_prefix(regions):
    Region(code="610902101299", name="新村", level="village", parent=town_a()).full_clean()


@pytest.mark.parametrize(
    ("code", "level", "parent", "field", "message"),
    [
        ("61090210120", "village", "610902101000", "code", "区划代码必须是12位数字。"),
        ("61090210120X", "village", "610902101000", "code", "区划代码必须是12位数字。"),
        ("610902101201", "town", "610902000000", "code", "镇办的区划代码应以 3 个 0 结尾。"),
        ("610902105000", "town", "610900000000", "parent", "市的下级不能是镇办。"),
        ("610902101299", "village", "610902000000", "parent", "县区的下级不能是村/社区。"),
    ],
)
def test_it_rejects_codes_that_do_not_fit_the_tree(regions, code, level, parent, field, message):
    region = Region(code=code, name="某地", level=level, parent_id=parent)
    with pytest.raises(ValidationError) as excinfo:
        region.clean()
    assert excinfo.value.message_dict[field] == [message]


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [("61090210129X", "village", "610902101000"), ("610902101299", "town", None), ("610902101298", "hamlet", None)],
    ids=["not-digits", "orphan", "unknown-level"],
)
def test_it_refuses_in_the_database_a_region_that_bypasses_clean(regions, code, level, parent):
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(code=code, name="某地", level=level, parent_id=parent)
