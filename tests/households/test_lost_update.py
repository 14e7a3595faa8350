"""No silent lost update: tom (town) and alice (village) both open the 王 household;
tom saves first, and alice's save, begun from the same version, is refused with a
message naming tom, so she re-reads before overwriting his correction.
"""

import pytest
from django.utils import timezone

from households import services
from households.models import Household
from households.services import ConcurrentEditError
from tests.households.conftest import edit_form_data, member_data
from tests.html import element


def stale_message(household: Household, who: str) -> str:
    household.refresh_from_db()
    when = timezone.localtime(household.updated_at).strftime("%Y-%m-%d %H:%M")
    return f"该户信息已被{who}于{when}修改，您的修改未保存。请刷新页面，在最新信息上重新修改。"


def test_the_second_of_two_edits_from_the_same_version_is_refused(alice, tom, wang):
    start = wang.version
    services.household_update(by=tom, household=wang, data={"group_no": 3}, members=None, version=start)

    with pytest.raises(ConcurrentEditError) as caught:
        services.household_update(
            by=alice, household=wang, data={"group_no": 5, "helper_name": "李四"}, members=None, version=start
        )

    assert str(caught.value) == stale_message(wang, "张涛")
    wang.refresh_from_db()
    assert (wang.group_no, wang.helper_name, wang.version) == (3, "周帮扶", start + 1)


def test_the_refused_edit_saves_once_made_on_the_latest_version(alice, tom, wang):
    services.household_update(by=tom, household=wang, data={"group_no": 3}, members=None, version=wang.version)
    wang.refresh_from_db()

    services.household_update(
        by=alice, household=wang, data={"helper_name": "李四"}, members=None, version=wang.version
    )

    wang.refresh_from_db()
    assert (wang.group_no, wang.helper_name) == (3, "李四")


def test_the_edit_page_carries_the_version_it_was_opened_at(client, alice, tom, wang):
    services.household_update(by=tom, household=wang, data={"group_no": 3}, members=None, version=wang.version)
    client.force_login(alice)

    response = client.get(f"/households/{wang.pk}/edit/")

    assert element(response, "input", name="version").attrs["value"] == str(Household.objects.get(pk=wang.pk).version)


def test_the_edit_page_refuses_a_stale_save_and_keeps_the_first_edit(client, alice, tom, wang):
    client.force_login(alice)
    # alice opens the page and adds 王小红, while tom corrects the group number.
    opened = edit_form_data(
        wang,
        changes={"group_no": 5, "helper_name": "李四"},
        members=[member_data(name="王小红", relationship="daughter")],
    )
    services.household_update(by=tom, household=wang, data={"group_no": 3}, members=None, version=wang.version)

    response = client.post(f"/households/{wang.pk}/edit/", opened)

    assert response.status_code == 400
    assert element(response, "div", data_testid="form-errors").text == stale_message(wang, "张涛")
    assert "已被张涛于" in element(response, "div", data_testid="form-errors").text
    wang.refresh_from_db()
    assert (wang.group_no, wang.helper_name) == (3, "周帮扶")
    assert not wang.members.filter(name="王小红").exists()


def test_the_edit_page_saves_when_nobody_saved_in_between(client, alice, wang):
    client.force_login(alice)

    response = client.post(
        f"/households/{wang.pk}/edit/", edit_form_data(wang, changes={"group_no": 5, "helper_name": "李四"})
    )

    assert response.status_code == 302
    wang.refresh_from_db()
    assert (wang.group_no, wang.helper_name, wang.version) == (5, "李四", 2)
