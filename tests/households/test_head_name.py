"""Household.head_name is the 户主's name on every path that writes a member (issue 17).

The household row carries its head's name so that lists and 户主 searches read one index
(households.triggers). The rule lives in database triggers, so the tests write members
every way the app does — the registry service, single saves, bulk inserts (the import,
seed_demo), queryset updates, transfers from one household to another, deletes — and a
long random sequence of them, and after each step compare every household's head_name
with its members. A stale Household instance saved afterwards must not bring an old name
back. Run on SQLite here and on PostgreSQL in CI, whose triggers differ.
"""

import random

import pytest
from django.db import connection

from households import services
from households.models import Household, Member, Relationship
from tests.factories import HouseholdFactory, MemberFactory
from tests.households.conftest import household_data, member_data, spouse_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("regions")]


def heads_by_members() -> dict[int, str | None]:
    heads = dict(
        Member.objects.filter(relationship=Relationship.HEAD).order_by("id").values_list("household_id", "name")
    )
    return {pk: heads.get(pk) for pk in Household.objects.values_list("pk", flat=True)}


def stored() -> dict[int, str | None]:
    return dict(Household.objects.values_list("pk", "head_name"))


def test_the_registry_service_sets_it_and_returns_it(alice):
    household = services.household_create(by=alice, data=household_data(), members=[member_data(), spouse_data()])
    assert household.head_name == "王建国"
    assert Household.objects.get(pk=household.pk).head_name == "王建国"


def test_a_swap_of_head_and_spouse_through_the_service_names_the_new_head(alice):
    household = services.household_create(by=alice, data=household_data(), members=[member_data(), spouse_data()])
    head, spouse = household.members.order_by("id")
    rows = [
        {**member_data(), "id": head.pk, "id_number": head.id_number, "relationship": "spouse"},
        {**spouse_data(), "id": spouse.pk, "id_number": spouse.id_number, "relationship": "head"},
    ]
    updated = services.household_update(by=alice, household=household, data={}, members=rows, version=household.version)
    assert updated.head_name == "张秀兰"
    assert stored() == heads_by_members()


def test_a_household_without_a_head_has_none():
    household = HouseholdFactory()
    MemberFactory(household=household, relationship=Relationship.SPOUSE, name="李芳")
    assert Household.objects.get(pk=household.pk).head_name is None


def test_bulk_inserts_and_queryset_updates_keep_it():
    households = HouseholdFactory.create_batch(3)
    Member.objects.bulk_create([MemberFactory.build(household=h, name=f"户主{i}") for i, h in enumerate(households)])
    assert [Household.objects.get(pk=h.pk).head_name for h in households] == ["户主0", "户主1", "户主2"]
    Member.objects.filter(household=households[1]).update(name="改名")
    Member.objects.filter(household=households[2]).update(relationship=Relationship.OTHER)
    assert stored() == heads_by_members()
    assert Household.objects.get(pk=households[1].pk).head_name == "改名"
    assert Household.objects.get(pk=households[2].pk).head_name is None


def test_a_stale_household_saved_after_its_head_changed_does_not_bring_the_old_name_back():
    head = MemberFactory(name="旧户主")
    stale = Household.objects.get(pk=head.household_id)
    assert stale.head_name == "旧户主"
    Member.objects.filter(pk=head.pk).update(name="新户主")
    stale.group_no = 3
    stale.save()
    assert Household.objects.get(pk=stale.pk).head_name == "新户主"
    Household.objects.filter(pk=stale.pk).update(head_name="乱写")
    assert Household.objects.get(pk=stale.pk).head_name == "新户主"


def test_moving_the_head_to_another_household_updates_both():
    head = MemberFactory(name="迁出人")
    target = HouseholdFactory()
    source_pk = head.household_id
    head.household = target
    head.save()
    assert Household.objects.get(pk=source_pk).head_name is None
    assert Household.objects.get(pk=target.pk).head_name == "迁出人"


@pytest.mark.parametrize("seed", range(4))
def test_a_long_random_sequence_of_member_writes_keeps_every_household_right(seed):
    rng = random.Random(seed)
    households = HouseholdFactory.create_batch(4)
    names = iter(f"人{n}" for n in range(10_000))

    def members_of(h, **kw):
        return list(Member.objects.filter(household=h, **kw))

    def has_head(h):
        return Member.objects.filter(household=h, relationship=Relationship.HEAD).exists()

    for _step in range(120):
        household = rng.choice(households)
        op = rng.choice(["add", "rename", "demote", "promote", "move", "delete", "bulk", "stale_save", "rename_all"])
        members = members_of(household)
        if op == "add":
            relationship = Relationship.OTHER if has_head(household) else rng.choice([Relationship.HEAD, "other"])
            MemberFactory(household=household, name=next(names), relationship=relationship)
        elif op == "rename" and members:
            member = rng.choice(members)
            member.name = next(names)
            member.save()
        elif op == "demote" and (heads := members_of(household, relationship=Relationship.HEAD)):
            Member.objects.filter(pk=heads[0].pk).update(relationship=Relationship.OTHER)
        elif op == "promote" and members and not has_head(household):
            member = rng.choice(members)
            member.relationship = Relationship.HEAD
            member.save(update_fields=["relationship"])
        elif op == "move" and members:
            member = rng.choice(members)
            target = rng.choice([h for h in households if h != household])
            if member.relationship == Relationship.HEAD and has_head(target):
                member.relationship = Relationship.OTHER
            member.household = target
            member.save()
        elif op == "delete" and members:
            rng.choice(members).delete()
        elif op == "bulk":
            head_free = not has_head(household)
            Member.objects.bulk_create(
                [
                    MemberFactory.build(
                        household=household,
                        name=next(names),
                        relationship=Relationship.HEAD if head_free and i == 0 else Relationship.OTHER,
                    )
                    for i in range(rng.randint(1, 3))
                ]
            )
        elif op == "stale_save":
            stale = Household.objects.get(pk=household.pk)
            Member.objects.filter(household=household).update(name=next(names))
            stale.save()
        elif op == "rename_all":
            Member.objects.filter(household=household, relationship=Relationship.HEAD).update(name=next(names))
        assert stored() == heads_by_members(), (op, connection.vendor)
