"""Cross-area existence answers stay on the record (issue 16, point 5).

"该证件号码已在其他地区登记" tells alice that a person is registered somewhere in the
city, although she may not see where. Each such answer is recorded like a reveal, and a
user who asks too often gets no more answers: from then on every number that is not
already hers to see is refused with the limit's message, registered elsewhere or not,
so the refusal itself tells nothing.
"""

import datetime

import pytest
import time_machine
from django.utils import timezone

from households import services
from households.models import PersonalDataAccess
from households.services import RegistryError
from tests.factories import valid_id_number
from tests.households.conftest import counts, form_data, household_data, member_data, spouse_data
from tests.households.test_duplicate_id import ELSEWHERE

LIMIT = "为保护个人信息，跨地区查重每小时最多2次，您已达到上限，请稍后再试；如工作确需，请联系系统管理员。"


def try_register(user, members, number="610902101201000199"):
    before = counts()
    try:
        services.household_create(by=user, data=household_data(number=number), members=members)
    except RegistryError as error:
        assert counts() == before
        return error
    return None


def answers(user):
    return PersonalDataAccess.objects.filter(user=user, action="exists")


def test_it_records_an_elsewhere_answer_although_the_write_rolls_back(alice, liu):
    guifang = liu.members.get()
    error = try_register(alice, [member_data(name="刘芳", id_number=guifang.id_number)])
    assert error.members == {0: {"id_number": [ELSEWHERE]}}
    row = answers(alice).get()
    assert row.member == guifang
    assert row.get_action_display() == "跨地区查重"


def test_it_records_nothing_for_a_clash_alice_may_see(alice, wang):
    xiulan = wang.members.get(name="张秀兰")
    try_register(alice, [member_data(name="李强"), spouse_data(name="张秀兰", id_number=xiulan.id_number)])
    assert not answers(alice).exists()


def test_it_records_answers_given_by_the_page_and_the_api(client, alice, liu):
    guifang = liu.members.get()
    client.force_login(alice)
    page = client.post(
        "/households/new/",
        form_data(household_data(number="610902101201000199"), [member_data(id_number=guifang.id_number)]),
    )
    assert page.status_code == 400
    payload = {
        **household_data(number="610902101201000198", village="610902101201"),
        "members": [member_data(id_number=guifang.id_number)],
    }
    api = client.post("/api/v1/households/", payload, content_type="application/json")
    assert api.status_code == 400
    assert answers(alice).count() == 2


@pytest.fixture
def two_an_hour(settings):
    settings.PERSONAL_DATA_LIMITS = {**settings.PERSONAL_DATA_LIMITS, "exists": [(3600, 2), (86400, 10)]}


def test_it_stops_answering_once_the_limit_is_reached(alice, liu, two_an_hour):
    guifang = liu.members.get()
    for _ in range(2):
        assert try_register(alice, [member_data(id_number=guifang.id_number)]).members == {
            0: {"id_number": [ELSEWHERE]}
        }
    # Registered elsewhere or not registered at all: the same refusal, no answer.
    clash = try_register(alice, [member_data(id_number=guifang.id_number)])
    unknown = try_register(alice, [member_data(id_number=valid_id_number(birth=datetime.date(1980, 1, 2)))])
    assert clash.members == unknown.members == {0: {"id_number": [LIMIT]}}
    assert answers(alice).count() == 2

    # An hour later alice may register people again.
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1, minutes=1)):
        assert try_register(alice, [member_data(id_number=valid_id_number(birth=datetime.date(1980, 1, 2)))]) is None


def test_it_counts_each_user_separately(alice, bob, tom, liu, two_an_hour):
    guifang = liu.members.get()
    for _ in range(2):
        try_register(alice, [member_data(id_number=guifang.id_number)])
    assert try_register(tom, [member_data(id_number=guifang.id_number)]).members == {0: {"id_number": [ELSEWHERE]}}


def test_it_still_names_a_clash_alice_may_see_and_lets_her_edit_her_households(alice, wang, liu, two_an_hour):
    guifang = liu.members.get()
    for _ in range(2):
        try_register(alice, [member_data(id_number=guifang.id_number)])
    xiulan = wang.members.get(name="张秀兰")
    error = try_register(alice, [member_data(name="李强"), spouse_data(name="张秀兰", id_number=xiulan.id_number)])
    assert "已登记在户" in error.members[1]["id_number"][0]
    # Her registered households keep their numbers: editing them asks nothing.
    services.member_update(by=alice, member=xiulan, data={"name": "张秀英"})
    xiulan.refresh_from_db()
    assert xiulan.name == "张秀英"
    assert answers(alice).count() == 2
