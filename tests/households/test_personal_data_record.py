"""Personal data stays on the record (issue 16, point 5): the admin masks ID and phone
numbers like the rest of the app and records a reveal; reveals are limited per user.

root, the administrator, looks at 西关村's households in Django admin; alice, the
village cadre, checks numbers on the registry pages and through the API; a script with
alice's token tries to copy the registry one reveal at a time.
"""

import datetime

import pytest
import time_machine
from django.utils import timezone

from households.models import Household, Member, PersonalDataAccess
from tests.conftest import VILLAGE_A


@pytest.fixture
def member(registry):
    return Member.objects.filter(household__village_id=VILLAGE_A).order_by("pk").first()


@pytest.fixture
def household(member):
    household = member.household
    Household.objects.filter(pk=household.pk).update(phone="13800138000")
    household.refresh_from_db()
    return household


ADMIN_PAGES = [
    lambda m, h: "/admin/households/member/",
    lambda m, h: f"/admin/households/member/{m.pk}/change/",
    lambda m, h: f"/admin/households/member/{m.pk}/history/",
    lambda m, h: "/admin/households/household/",
    lambda m, h: f"/admin/households/household/{h.pk}/change/",
    lambda m, h: f"/admin/households/household/{h.pk}/history/",
]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_it_masks_numbers_on_every_admin_page(client, root, member, household, page):
    client.force_login(root)
    response = client.get(page(member, household))
    assert response.status_code == 200
    body = response.content.decode()
    assert member.id_number not in body
    assert household.phone not in body
    assert not PersonalDataAccess.objects.exists()


def test_it_masks_an_old_version_in_admin_history(client, root, member, household):
    client.force_login(root)
    version = member.history.first()
    response = client.get(f"/admin/households/member/{member.pk}/history/{version.history_id}/")
    assert response.status_code == 200
    assert member.id_number not in response.content.decode()
    assert member.id_number[:6] + "********" + member.id_number[-4:] in response.content.decode()


def test_it_does_not_search_admin_by_id_number(client, root, member):
    client.force_login(root)
    response = client.get("/admin/households/member/", {"q": member.id_number})
    assert response.status_code == 200
    assert member.name not in [r.name for r in response.context["cl"].result_list]


def test_it_records_a_reveal_in_admin(client, root, member, household):
    client.force_login(root)
    page = f"/admin/households/member/{member.pk}/reveal/"
    asked = client.get(page)
    assert asked.status_code == 200
    assert member.id_number not in asked.content.decode()
    assert not PersonalDataAccess.objects.exists()  # asking is a GET: nothing happens

    shown = client.post(page)
    assert shown.status_code == 200
    assert member.id_number in shown.content.decode()
    access = PersonalDataAccess.objects.get()
    assert (access.user, access.action, access.member, access.household) == (root, "reveal", member, household)

    client.post(f"/admin/households/household/{household.pk}/reveal/")
    phone = PersonalDataAccess.objects.get(detail="联系电话")
    assert (phone.user, phone.household) == (root, household)


def test_it_limits_reveals_per_minute_on_every_path(client, alice, member, household, settings):
    settings.PERSONAL_DATA_LIMITS = {"reveal": [(60, 3), (86400, 100)]}
    client.force_login(alice)
    api = f"/api/v1/members/{member.pk}/reveal/"
    assert [client.post(api).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.post(api)
    assert refused.status_code == 429
    assert "每分钟最多3次" in refused.json()["detail"]
    # The registry page's button and the phone count towards the same limit.
    page = client.post(f"/households/members/{member.pk}/reveal/")
    assert page.status_code == 429
    assert member.id_number not in page.content.decode()
    assert client.post(f"/api/v1/households/{household.pk}/reveal-phone/").status_code == 429
    assert PersonalDataAccess.objects.filter(user=alice).count() == 3

    # A minute later alice may look again.
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=61)):
        assert client.post(api).status_code == 200


def test_it_tells_the_htmx_button_why(client, alice, member, settings):
    settings.PERSONAL_DATA_LIMITS = {"reveal": [(60, 0)]}
    client.force_login(alice)
    response = client.post(f"/households/members/{member.pk}/reveal/", headers={"HX-Request": "true"})
    assert response.status_code == 200  # htmx swaps 2xx only: the reason shows in place
    assert "您已达到上限" in response.content.decode()
    assert member.id_number not in response.content.decode()


def test_it_limits_reveals_per_day(client, alice, member, settings):
    settings.PERSONAL_DATA_LIMITS = {"reveal": [(60, 100), (86400, 2)]}
    client.force_login(alice)
    api = f"/api/v1/members/{member.pk}/reveal/"
    assert [client.post(api).status_code for _ in range(3)] == [200, 200, 429]
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=2)):
        assert client.post(api).status_code == 429
        assert "每天最多2次" in client.post(api).json()["detail"]


def test_it_limits_each_user_separately(client, alice, tom, member, settings):
    settings.PERSONAL_DATA_LIMITS = {"reveal": [(60, 1)]}
    api = f"/api/v1/members/{member.pk}/reveal/"
    client.force_login(alice)
    assert [client.post(api).status_code for _ in range(2)] == [200, 429]
    client.force_login(tom)
    assert client.post(api).status_code == 200


def test_it_limits_admin_reveals_too(client, root, member, settings):
    settings.PERSONAL_DATA_LIMITS = {"reveal": [(60, 1)]}
    client.force_login(root)
    page = f"/admin/households/member/{member.pk}/reveal/"
    assert client.post(page).status_code == 200
    refused = client.post(page)
    assert refused.status_code == 429
    assert member.id_number not in refused.content.decode()
