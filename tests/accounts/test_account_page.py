"""The account page (/accounts/): alice sees who she is, makes and revokes her own API
tokens, and logs out everywhere after leaving herself logged in on the 村委会 PC."""

from django.test import Client
from knox.models import AuthToken

from tests.conftest import PASSWORD
from tests.html import elements, text

PAGE = "/accounts/"


def test_it_shows_the_account(client, alice):
    client.force_login(alice)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "李爱丽" in text(response)
    assert "村级录入员" in text(response)
    assert "没有有效的 API 令牌" in text(response)


def test_it_needs_a_login(client, alice):
    assert client.get(PAGE).status_code == 302


def test_it_is_linked_from_the_user_menu(client, alice):
    client.force_login(alice)
    assert [a.attrs["href"] for a in elements(client.get("/"), "a", **{"data-testid": "account-link"})] == [PAGE]


def test_it_shows_a_new_token_once_and_keeps_only_its_digest(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/tokens/")
    assert response.status_code == 201
    token = elements(response, "input", **{"data-testid": "new-token-value"})[0].attrs["value"]
    assert len(token) == 64
    assert Client().get("/api/v1/me/", headers={"Authorization": f"Token {token}"}).status_code == 200
    row = AuthToken.objects.get(user=alice)
    assert row.digest != token
    # The page lists it by its first characters only, and never shows it again.
    again = client.get(PAGE)
    assert token not in again.content.decode()
    assert token[:8] in text(again)


def test_it_never_lets_the_token_into_a_url(client, alice):
    client.force_login(alice)
    response = client.post("/accounts/tokens/")
    assert "Location" not in response.headers
    assert "no-store" in response.headers["Cache-Control"]


def test_it_revokes_a_token(client, alice):
    client.force_login(alice)
    token = elements(client.post("/accounts/tokens/"), "input", **{"data-testid": "new-token-value"})[0].attrs["value"]
    key = AuthToken.objects.get(user=alice).token_key
    response = client.post("/accounts/tokens/revoke/", {"token_key": key}, follow=True)
    assert "令牌已撤销" in text(response)
    assert Client().get("/api/v1/me/", headers={"Authorization": f"Token {token}"}).status_code in (401, 403)


def test_it_cannot_revoke_someone_elses_token(client, alice, bob):
    AuthToken.objects.create(user=bob)
    key = AuthToken.objects.get(user=bob).token_key
    client.force_login(alice)
    response = client.post("/accounts/tokens/revoke/", {"token_key": key}, follow=True)
    assert "找不到该令牌" in text(response)
    assert AuthToken.objects.filter(user=bob).exists()


def test_it_refuses_get_on_the_writes(client, alice):
    client.force_login(alice)
    for url in ("/accounts/tokens/", "/accounts/tokens/revoke/", "/accounts/logout-everywhere/"):
        assert client.get(url).status_code == 405
    assert not AuthToken.objects.exists()


def test_it_logs_out_everywhere(alice):
    village_pc, phone, script = Client(), Client(), Client()
    village_pc.force_login(alice)
    phone.force_login(alice)
    token = script.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}).json()["token"]

    response = phone.post("/accounts/logout-everywhere/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    assert "已退出所有设备" in text(response)

    # The forgotten session on the village PC is gone, so is the token, and the phone.
    assert village_pc.get("/").status_code == 302
    assert phone.get("/").status_code == 302
    assert script.get("/api/v1/me/", headers={"Authorization": f"Token {token}"}).status_code in (401, 403)
    # alice can log in again with her password.
    village_pc.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert village_pc.get("/").status_code == 200


def test_it_tells_when_the_token_limit_is_reached(client, alice, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 1}
    client.force_login(alice)
    assert client.post("/accounts/tokens/").status_code == 201
    response = client.post("/accounts/tokens/", follow=True)
    assert "达到上限" in text(response)
    assert AuthToken.objects.filter(user=alice).count() == 1
