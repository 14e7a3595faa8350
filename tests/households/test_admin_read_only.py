"""Django admin shows the registry and never writes it (issue 14): households and members
are written through households.services only, where the rules of DOMAIN.md §2 run and
脱贫状态 stays the exit workflow's (§4). root, the administrator, can look — and can
neither add, change, delete nor revert a household or a member there.
"""

import pytest

from households import services
from households.models import Household, Member
from tests.html import elements

HOUSEHOLDS = "/admin/households/household/"
MEMBERS = "/admin/households/member/"


def snapshot() -> dict:
    return {
        "households": list(Household.objects.order_by("pk").values()),
        "members": list(Member.objects.order_by("pk").values()),
        "history": (Household.history.count(), Member.history.count()),
    }


@pytest.fixture
def admin_client(client, root):
    client.force_login(root)
    return client


def test_root_reads_a_household_and_its_members(admin_client, wang):
    response = admin_client.get(f"{HOUSEHOLDS}{wang.pk}/change/")

    assert response.status_code == 200
    assert wang.number in response.content.decode()
    assert not elements(response, "input", name="_save")
    assert admin_client.get(f"{MEMBERS}{wang.members.first().pk}/change/").status_code == 200


def test_root_cannot_change_a_household(admin_client, wang):
    before = snapshot()

    response = admin_client.post(
        f"{HOUSEHOLDS}{wang.pk}/change/",
        {"number": wang.number, "village": wang.village_id, "group_no": 9, "exit_status": "exited", "exit_year": 2019},
    )

    assert response.status_code == 403
    assert snapshot() == before


def test_root_cannot_save_a_member_with_a_wrong_check_digit(admin_client, wang):
    head = wang.members.get(relationship="head")
    wrong = head.id_number[:17] + ("1" if head.id_number[17] != "1" else "2")
    before = snapshot()

    response = admin_client.post(
        f"{MEMBERS}{head.pk}/change/", {"name": head.name, "id_number": wrong, "household": wang.pk}
    )

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("path", [HOUSEHOLDS, MEMBERS])
def test_root_cannot_add(admin_client, wang, path):
    before = snapshot()

    assert admin_client.get(f"{path}add/").status_code == 403
    assert admin_client.post(f"{path}add/", {"name": "赵四"}).status_code == 403
    assert snapshot() == before


def test_root_cannot_delete(admin_client, wang):
    before = snapshot()
    head = wang.members.get(relationship="head")

    assert admin_client.post(f"{HOUSEHOLDS}{wang.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.post(f"{MEMBERS}{head.pk}/delete/", {"post": "yes"}).status_code == 403
    admin_client.post(HOUSEHOLDS, {"action": "delete_selected", "_selected_action": [wang.pk], "post": "yes"})
    assert snapshot() == before


def test_root_cannot_revert_to_an_old_version(admin_client, alice, wang):
    """simple-history's "revert" saves the old version on POST with only a view check."""
    services.household_update(by=alice, household=wang, data={"group_no": 5}, members=None, version=wang.version)
    first = wang.history.order_by("history_id").first()
    before = snapshot()
    url = f"{HOUSEHOLDS}{wang.pk}/history/{first.history_id}/"

    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {}).status_code == 403
    assert snapshot() == before
    wang.refresh_from_db()
    assert wang.group_no == 5
