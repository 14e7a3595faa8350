"""/api/v1/members/: members one at a time, each write re-checked against the whole household."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households.idnumbers import mask_id_number
from households.models import Household, Member, MemberTransfer, PersonalDataAccess, Relationship, Sex
from tests.conftest import VILLAGE_A, VILLAGE_B, household_in
from tests.factories import valid_id_number

URL = "/api/v1/members/"
READ_ONLY = "市级督查账号为只读账号，不能修改数据。"


def new_member(household, **fields):
    return {
        "household": household.pk,
        "name": "刘芳",
        "id_number": valid_id_number(birth=datetime.date(1978, 1, 9), sex=Sex.FEMALE),
        "relationship": "spouse",
        "education": "junior",
        "labour_skill": "ordinary",
        "medical_insurance": "resident",
        "critical_illness_insurance": True,
        **fields,
    }


def post(client, url, payload):
    return client.post(url, payload, content_type="application/json")


def patch(client, member, payload):
    return client.patch(f"{URL}{member.pk}/", payload, content_type="application/json")


def transfer(client, member, **payload):
    return post(client, f"{URL}{member.pk}/transfer/", payload)


def names(response):
    assert response.status_code == 200, response.json()
    return sorted(row["name"] for row in response.json()["results"])


# --- read -----------------------------------------------------------------------------------


def test_it_lists_only_alices_village_with_ids_masked(client, alice, registry):
    client.force_login(alice)
    response = client.get(URL)
    mine = Member.objects.filter(household__village_id=VILLAGE_A)
    assert names(response) == sorted(mine.values_list("name", flat=True))
    row = response.json()["results"][0]
    member = Member.objects.get(pk=row["id"])
    assert row["id_number"] == mask_id_number(member.id_number)
    assert (row["household_number"], row["village"], row["village_name"]) == (
        member.household.number,
        VILLAGE_A,
        "西关村",
    )
    assert row["relationship_display"] == "户主"
    assert row["medical_insurance_display"] == "城乡居民基本医疗保险"


def test_it_filters_by_household_relationship_sex_and_insurance(client, alice, registry):
    household = registry[VILLAGE_A][0]
    son = household.members.get(relationship=Relationship.SON)
    Member.objects.filter(pk=son.pk).update(medical_insurance="uninsured")
    client.force_login(alice)
    everyone = sorted(household.members.values_list("name", flat=True))
    assert names(client.get(URL, {"household": household.pk})) == everyone
    assert names(client.get(URL, {"relationship": "son"})) == [son.name]
    assert names(client.get(URL, {"medical_insurance": "uninsured"})) == [son.name]
    assert names(client.get(URL, {"sex": "female"})) == []
    assert client.get(URL, {"sex": "unknown"}).status_code == 400


def test_it_searches_by_name_household_number_and_full_id(client, alice, registry):
    household = registry[VILLAGE_A][1]
    head = household.members.get()
    client.force_login(alice)
    assert names(client.get(URL, {"q": head.name})) == [head.name]
    assert names(client.get(URL, {"q": household.number})) == [head.name]
    # A full ID number goes in the body (POST …/search/), never in the query string.
    assert client.get(URL, {"q": head.id_number}).status_code == 400
    found = client.post(f"{URL}search/", {"q": head.id_number}, content_type="application/json")
    assert names(found) == [head.name]
    # A fragment of an ID number finds nobody: no guessing numbers digit by digit.
    assert names(client.get(URL, {"q": head.id_number[-6:]})) == []


@pytest.mark.parametrize("by", ["name", "household_number", "id_number", "household"])
def test_it_never_finds_bobs_members_for_alice(client, alice, registry, by):
    bobs = registry[VILLAGE_B][0]
    head = bobs.members.get()
    params = {
        "name": {"q": head.name},
        "household_number": {"q": bobs.number},
        "id_number": {"q": head.id_number},
        "household": {"household": bobs.pk},
    }[by]
    client.force_login(alice)
    assert (
        names(
            client.get(URL, params)
            if by != "id_number"
            else client.post(f"{URL}search/", params, content_type="application/json")
        )
        == []
    )


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_it_answers_404_for_bobs_member(client, alice, registry, method):
    head = registry[VILLAGE_B][0].members.get()
    client.force_login(alice)
    response = getattr(client, method)(f"{URL}{head.pk}/", {"name": "改名"}, content_type="application/json")
    assert response.status_code == 404
    head.refresh_from_db()
    assert head.name != "改名"


def test_it_lists_in_the_same_number_of_queries_whatever_the_page_size(client, alice, regions):
    household_in(VILLAGE_A, members=3)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as small:
        assert len(client.get(URL).json()["results"]) == 3
    for _ in range(10):
        household_in(VILLAGE_A, members=3)
    with CaptureQueriesContext(connection) as large:
        assert len(client.get(URL).json()["results"]) == 33
    assert len(large) == len(small)


# --- create ---------------------------------------------------------------------------------


def test_it_adds_a_member_to_alices_household(client, alice, registry):
    household = registry[VILLAGE_A][1]
    payload = new_member(household)
    client.force_login(alice)
    response = post(client, URL, payload)

    assert response.status_code == 201, response.json()
    body = response.json()
    member = Member.objects.get(pk=body["id"])
    assert (member.household, member.id_number) == (household, payload["id_number"])
    assert (body["sex"], body["birth_date"]) == ("female", "1978-01-09")
    assert body["id_number"] == mask_id_number(payload["id_number"])
    assert member.history.get().history_user == alice


def test_it_refuses_a_household_alice_cannot_see(client, alice, registry):
    bobs = registry[VILLAGE_B][0]
    client.force_login(alice)
    response = post(client, URL, new_member(bobs))
    assert response.status_code == 400
    assert response.json() == {"household": ["所属户不存在或不在您的管辖范围内。"]}
    assert bobs.members.count() == 1


def test_it_puts_the_new_members_own_errors_next_to_its_fields(client, alice, registry):
    household = registry[VILLAGE_A][1]
    client.force_login(alice)
    response = post(client, URL, new_member(household, relationship="head", education="", work_months=3))

    assert response.status_code == 400
    body = response.json()
    assert body["relationship"] == ["每户只能有一名户主。"]
    assert body["work_place"] == ["务工月数大于0时必须填写务工地点。"]
    assert body["education"] == ["文化程度与在校生状况必须且只能填写一项：在校生填在校生状况，其他人填文化程度。"]
    assert "第2个成员 与户主关系：每户只能有一名户主。" in body["messages"]
    assert household.members.count() == 1


# --- update and delete ----------------------------------------------------------------------


def test_it_updates_a_member_keeping_a_masked_id_number(client, alice, registry):
    head = registry[VILLAGE_A][1].members.get()
    client.force_login(alice)
    shown = client.get(f"{URL}{head.pk}/").json()
    response = patch(client, head, {"id_number": shown["id_number"], "name": "王建国", "family_doctor": True})

    assert response.status_code == 200, response.json()
    member = Member.objects.get(pk=head.pk)
    assert (member.name, member.family_doctor, member.id_number) == ("王建国", True, head.id_number)
    assert response.json()["id_number"] == shown["id_number"]


def test_it_rederives_sex_and_birth_date_from_a_corrected_id(client, alice, registry):
    head = registry[VILLAGE_A][1].members.get()
    corrected = valid_id_number(birth=datetime.date(1969, 12, 1), sex=Sex.FEMALE)
    client.force_login(alice)
    response = patch(client, head, {"id_number": corrected})
    assert response.status_code == 200, response.json()
    assert (response.json()["sex"], response.json()["birth_date"]) == ("female", "1969-12-01")


def test_it_deletes_a_member_but_not_the_last_head(client, alice, registry):
    household = registry[VILLAGE_A][0]
    head = household.members.get(relationship=Relationship.HEAD)
    son = household.members.get(relationship=Relationship.SON)
    client.force_login(alice)
    assert client.delete(f"{URL}{son.pk}/").status_code == 204
    assert list(household.members.all()) == [head]

    response = client.delete(f"{URL}{head.pk}/")
    assert response.status_code == 400
    assert response.json()["non_field_errors"] == ["家庭成员：每户必须有且只有一名户主，当前没有户主。"]
    assert Member.objects.filter(pk=head.pk).exists()


# --- privacy --------------------------------------------------------------------------------


def test_it_reveals_the_full_id_number_and_logs_it(client, tom, registry):
    head = registry[VILLAGE_A][1].members.get()
    client.force_login(tom)
    response = client.post(f"{URL}{head.pk}/reveal/")
    assert response.status_code == 200
    assert response.json() == {"id_number": head.id_number}
    log = PersonalDataAccess.objects.get()
    assert (log.user, log.member, log.household_id, log.action) == (tom, head, head.household_id, "reveal")


def test_it_refuses_the_supervisor_the_full_id_number(client, sue, registry):
    head = registry[VILLAGE_A][1].members.get()
    client.force_login(sue)
    assert client.get(f"{URL}{head.pk}/").json()["id_number"] == mask_id_number(head.id_number)
    response = client.post(f"{URL}{head.pk}/reveal/")
    assert response.status_code == 403
    assert response.json() == {"detail": "您的角色不能查看完整的证件号码和电话号码。"}
    assert not PersonalDataAccess.objects.exists()


def test_it_answers_404_when_alice_asks_for_bobs_member_id(client, alice, registry):
    client.force_login(alice)
    assert client.post(f"{URL}{registry[VILLAGE_B][0].members.get().pk}/reveal/").status_code == 404
    assert not PersonalDataAccess.objects.exists()


# --- transfer -------------------------------------------------------------------------------


def test_it_transfers_a_member_between_two_of_alices_households(client, alice, registry):
    source, target = registry[VILLAGE_A][0], registry[VILLAGE_A][1]
    son = source.members.get(relationship=Relationship.SON)
    client.force_login(alice)
    response = transfer(client, son, to_household=target.pk, relationship="grandson", reason="随祖父生活")

    assert response.status_code == 200, response.json()
    assert (response.json()["household"], response.json()["relationship_display"]) == (target.pk, "之孙子")
    record = MemberTransfer.objects.get()
    assert (record.member, record.from_household, record.to_household) == (son, source, target)
    assert (record.from_relationship, record.to_relationship) == ("son", "grandson")
    assert (record.reason, record.transferred_by) == ("随祖父生活", alice)
    # Both households changed: an edit that began before the move is now stale.
    assert Household.objects.get(pk=source.pk).version == 2
    assert Household.objects.get(pk=target.pk).version == 2


def test_it_refuses_a_transfer_into_bobs_household(client, alice, registry):
    son = registry[VILLAGE_A][0].members.get(relationship=Relationship.SON)
    client.force_login(alice)
    response = transfer(client, son, to_household=registry[VILLAGE_B][0].pk, relationship="son", reason="x")
    assert response.status_code == 400
    assert response.json() == {"to_household": ["迁入户不存在或不在您的管辖范围内。"]}
    assert not MemberTransfer.objects.exists()


def test_it_asks_for_the_reason_and_relationship_of_a_transfer(client, alice, registry):
    son = registry[VILLAGE_A][0].members.get(relationship=Relationship.SON)
    client.force_login(alice)
    response = transfer(client, son, to_household=registry[VILLAGE_A][1].pk)
    assert response.status_code == 400
    body = response.json()
    assert body["reason"] == ["请填写转移原因。"]
    assert body["relationship"] == ["请选择在新户中与户主的关系。"]
    assert not MemberTransfer.objects.exists()


# --- read-only supervisor -------------------------------------------------------------------


def test_it_lets_the_supervisor_read_but_not_write(client, sue, registry):
    household = registry[VILLAGE_A][0]
    son = household.members.get(relationship=Relationship.SON)
    client.force_login(sue)
    assert client.get(URL).json()["count"] == 8
    for response in (
        post(client, URL, new_member(household)),
        patch(client, son, {"name": "改名"}),
        client.delete(f"{URL}{son.pk}/"),
        transfer(client, son, to_household=registry[VILLAGE_A][1].pk, reason="x"),
    ):
        assert response.status_code == 403
        assert response.json() == {"detail": READ_ONLY}
    assert household.members.count() == 2
    assert not MemberTransfer.objects.exists()


def test_it_refuses_to_transfer_a_households_only_member(client, alice, registry):
    lone = registry[VILLAGE_A][2].members.get()
    client.force_login(alice)
    response = transfer(client, lone, to_household=registry[VILLAGE_A][1].pk, relationship="other", reason="并户")
    assert response.status_code == 400
    assert registry[VILLAGE_A][2].members.count() == 1


def test_it_names_the_transfer_in_the_conflict_of_a_stale_household_edit(client, alice, tom, registry):
    source, target = registry[VILLAGE_A][0], registry[VILLAGE_A][1]
    son = source.members.get(relationship=Relationship.SON)
    client.force_login(tom)
    transfer(client, son, to_household=target.pk, relationship="son", reason="分户")
    client.force_login(alice)
    response = client.patch(
        f"/api/v1/households/{source.pk}/", {"version": 1, "group_no": 3}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "张涛" in response.json()["detail"]
