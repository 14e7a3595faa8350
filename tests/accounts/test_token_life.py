"""API tokens with a life (issue 16, point 1).

alice, a village cadre, makes tokens for a data-sync script on her village's PC. A token
copied from that PC must stop working: when it expires, when alice changes her password,
when she presses 退出所有设备 (or calls logout-all), when she revokes it on her account
page, and when an administrator deactivates her. Only a digest is ever stored.
"""

import datetime

import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from tests.conftest import PASSWORD

URL = "/api/v1/auth/token/"
ME = "/api/v1/me/"


def new_token(client, username="alice"):
    response = client.post(URL, {"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def works(client, token) -> bool:
    # A fresh client: the token alone, without the session of whoever is logged in.
    response = Client().get(ME, headers={"Authorization": f"Token {token}"})
    assert response.status_code in (200, 401, 403)
    return response.status_code == 200


def test_it_stores_only_a_digest(client, alice):
    token = new_token(client)
    row = AuthToken.objects.get(user=alice)
    assert token not in row.digest
    assert len(row.digest) == 128  # SHA-512, hex
    # No column of any token row holds the token itself (only its first characters).
    for value in AuthToken.objects.values_list(flat=False).get():
        assert str(value) != token


def test_it_expires_after_the_configured_days(client, alice, settings):
    before = timezone.now()
    token = new_token(client)
    expiry = AuthToken.objects.get(user=alice).expiry
    assert datetime.timedelta(days=29, hours=23) < expiry - before <= datetime.timedelta(days=30, minutes=1)
    with time_machine.travel(before + datetime.timedelta(days=29), tick=False):
        assert works(client, token)
    with time_machine.travel(before + datetime.timedelta(days=30, minutes=2), tick=False):
        assert not works(client, token)
    # An expired token is removed, not left lying about.
    assert not AuthToken.objects.filter(user=alice).exists()


def test_it_is_not_extended_by_use(client, alice):
    token = new_token(client)
    expiry = AuthToken.objects.get(user=alice).expiry
    with time_machine.travel(timezone.now() + datetime.timedelta(days=10)):
        assert works(client, token)
    assert AuthToken.objects.get(user=alice).expiry == expiry


def test_it_revokes_every_token_when_the_password_changes_on_the_page(client, alice):
    tokens = [new_token(client), new_token(client)]
    client.force_login(alice)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "a-new-horse-77", "new_password2": "a-new-horse-77"},
    )
    assert response.status_code == 302
    assert not any(works(client, t) for t in tokens)
    assert not AuthToken.objects.filter(user=alice).exists()


def test_it_revokes_tokens_when_the_password_changes_anywhere_else(client, alice, bob):
    mine, bobs = new_token(client), new_token(client, "bob")
    # An administrator's password form, `manage.py changepassword` and any service
    # end in set_password() + save().
    user = get_user_model().objects.get(username="alice")
    user.set_password("another-horse-88")
    user.save()
    assert not works(client, mine)
    assert works(client, bobs)


def test_it_keeps_tokens_when_only_the_password_hash_is_upgraded(client, alice):
    token = new_token(client)
    # Logging in again re-checks the password; a hasher upgrade saves the password
    # field but is not a password change.
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    assert works(client, token)


def test_it_revokes_every_token_on_logout_all(client, alice):
    first, second = new_token(client), new_token(client)
    response = client.post("/api/v1/auth/logout-all/", headers={"Authorization": f"Token {first}"})
    assert response.status_code == 204
    assert not works(client, first)
    assert not works(client, second)


def test_it_revokes_only_the_token_used_on_logout(client, alice):
    first, second = new_token(client), new_token(client)
    response = client.post("/api/v1/auth/logout/", headers={"Authorization": f"Token {first}"})
    assert response.status_code == 204
    assert not works(client, first)
    assert works(client, second)


def test_it_revokes_tokens_when_the_account_is_deactivated(client, alice, root):
    token = new_token(client)
    client.force_login(root)
    page = client.get(f"/admin/accounts/user/{alice.pk}/change/")
    assert page.status_code == 200
    alice.refresh_from_db()
    alice.is_active = False
    alice.save()
    client.logout()
    assert not works(client, token)
    assert not AuthToken.objects.filter(user=alice).exists()
    # Reactivating her does not bring the old token back.
    alice.is_active = True
    alice.save()
    assert not works(client, token)


def test_it_revokes_tokens_when_changepassword_runs(client, alice, monkeypatch):
    token = new_token(client)
    answers = iter(["yet-another-horse-99", "yet-another-horse-99"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("changepassword", "alice")
    assert not works(client, token)


def test_it_caps_the_tokens_a_user_may_hold(client, alice, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_LIMIT_PER_USER": 2}
    new_token(client)
    new_token(client)
    response = client.post(URL, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "达到上限" in response.json()["detail"]
    assert AuthToken.objects.filter(user=alice).count() == 2


def test_it_lets_a_supervisor_log_out_everywhere(client, sue):
    token = new_token(client, "sue")
    response = client.post("/api/v1/auth/logout-all/", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 204
    assert not works(client, token)


def test_it_answers_a_revoked_token_in_chinese(client, alice):
    token = new_token(client)
    client.post("/api/v1/auth/logout/", headers={"Authorization": f"Token {token}"})
    response = client.get(ME, headers={"Authorization": f"Token {token}"})
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "认证令牌无效。"
