"""Who an account may be: each role sits on its level of the tree, only sector accounts name a sector.

The model refuses a bad combination with a message naming the field, and the database
refuses what bypasses the model.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Role, Sector, User
from tests.conftest import CITY, COUNTY, TOWN_A, VILLAGE_A


def account(role, region=None, sector="", username="newcomer"):
    user = User(username=username, full_name="新同事", role=role, region_id=region, sector=sector)
    user.set_password("Qinba-mountains-2020")
    return user


def errors_of(user) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as excinfo:
        user.full_clean()
    return excinfo.value.message_dict


@pytest.mark.parametrize(
    ("role", "region"),
    [
        (Role.VILLAGE_CADRE, VILLAGE_A),
        (Role.TOWN_OFFICIAL, TOWN_A),
        (Role.COUNTY_OFFICIAL, COUNTY),
        (Role.CITY_SUPERVISOR, CITY),
        (Role.ADMIN, None),
    ],
)
def test_it_accepts_each_role_on_its_level(regions, role, region):
    user = account(role, region)
    user.full_clean()
    user.save()
    assert User.objects.get(username="newcomer").role == role


def test_it_accepts_a_sector_department_on_a_county_with_its_sector(regions):
    account(Role.SECTOR, COUNTY, Sector.HEALTH).full_clean()


@pytest.mark.parametrize(
    ("role", "region", "message"),
    [
        (Role.VILLAGE_CADRE, TOWN_A, "村级录入员的所属区划必须是村/社区级。"),
        (Role.VILLAGE_CADRE, COUNTY, "村级录入员的所属区划必须是村/社区级。"),
        (Role.TOWN_OFFICIAL, VILLAGE_A, "镇办干部的所属区划必须是镇办级。"),
        (Role.TOWN_OFFICIAL, COUNTY, "镇办干部的所属区划必须是镇办级。"),
        (Role.COUNTY_OFFICIAL, TOWN_A, "县级审批的所属区划必须是县区级。"),
        (Role.COUNTY_OFFICIAL, CITY, "县级审批的所属区划必须是县区级。"),
        (Role.CITY_SUPERVISOR, COUNTY, "市级督查的所属区划必须是市级。"),
    ],
)
def test_it_rejects_a_region_of_the_wrong_level(regions, role, region, message):
    assert errors_of(account(role, region)) == {"region": [message]}


def test_it_rejects_a_sector_department_on_a_town(regions):
    assert errors_of(account(Role.SECTOR, TOWN_A, Sector.WATER)) == {"region": ["行业部门的所属区划必须是县区级。"]}


@pytest.mark.parametrize("role", [Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL, Role.CITY_SUPERVISOR])
def test_it_requires_a_region_for_every_role_but_admin(regions, role):
    errors = errors_of(account(role, None))
    assert errors["region"] == [f"{role.label}必须指定所属区划。"]


def test_it_requires_a_sector_for_a_sector_department(regions):
    assert errors_of(account(Role.SECTOR, COUNTY)) == {"sector": ["行业部门账号必须选择所属行业部门。"]}


@pytest.mark.parametrize(
    ("role", "region"),
    [(Role.COUNTY_OFFICIAL, COUNTY), (Role.VILLAGE_CADRE, VILLAGE_A), (Role.ADMIN, None)],
)
def test_it_rejects_a_sector_on_any_other_role(regions, role, region):
    assert errors_of(account(role, region, Sector.EDUCATION)) == {"sector": ["只有行业部门账号可以选择行业部门。"]}


def test_it_rejects_an_unknown_role(regions):
    errors = errors_of(account("mayor", CITY))
    assert "role" in errors


def test_it_rejects_an_unknown_region_with_a_message_not_a_crash(regions):
    # A typo in an imported region code must come back as a form error on 所属区划.
    errors = errors_of(account(Role.VILLAGE_CADRE, "610902101299"))
    assert "region" in errors


def test_it_reports_the_role_level_error_when_an_admin_moves_a_cadre(alice, tom):
    alice.region_id = TOWN_A
    assert errors_of(alice) == {"region": ["村级录入员的所属区划必须是村/社区级。"]}


def test_it_rejects_an_invalid_role_in_the_database(regions):
    with pytest.raises(IntegrityError), transaction.atomic():
        account("mayor", CITY).save()
    assert not User.objects.filter(username="newcomer").exists()


def test_it_rejects_a_sector_on_a_non_sector_role_in_the_database(regions):
    with pytest.raises(IntegrityError), transaction.atomic():
        account(Role.COUNTY_OFFICIAL, COUNTY, Sector.EDUCATION).save()


def test_it_rejects_a_sector_department_without_a_sector_in_the_database(regions):
    with pytest.raises(IntegrityError), transaction.atomic():
        account(Role.SECTOR, COUNTY, "").save()


def test_it_rejects_an_unknown_sector_in_the_database(regions):
    with pytest.raises(IntegrityError), transaction.atomic():
        account(Role.SECTOR, COUNTY, "army").save()


def test_it_rejects_a_regionless_non_admin_in_the_database(regions):
    with pytest.raises(IntegrityError), transaction.atomic():
        account(Role.TOWN_OFFICIAL, None).save()


def test_it_rejects_a_bulk_update_that_breaks_the_rules_in_the_database(alice, sam):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=sam.pk).update(sector="")
    sam.refresh_from_db()
    assert sam.sector == Sector.EDUCATION


def test_it_makes_a_superuser_an_admin(regions):
    user = User.objects.create_superuser("boss", password="Qinba-mountains-2020")
    assert user.role == Role.ADMIN
    assert user.is_admin
    assert user.can_write


def test_it_makes_only_the_supervisor_read_only(everyone):
    assert {name for name, user in everyone.items() if not user.can_write} == {"sue"}
    everyone["carol"].is_active = False
    assert everyone["carol"].can_write is False
