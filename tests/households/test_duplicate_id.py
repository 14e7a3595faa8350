"""An ID number exists once in the whole registry (DOMAIN.md §2).

alice is told where a clash is when she can see it, and only "elsewhere" when it is
in bob's village: the message must not leak another region's household or person.
"""

import pytest

from households import services
from households.idnumbers import mask_id_number
from households.models import Member
from households.services import RegistryError
from tests.households.conftest import (
    counts,
    edit_form_data,
    form_data,
    household_data,
    member_data,
    son_data,
    spouse_data,
)
from tests.html import element

ELSEWHERE = "该证件号码已在其他地区登记，同一人只能登记一次；如该成员迁入本户，请联系其原户所在地办理成员转移。"


def refused(user, members, **data) -> RegistryError:
    before = counts()
    with pytest.raises(RegistryError) as caught:
        services.household_create(by=user, data=household_data(number="610902101201000199", **data), members=members)
    assert counts() == before
    return caught.value


def test_it_names_the_household_of_a_clash_in_alices_own_village(alice, wang):
    xiulan = wang.members.get(name="张秀兰")

    error = refused(alice, [member_data(name="李强"), spouse_data(name="张秀兰", id_number=xiulan.id_number)])

    assert error.members == {
        1: {
            "id_number": [
                "该证件号码已登记在户 610902101201000101（张秀兰），同一人只能登记一次；"
                "如该成员迁入本户，请使用成员转移。"
            ]
        }
    }


def test_it_says_only_elsewhere_for_a_clash_in_bobs_village(alice, liu):
    guifang = liu.members.get()

    # alice types the person as she knows her; the registry knows her as bob entered her.
    error = refused(alice, [member_data(name="刘芳", id_number=guifang.id_number)])

    assert error.members == {0: {"id_number": [ELSEWHERE]}}
    said = str(error)
    assert "已在其他地区登记" in said
    assert liu.number not in said
    assert "刘桂芳" not in said
    assert "柳坡村" not in said


def test_the_create_page_shows_the_elsewhere_message_without_bobs_household(client, alice, liu):
    guifang = liu.members.get()
    client.force_login(alice)

    response = client.post(
        "/households/new/",
        form_data(
            household_data(number="610902101201000199"),
            [member_data(name="刘芳", id_number=guifang.id_number)],
        ),
    )

    assert response.status_code == 400
    assert element(response, "div", data_testid="error-members-0-id_number").text == ELSEWHERE
    page = response.content.decode()
    assert liu.number not in page
    assert "刘桂芳" not in page
    assert "柳坡村" not in page


def test_it_refuses_the_same_person_twice_in_one_household(alice):
    twin = "11010519491231002X"

    error = refused(
        alice,
        [member_data(), spouse_data(id_number=twin), son_data(id_number=twin.lower())],
    )

    assert error.members == {2: {"id_number": ["与第2个成员的证件号码重复。"]}}


def test_editing_with_the_masked_numbers_sent_back_keeps_the_real_ones(alice, wang):
    before = dict(wang.members.values_list("name", "id_number"))
    rows = [
        {name: getattr(m, name) for name in services.MEMBER_FIELDS}
        | {"id": m.pk, "id_number": mask_id_number(m.id_number)}
        for m in wang.members.all()
    ]
    rows[0]["work_status"], rows[0]["work_place"], rows[0]["work_months"] = "in_county", "恒口镇", 4

    services.household_update(by=alice, household=wang, data={}, members=rows, version=wang.version)

    assert dict(wang.members.values_list("name", "id_number")) == before
    assert wang.members.get(name="王建国").work_place == "恒口镇"


def test_editing_with_the_full_number_retyped_is_not_a_duplicate_of_itself(alice, wang):
    rows = [{name: getattr(m, name) for name in services.MEMBER_FIELDS} | {"id": m.pk} for m in wang.members.all()]

    services.household_update(by=alice, household=wang, data={"group_no": 5}, members=rows, version=wang.version)

    wang.refresh_from_db()
    assert wang.group_no == 5


def test_a_mask_of_someone_elses_number_is_not_taken_for_a_new_member(alice, wang):
    xiulan = wang.members.get(name="张秀兰")
    rows = [{name: getattr(m, name) for name in services.MEMBER_FIELDS} | {"id": m.pk} for m in wang.members.all()]
    rows.append(member_data(name="王小红", relationship="daughter", id_number=mask_id_number(xiulan.id_number)))

    with pytest.raises(RegistryError) as caught:
        services.household_update(by=alice, household=wang, data={}, members=rows, version=wang.version)

    assert caught.value.members == {3: {"id_number": ["证件号码前17位必须是数字，最后一位是数字或X。"]}}
    assert wang.members.count() == 3


def test_the_edit_page_keeps_the_real_numbers_behind_the_masks(client, alice, wang):
    before = dict(wang.members.values_list("name", "id_number"))
    client.force_login(alice)

    response = client.post(f"/households/{wang.pk}/edit/", edit_form_data(wang, changes={"group_no": 4}))

    assert response.status_code == 302
    assert dict(Member.objects.filter(household=wang).values_list("name", "id_number")) == before
