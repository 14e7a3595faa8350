"""The city supervisor watches and never writes (DOMAIN.md §1), on the API and on pages."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import path
from rest_framework.test import APIRequestFactory

import povertyexit.urls
from core.permissions import RoleWritePermission, write_required
from regions.api import RegionViewSet
from regions.models import Region
from tests.conftest import CITY, VILLAGE_A
from tests.html import text

READ_ONLY = "市级督查账号为只读账号，不能修改数据。"
REGIONS = "/api/v1/regions/"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", REGIONS),
        ("put", f"{REGIONS}{VILLAGE_A}/"),
        ("patch", f"{REGIONS}{VILLAGE_A}/"),
        ("delete", f"{REGIONS}{VILLAGE_A}/"),
    ],
)
def test_it_refuses_every_api_write_from_the_supervisor_in_chinese(client, sue, method, url):
    client.force_login(sue)
    response = getattr(client, method)(url, {"name": "改名村"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"detail": READ_ONLY}
    assert Region.objects.get(code=VILLAGE_A).name == "西关村"


def test_it_refuses_the_supervisor_with_a_token_too(client, sue):
    token = client.post("/api/v1/auth/token/", {"username": "sue", "password": "correct-horse-42"}).json()["token"]
    response = client.delete(f"{REGIONS}{CITY}/", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 403
    assert response.json() == {"detail": READ_ONLY}


def test_it_lets_the_supervisor_read(client, sue):
    client.force_login(sue)
    assert client.get(f"{REGIONS}{VILLAGE_A}/").status_code == 200
    assert client.options(REGIONS).status_code == 200


def test_it_lets_a_writing_role_past_the_permission(client, carol):
    # The region API itself is read-only: a county official is refused by the
    # method (405), not by the role check (403).
    client.force_login(carol)
    assert client.post(REGIONS, {}).status_code == 405


def api_request(method, user):
    request = getattr(APIRequestFactory(), method)(REGIONS)
    request.user = user
    return request


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_it_grants_writes_only_to_writing_roles(everyone, method):
    permission = RoleWritePermission()
    allowed = {name for name, user in everyone.items() if permission.has_permission(api_request(method, user), None)}
    assert allowed == {"alice", "bob", "tom", "carol", "sam", "zed", "root"}


@pytest.mark.parametrize("method", ["get", "head", "options"])
def test_it_grants_reads_to_everyone_signed_in(everyone, method):
    permission = RoleWritePermission()
    assert all(permission.has_permission(api_request(method, user), None) for user in everyone.values())
    assert not permission.has_permission(api_request(method, AnonymousUser()), None)


def test_it_refuses_writes_to_an_inactive_writer(carol):
    carol.is_active = False
    assert not RoleWritePermission().has_permission(api_request("post", carol), RegionViewSet())


@write_required
def rename_village(request):
    """A tiny write view, standing in for every page that changes records."""
    return HttpResponse("已保存")


def page_request(user):
    request = RequestFactory().post("/rename/")
    request.user = user
    return request


def test_it_lets_a_cadre_through_a_write_view(alice):
    response = rename_village(page_request(alice))
    assert response.status_code == 200
    assert response.content.decode() == "已保存"


def test_it_refuses_the_supervisor_a_write_view_in_chinese(sue):
    with pytest.raises(PermissionDenied) as excinfo:
        rename_village(page_request(sue))
    assert str(excinfo.value) == READ_ONLY


def test_it_keeps_the_decorated_views_name(alice):
    assert rename_village.__name__ == "rename_village"
    assert "tiny write view" in rename_village.__doc__


def test_it_shows_the_supervisor_a_chinese_403_page(client, sue, settings):
    """Through the full stack, PermissionDenied renders templates/403.html with the reason."""

    class urls:  # noqa: N801 - a URLconf module stand-in
        urlpatterns = [*povertyexit.urls.urlpatterns, path("rename/", rename_village)]

    settings.ROOT_URLCONF = urls
    client.force_login(sue)
    response = client.post("/rename/")
    assert response.status_code == 403
    page = text(response)
    assert "没有权限" in page
    assert READ_ONLY in page
    assert "已保存" not in page
