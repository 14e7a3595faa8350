"""Full ID and phone numbers are shown on request only, to roles that need them, and
every such view is recorded (DOMAIN.md §9). alice works with the 王 family; sue
supervises the city read-only and sees masked numbers only.
"""

import datetime

import pytest

from households import services
from households.idnumbers import mask_id_number, mask_phone
from households.models import PersonalDataAccess, Sex
from tests.factories import valid_id_number
from tests.html import element, elements

NOT_YOUR_ROLE = "您的角色不能查看完整的证件号码和电话号码。"


def reveal_member(client, member):
    return client.post(f"/households/members/{member.pk}/reveal/")


def reveal_phone(client, household):
    return client.post(f"/households/{household.pk}/reveal-phone/")


def test_alice_sees_a_full_id_number_and_it_is_recorded(client, alice, wang):
    xiulan = wang.members.get(name="张秀兰")
    client.force_login(alice)

    response = reveal_member(client, xiulan)

    assert response.status_code == 200
    assert element(response, "span", "font-monospace").text == xiulan.id_number
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.action, access.member, access.household) == (alice, "reveal", xiulan, wang)
    assert access.detail == "证件号码"


def test_each_reveal_is_recorded_again(client, alice, wang):
    xiulan = wang.members.get(name="张秀兰")
    client.force_login(alice)

    reveal_member(client, xiulan)
    reveal_member(client, xiulan)

    assert PersonalDataAccess.objects.filter(user=alice, member=xiulan).count() == 2


def test_alice_sees_the_full_phone_and_it_is_recorded(client, alice, wang):
    client.force_login(alice)

    response = reveal_phone(client, wang)

    assert response.status_code == 200
    assert element(response, "span", "font-monospace").text == "13812345678"
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.action, access.household, access.member) == (alice, "reveal", wang, None)
    assert access.detail == "联系电话"


def test_the_town_official_may_reveal_too(client, tom, wang):
    client.force_login(tom)

    response = reveal_member(client, wang.members.get(name="王建国"))

    assert response.status_code == 200
    assert PersonalDataAccess.objects.get().user == tom


@pytest.mark.parametrize("reveal", ["member", "phone"])
def test_the_supervisor_is_refused_and_nothing_is_recorded(client, sue, wang, reveal):
    client.force_login(sue)

    if reveal == "member":
        response = reveal_member(client, wang.members.get(name="张秀兰"))
    else:
        response = reveal_phone(client, wang)

    assert response.status_code == 403
    assert NOT_YOUR_ROLE in response.content.decode()
    assert not PersonalDataAccess.objects.exists()


def test_alice_gets_404_for_bobs_member_and_his_households_phone(client, alice, liu):
    client.force_login(alice)

    assert reveal_member(client, liu.members.get()).status_code == 404
    assert reveal_phone(client, liu).status_code == 404
    assert not PersonalDataAccess.objects.exists()


def test_a_reveal_must_be_posted(client, alice, wang):
    client.force_login(alice)

    assert client.get(f"/households/members/{wang.members.first().pk}/reveal/").status_code == 405
    assert client.get(f"/households/{wang.pk}/reveal-phone/").status_code == 405
    assert not PersonalDataAccess.objects.exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client, wang):
    response = reveal_member(client, wang.members.first())

    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert not PersonalDataAccess.objects.exists()


# --- what the pages show without a reveal ------------------------------------------------------------


def test_the_detail_page_shows_masked_numbers_only(client, alice, wang):
    client.force_login(alice)

    response = client.get(f"/households/{wang.pk}/")

    page = response.content.decode()
    for member in wang.members.all():
        assert member.id_number not in page
        assert element(response, "span", id=f"member-id-{member.pk}").text.startswith(mask_id_number(member.id_number))
    assert "13812345678" not in page
    assert "13987654321" not in page  # the helper's phone
    assert element(response, "dd", id="household-phone").text.startswith("138****5678")
    # alice may ask for each number: one button per member and one for the phone.
    reveal_buttons = [b for b in elements(response, "button") if b.text == "查看"]
    assert len(reveal_buttons) == 4


def test_the_supervisors_detail_page_has_no_reveal_buttons(client, sue, wang):
    client.force_login(sue)

    response = client.get(f"/households/{wang.pk}/")

    assert response.status_code == 200
    assert [b for b in elements(response, "button") if b.text == "查看"] == []
    assert all(m.id_number not in response.content.decode() for m in wang.members.all())


def test_the_edit_page_shows_masked_numbers_only(client, alice, wang):
    client.force_login(alice)

    response = client.get(f"/households/{wang.pk}/edit/")

    page = response.content.decode()
    for index, member in enumerate(wang.members.order_by("id")):
        assert member.id_number not in page
        assert element(response, "input", name=f"members-{index}-id_number").attrs["value"] == mask_id_number(
            member.id_number
        )
    assert element(response, "input", name="phone").attrs["value"] == mask_phone("13812345678")
    assert "13812345678" not in page


def test_the_history_panel_does_not_show_corrected_numbers_in_full(client, alice, sue, wang):
    xiaoming = wang.members.get(name="王小明")
    old_id = xiaoming.id_number
    new_id = valid_id_number(birth=datetime.date(2012, 9, 1), sex=Sex.MALE)
    rows = [
        {name: getattr(m, name) for name in services.MEMBER_FIELDS}
        | {"id": m.pk}
        | ({"id_number": new_id} if m.pk == xiaoming.pk else {})
        for m in wang.members.all()
    ]
    services.household_update(
        by=alice, household=wang, data={"phone": "13911112222"}, members=rows, version=wang.version
    )
    client.force_login(sue)

    page = client.get(f"/households/{wang.pk}/").content.decode()

    for full in (old_id, new_id, "13812345678", "13911112222"):
        assert full not in page
