"""/api/v1/households/: the registry through the API, scoped and ruled like the pages.

alice works in village A, bob in village B; sue watches the whole city read-only.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households.idnumbers import mask_id_number
from households.models import Household, Member, PersonalDataAccess, Relationship, Sex
from tests.conftest import PASSWORD, VILLAGE_A, VILLAGE_A2, VILLAGE_B, household_in
from tests.factories import valid_id_number

URL = "/api/v1/households/"
READ_ONLY = "市级督查账号为只读账号，不能修改数据。"
CHECK_DIGIT = "证件号码校验位错误，请核对是否录入有误。"


def member_payload(**fields):
    return {
        "name": "张秀兰",
        "id_number": valid_id_number(birth=datetime.date(1975, 3, 2), sex=Sex.FEMALE),
        "relationship": "head",
        "education": "primary",
        "labour_skill": "ordinary",
        "medical_insurance": "resident",
        "critical_illness_insurance": True,
        **fields,
    }


def household_payload(**fields):
    return {
        "number": "610902101201000123",
        "village": VILLAGE_A,
        "group_no": 3,
        "phone": "13812345678",
        "identification_standard": "national",
        "attribute": "dibao",
        "main_cause": "illness",
        "other_causes": ["lack_funds"],
        "identification_year": 2016,
        "helper_name": "周帮扶",
        "helper_unit": "汉滨区扶贫局",
        "helper_phone": "13987654321",
        "members": [member_payload()],
        **fields,
    }


def post(client, payload, **kwargs):
    return client.post(URL, payload, content_type="application/json", **kwargs)


def patch(client, household, payload):
    return client.patch(f"{URL}{household.pk}/", payload, content_type="application/json")


# --- create --------------------------------------------------------------------------------


def test_it_registers_a_household_with_its_members(client, alice):
    head_id = valid_id_number(birth=datetime.date(1975, 3, 2), sex=Sex.FEMALE)
    son_id = valid_id_number(birth=datetime.date(2001, 8, 30), sex=Sex.MALE)
    client.force_login(alice)
    response = post(
        client,
        household_payload(
            members=[
                member_payload(id_number=head_id),
                member_payload(name="王小明", id_number=son_id, relationship="son", education="senior"),
            ]
        ),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    household = Household.objects.get(number="610902101201000123")
    assert body["id"] == household.pk
    assert body["village"] == VILLAGE_A
    assert body["village_name"] == "西关村"
    assert body["head_name"] == "张秀兰"
    assert body["member_count"] == 2
    assert body["version"] == 1
    assert body["attribute_display"] == "低保贫困户"
    assert body["main_cause_display"] == "因病"
    assert body["other_causes_display"] == ["缺资金"]
    assert body["exit_status_display"] == "未脱贫"
    # Phones and ID numbers leave the server masked (DOMAIN.md §9) ...
    assert body["phone"] == "138****5678"
    assert body["helper_phone"] == "139****4321"
    head, son = body["members"]
    assert head["id_number"] == mask_id_number(head_id) == head_id[:6] + "********" + head_id[-4:]
    assert (head["sex"], head["sex_display"], head["birth_date"]) == ("female", "女", "1975-03-02")
    assert (son["sex"], son["birth_date"], son["relationship_display"]) == ("male", "2001-08-30", "之子")
    # ... but are stored in full.
    assert household.phone == "13812345678"
    assert set(household.members.values_list("id_number", flat=True)) == {head_id, son_id}


def test_it_puts_a_wrong_check_digit_under_the_members_row(client, alice):
    good = valid_id_number()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    client.force_login(alice)
    response = post(client, household_payload(members=[member_payload(id_number=bad)]))

    assert response.status_code == 400
    body = response.json()
    assert body["members"] == {"0": {"id_number": [CHECK_DIGIT]}}
    assert body["messages"] == [f"第1个成员 证件号码：{CHECK_DIGIT}"]
    assert not Household.objects.exists()


def test_it_refuses_a_household_without_a_head(client, alice):
    client.force_login(alice)
    response = post(client, household_payload(members=[member_payload(relationship="spouse")]))

    assert response.status_code == 400
    assert response.json()["members"]["non_field_errors"] == ["每户必须有且只有一名户主，当前没有户主。"]
    assert not Household.objects.exists()


def test_it_requires_the_members_list(client, alice):
    client.force_login(alice)
    payload = household_payload()
    del payload["members"]
    response = post(client, payload)
    assert response.status_code == 400
    assert response.json() == {"members": ["该字段是必填项。"]}


def test_it_refuses_an_id_registered_where_alice_cannot_see_without_saying_where(client, alice, registry):
    elsewhere = registry[VILLAGE_B][0]
    taken = elsewhere.members.get().id_number
    client.force_login(alice)
    response = post(client, household_payload(members=[member_payload(id_number=taken)]))

    assert response.status_code == 400
    [message] = response.json()["members"]["0"]["id_number"]
    assert "已在其他地区登记" in message
    assert elsewhere.number not in response.content.decode()
    assert elsewhere.members.get().name not in response.content.decode()


def test_it_names_the_household_of_a_duplicate_id_alice_can_see(client, alice, registry):
    mine = registry[VILLAGE_A][1]
    client.force_login(alice)
    response = post(client, household_payload(members=[member_payload(id_number=mine.members.get().id_number)]))

    assert response.status_code == 400
    assert mine.number in response.json()["members"]["0"]["id_number"][0]


def test_it_refuses_a_village_outside_alices_region(client, alice):
    client.force_login(alice)
    response = post(client, household_payload(village=VILLAGE_B))
    assert response.status_code == 400
    assert response.json()["village"] == ["所选村不在您的管辖范围内。"]


def test_it_answers_an_unknown_choice_in_chinese(client, alice):
    client.force_login(alice)
    response = post(client, household_payload(attribute="rich"))
    assert response.status_code == 400
    assert response.json() == {"attribute": ["“rich” 不是合法选项。"]}


def test_it_names_the_group_when_the_group_number_is_zero(client, alice):
    client.force_login(alice)
    response = post(client, household_payload(group_no=0))
    assert response.status_code == 400
    assert "group_no" in response.json()


# --- read: scope, masking, filters ----------------------------------------------------------


def test_it_lists_only_alices_village(client, alice, registry):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert sorted(r["number"] for r in rows) == sorted(h.number for h in registry[VILLAGE_A])
    first = next(r for r in rows if r["number"] == registry[VILLAGE_A][0].number)
    assert first["member_count"] == 2
    assert first["head_name"] == registry[VILLAGE_A][0].members.get(relationship=Relationship.HEAD).name
    assert "members" not in first


def test_it_lists_the_whole_town_to_its_official(client, tom, registry):
    client.force_login(tom)
    assert client.get(URL).json()["count"] == 5
    only_a2 = client.get(URL, {"region": VILLAGE_A2}).json()["results"]
    assert {r["village"] for r in only_a2} == {VILLAGE_A2}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"region": VILLAGE_B},
        {"q": "number"},
        {"q": "head"},
        {"q": "id_number"},
        {"exit_status": "not_exited"},
        {"attribute": "general", "main_cause": "illness"},
    ],
    ids=["all", "region", "q-number", "q-head", "q-id", "status", "attribute"],
)
def test_it_never_shows_bobs_household_to_alice(client, alice, registry, params):
    bobs = registry[VILLAGE_B][0]
    head = bobs.members.get()
    replace = {"number": bobs.number, "head": head.name, "id_number": head.id_number}
    params = {k: replace.get(v, v) for k, v in params.items()}
    client.force_login(alice)
    if "q" in params and params["q"] == head.id_number:  # a full ID number goes in the body
        response = client.post(f"{URL}search/", params, content_type="application/json")
    else:
        response = client.get(URL, params)
    assert response.status_code == 200
    assert bobs.number not in [r["number"] for r in response.json()["results"]]


def test_it_finds_alices_own_household_by_a_full_id_number(client, alice, registry):
    mine = registry[VILLAGE_A][1]
    client.force_login(alice)
    number = mine.members.get().id_number
    assert client.get(URL, {"q": number}).status_code == 400  # never in a URL
    rows = client.post(f"{URL}search/", {"q": number}, content_type="application/json").json()["results"]
    assert [r["number"] for r in rows] == [mine.number]


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_it_answers_404_for_bobs_household(client, alice, registry, method):
    bobs = registry[VILLAGE_B][0]
    client.force_login(alice)
    response = getattr(client, method)(
        f"{URL}{bobs.pk}/", {"version": bobs.version, "group_no": 9}, content_type="application/json"
    )
    assert response.status_code == 404
    assert bobs.number not in response.content.decode()
    bobs.refresh_from_db()
    assert (bobs.group_no, bobs.version) == (1, 1)


def test_it_retrieves_the_members_masked(client, alice, registry):
    household = registry[VILLAGE_A][0]
    client.force_login(alice)
    body = client.get(f"{URL}{household.pk}/").json()
    members = list(household.members.order_by("id"))
    assert [m["id"] for m in body["members"]] == [m.pk for m in members]
    assert [m["id_number"] for m in body["members"]] == [mask_id_number(m.id_number) for m in members]
    assert members[0].id_number not in str(body)


def test_it_lists_in_the_same_number_of_queries_whatever_the_page_size(client, alice, regions):
    for _ in range(3):
        household_in(VILLAGE_A, members=2)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as small:
        assert len(client.get(URL).json()["results"]) == 3
    for _ in range(27):
        household_in(VILLAGE_A, members=2)
    with CaptureQueriesContext(connection) as large:
        rows = client.get(URL).json()["results"]
    assert len(rows) == 30
    assert all(r["member_count"] == 2 and r["head_name"] for r in rows)
    assert len(large) == len(small)


def test_it_retrieves_the_members_in_one_query_whatever_their_number(client, alice, regions):
    small_household = household_in(VILLAGE_A, members=1)
    large_household = household_in(VILLAGE_A, members=6)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as small:
        assert len(client.get(f"{URL}{small_household.pk}/").json()["members"]) == 1
    with CaptureQueriesContext(connection) as large:
        assert len(client.get(f"{URL}{large_household.pk}/").json()["members"]) == 6
    assert len(large) == len(small)


def test_it_refuses_an_anonymous_caller(client, registry):
    assert client.get(URL).status_code in (401, 403)
    assert post(client, household_payload()).status_code in (401, 403)


# --- update ---------------------------------------------------------------------------------


def test_it_saves_an_edit_and_bumps_the_version(client, alice, registry):
    household = registry[VILLAGE_A][1]
    client.force_login(alice)
    response = patch(client, household, {"version": 1, "group_no": 5, "special_notes": "新修的路"})
    assert response.status_code == 200, response.json()
    assert (response.json()["group_no"], response.json()["version"]) == (5, 2)
    household.refresh_from_db()
    assert (household.group_no, household.special_notes, household.version) == (5, "新修的路", 2)
    assert household.history.first().history_user == alice


def test_it_requires_the_version_naming_it(client, alice, registry):
    household = registry[VILLAGE_A][1]
    client.force_login(alice)
    response = patch(client, household, {"group_no": 5})
    assert response.status_code == 400
    [message] = response.json()["version"]
    assert "版本" in message
    household.refresh_from_db()
    assert household.group_no == 1


def test_it_refuses_a_stale_version_with_409(client, alice, tom, registry):
    household = registry[VILLAGE_A][1]
    client.force_login(tom)
    assert patch(client, household, {"version": 1, "group_no": 4}).status_code == 200
    client.force_login(alice)
    response = patch(client, household, {"version": 1, "group_no": 5})

    assert response.status_code == 409
    assert "您的修改未保存" in response.json()["detail"]
    assert "张涛" in response.json()["detail"]
    household.refresh_from_db()
    assert (household.group_no, household.version) == (4, 2)


def test_it_keeps_a_phone_sent_back_masked(client, alice, registry):
    household = registry[VILLAGE_A][1]
    Household.objects.filter(pk=household.pk).update(phone="13812345678", helper_phone="13987654321")
    client.force_login(alice)
    shown = client.get(f"{URL}{household.pk}/").json()
    response = patch(
        client,
        household,
        {"version": shown["version"], "phone": shown["phone"], "helper_phone": "13700001111"},
    )
    assert response.status_code == 200, response.json()
    household.refresh_from_db()
    assert (household.phone, household.helper_phone) == ("13812345678", "13700001111")


def test_it_refuses_a_bad_phone_with_the_services_message(client, alice, registry):
    household = registry[VILLAGE_A][1]
    client.force_login(alice)
    response = patch(client, household, {"version": 1, "phone": "12345"})
    assert response.status_code == 400
    assert response.json()["phone"] == ["联系电话应为11位手机号码（1开头）。"]
    assert response.json()["messages"] == ["联系电话：联系电话应为11位手机号码（1开头）。"]


def test_it_edits_adds_and_removes_members_in_one_request(client, alice, registry):
    household = registry[VILLAGE_A][0]  # 户主 and a son at primary school
    head, son = household.members.order_by("id")
    client.force_login(alice)
    shown = client.get(f"{URL}{household.pk}/").json()
    newcomer = valid_id_number(birth=datetime.date(1978, 1, 9), sex=Sex.FEMALE)
    response = patch(
        client,
        household,
        {
            "version": shown["version"],
            "members": [
                # Only what changed, and the masked ID number as it was shown: kept.
                {"id": head.pk, "id_number": shown["members"][0]["id_number"], "family_doctor": True},
                {"id": son.pk, "DELETE": True},
                member_payload(name="刘芳", id_number=newcomer, relationship="spouse"),
            ],
        },
    )
    assert response.status_code == 200, response.json()
    assert [m["name"] for m in response.json()["members"]] == [head.name, "刘芳"]
    kept = Member.objects.get(pk=head.pk)
    assert kept.family_doctor is True
    assert (kept.id_number, kept.name, kept.relationship) == (head.id_number, head.name, "head")
    assert not Member.objects.filter(pk=son.pk).exists()
    assert Member.objects.get(id_number=newcomer).birth_date == datetime.date(1978, 1, 9)


def test_it_numbers_member_errors_by_their_position_in_the_submitted_list(client, alice, registry):
    household = registry[VILLAGE_A][0]
    head, son = household.members.order_by("id")
    good = valid_id_number()
    client.force_login(alice)
    response = patch(
        client,
        household,
        {
            "version": 1,
            "members": [
                {"id": head.pk},
                {"id": son.pk, "DELETE": True},
                member_payload(relationship="daughter", id_number=good[:17] + ("0" if good[17] != "0" else "1")),
            ],
        },
    )
    assert response.status_code == 400
    assert response.json()["members"] == {"2": {"id_number": [CHECK_DIGIT]}}


def test_it_refuses_a_member_row_of_another_household(client, alice, registry):
    household, other = registry[VILLAGE_A][0], registry[VILLAGE_A][1]
    head = household.members.get(relationship=Relationship.HEAD)
    client.force_login(alice)
    response = patch(client, household, {"version": 1, "members": [{"id": head.pk}, {"id": other.members.get().pk}]})
    assert response.status_code == 400
    assert response.json()["members"]["non_field_errors"] == ["成员记录不属于该户，请刷新页面后重试。"]


# --- delete ---------------------------------------------------------------------------------


def test_it_deletes_a_household_registered_by_mistake(client, alice, registry):
    household = registry[VILLAGE_A][0]
    client.force_login(alice)
    assert client.delete(f"{URL}{household.pk}/").status_code == 204
    assert not Household.objects.filter(pk=household.pk).exists()
    assert not Member.objects.filter(household_id=household.pk).exists()
    assert Household.history.filter(id=household.pk, history_type="-").get().history_user == alice


# --- privacy ----------------------------------------------------------------------------------


def test_it_reveals_the_full_phone_and_logs_it(client, alice, registry):
    household = registry[VILLAGE_A][1]
    Household.objects.filter(pk=household.pk).update(phone="13812345678")
    client.force_login(alice)
    response = client.post(f"{URL}{household.pk}/reveal-phone/")
    assert response.status_code == 200
    assert response.json() == {"phone": "13812345678"}
    log = PersonalDataAccess.objects.get()
    assert (log.user, log.household, log.action) == (alice, household, "reveal")


def test_it_refuses_the_supervisor_the_full_phone(client, sue, registry):
    household = registry[VILLAGE_A][1]
    client.force_login(sue)
    response = client.post(f"{URL}{household.pk}/reveal-phone/")
    assert response.status_code == 403
    assert response.json() == {"detail": "您的角色不能查看完整的证件号码和电话号码。"}
    assert not PersonalDataAccess.objects.exists()


def test_it_answers_404_when_alice_asks_for_bobs_phone(client, alice, registry):
    client.force_login(alice)
    assert client.post(f"{URL}{registry[VILLAGE_B][0].pk}/reveal-phone/").status_code == 404
    assert not PersonalDataAccess.objects.exists()


# --- read-only supervisor, token auth -------------------------------------------------------


def test_it_lets_the_supervisor_read_but_not_write(client, sue, registry):
    household = registry[VILLAGE_A][1]
    client.force_login(sue)
    assert client.get(URL).json()["count"] == 7
    assert client.get(f"{URL}{household.pk}/").status_code == 200
    for response in (
        post(client, household_payload()),
        patch(client, household, {"version": 1, "group_no": 5}),
        client.delete(f"{URL}{household.pk}/"),
    ):
        assert response.status_code == 403
        assert response.json() == {"detail": READ_ONLY}
    assert Household.objects.count() == 7
    household.refresh_from_db()
    assert household.group_no == 1


def test_it_registers_a_household_with_an_api_token(client, alice):
    token = client.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}).json()["token"]
    response = post(client, household_payload(), headers={"Authorization": f"Token {token}"})
    assert response.status_code == 201, response.json()
    household = Household.objects.get()
    assert household.history.get().history_user == alice


def test_it_documents_the_registry_endpoints_in_chinese(client, carol):
    client.force_login(carol)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert schema["paths"]["/api/v1/households/"]["post"]["summary"] == "登记贫困户及其家庭成员"
    assert schema["paths"]["/api/v1/members/{id}/transfer/"]["post"]["summary"].startswith("成员转移")
    assert "409" in schema["paths"]["/api/v1/households/{id}/"]["patch"]["responses"]
