"""A member moving between households is a transfer, never a second registration
(DOMAIN.md §2): alice moves 王小明 from his parents' household to his grandmother's.
"""

import datetime

import pytest

from households import services
from households.models import Household, Member, MemberTransfer, Sex
from households.services import RegistryError
from tests.factories import valid_id_number
from tests.households.conftest import household_data, member_data
from tests.html import elements, text

REASON = "随外祖母生活，户口迁入"


@pytest.fixture
def chen(alice) -> Household:
    """陈玉梅, 76, living alone in alice's village: 王小明's grandmother."""
    return services.household_create(
        by=alice,
        data=household_data(number="610902101201000102", phone="13700002222"),
        members=[
            member_data(
                name="陈玉梅",
                id_number=valid_id_number(birth=datetime.date(1950, 6, 18), sex=Sex.FEMALE),
                education="illiterate",
                labour_skill="none",
            )
        ],
    )


def version(household) -> int:
    return Household.objects.get(pk=household.pk).version


def assert_nothing_moved(member: Member, household: Household) -> None:
    member.refresh_from_db()
    assert member.household_id == household.pk
    assert not MemberTransfer.objects.exists()


def test_it_moves_a_member_and_records_the_transfer(alice, wang, chen):
    xiaoming = wang.members.get(name="王小明")

    services.member_transfer(
        by=alice, member=xiaoming, to_household=chen, relationship="daughters_son", reason=f"  {REASON} "
    )

    xiaoming.refresh_from_db()
    assert (xiaoming.household_id, xiaoming.relationship) == (chen.pk, "daughters_son")
    transfer = MemberTransfer.objects.get()
    assert (transfer.member, transfer.from_household, transfer.to_household) == (xiaoming, wang, chen)
    assert (transfer.from_relationship, transfer.to_relationship) == ("son", "daughters_son")
    assert (transfer.reason, transfer.transferred_by) == (REASON, alice)
    assert sorted(Member.objects.filter(household=chen).values_list("name", flat=True)) == ["王小明", "陈玉梅"]
    assert sorted(Member.objects.filter(household=wang).values_list("name", flat=True)) == ["张秀兰", "王建国"]


def test_the_members_history_keeps_the_household_he_came_from(alice, wang, chen):
    xiaoming = wang.members.get(name="王小明")

    services.member_transfer(by=alice, member=xiaoming, to_household=chen, relationship="daughters_son", reason=REASON)

    rows = list(xiaoming.history.order_by("history_date", "history_id"))
    assert [(r.household_id, r.relationship) for r in rows] == [(wang.pk, "son"), (chen.pk, "daughters_son")]
    assert rows[-1].history_user == alice
    assert rows[-1].history_change_reason == f"成员转移：{REASON}"


def test_it_makes_an_edit_of_either_household_begun_before_the_move_stale(alice, wang, chen):
    before = version(wang), version(chen)
    xiaoming = wang.members.get(name="王小明")

    services.member_transfer(by=alice, member=xiaoming, to_household=chen, relationship="daughters_son", reason=REASON)

    assert (version(wang), version(chen)) == (before[0] + 1, before[1] + 1)
    with pytest.raises(services.ConcurrentEditError):
        services.household_update(by=alice, household=wang, data={"group_no": 7}, members=None, version=before[0])


def test_it_refuses_a_household_alice_cannot_see(alice, wang, liu):
    xiaoming = wang.members.get(name="王小明")

    with pytest.raises(RegistryError) as caught:
        services.member_transfer(by=alice, member=xiaoming, to_household=liu, relationship="son", reason=REASON)

    assert caught.value.general == ["迁出户和迁入户都必须在您的管辖范围内；跨区域迁移请由共同的上级办理。"]
    assert_nothing_moved(xiaoming, wang)
    assert version(liu) == 1


def test_it_refuses_to_move_the_head_out_of_a_household_with_others(alice, wang, chen):
    jianguo = wang.members.get(name="王建国")

    with pytest.raises(RegistryError) as caught:
        services.member_transfer(by=alice, member=jianguo, to_household=chen, relationship="son", reason=REASON)

    assert caught.value.household == {"relationship": ["户主迁出前，请先为原户指定新的户主。"]}
    assert_nothing_moved(jianguo, wang)


def test_it_refuses_a_second_head_for_the_target(alice, wang, chen):
    xiaoming = wang.members.get(name="王小明")

    with pytest.raises(RegistryError) as caught:
        services.member_transfer(by=alice, member=xiaoming, to_household=chen, relationship="head", reason=REASON)

    assert caught.value.household == {"relationship": ["迁入户已有户主。"]}
    assert_nothing_moved(xiaoming, wang)


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_asks_for_a_reason(alice, wang, chen, reason):
    xiaoming = wang.members.get(name="王小明")

    with pytest.raises(RegistryError) as caught:
        services.member_transfer(
            by=alice, member=xiaoming, to_household=chen, relationship="daughters_son", reason=reason
        )

    assert caught.value.household == {"reason": ["请填写转移原因。"]}
    assert_nothing_moved(xiaoming, wang)


def test_it_refuses_a_move_into_the_same_household(alice, wang):
    xiaoming = wang.members.get(name="王小明")

    with pytest.raises(RegistryError) as caught:
        services.member_transfer(by=alice, member=xiaoming, to_household=wang, relationship="son", reason=REASON)

    assert caught.value.household == {"to_household": ["迁入户与当前所在户相同。"]}
    assert_nothing_moved(xiaoming, wang)


def test_the_supervisor_cannot_transfer(sue, wang, chen):
    xiaoming = wang.members.get(name="王小明")

    with pytest.raises(PermissionError):
        services.member_transfer(
            by=sue, member=xiaoming, to_household=chen, relationship="daughters_son", reason=REASON
        )

    assert_nothing_moved(xiaoming, wang)


# --- the page --------------------------------------------------------------------------------


def test_the_transfer_page_moves_the_member_and_both_households_show_it(client, alice, wang, chen):
    xiaoming = wang.members.get(name="王小明")
    client.force_login(alice)

    response = client.post(
        f"/households/members/{xiaoming.pk}/transfer/",
        {"to_household": chen.number, "relationship": "daughters_son", "reason": REASON},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/households/{chen.pk}/"
    for household in (wang, chen):
        page = client.get(f"/households/{household.pk}/")
        assert f"王小明：{wang.number}（之子）→ {chen.number}（之外孙子）· {REASON} · 李爱丽" in text(page)


def test_the_transfer_page_does_not_find_bobs_household(client, alice, wang, liu):
    xiaoming = wang.members.get(name="王小明")
    client.force_login(alice)

    response = client.post(
        f"/households/members/{xiaoming.pk}/transfer/",
        {"to_household": liu.number, "relationship": "son", "reason": REASON},
    )

    assert response.status_code == 200
    errors = [e.text for e in elements(response, "div", "invalid-feedback")]
    assert errors == ["迁入户不存在或不在您的管辖范围内。"]
    assert_nothing_moved(xiaoming, wang)


def test_the_transfer_page_is_404_for_bobs_member(client, alice, liu, wang):
    guifang = liu.members.get()
    client.force_login(alice)

    response = client.post(
        f"/households/members/{guifang.pk}/transfer/",
        {"to_household": wang.number, "relationship": "mother", "reason": REASON},
    )

    assert response.status_code == 404
    assert_nothing_moved(guifang, liu)
