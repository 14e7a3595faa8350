"""POST /api/v1/auth/token/: an API token for scripts, guarded by the same lockout as the login page.

Tokens have a life (issue 16, point 1): each expires, only a digest is stored, and a
password change, "退出所有设备" and deactivation revoke them (tests/accounts/test_token_life.py).
"""

from django.conf import settings
from knox.models import AuthToken

from tests.conftest import PASSWORD, VILLAGE_A

URL = "/api/v1/auth/token/"
LOCKED_OUT = "登录失败次数过多，账号已被暂时锁定，请稍后再试或联系系统管理员。"


def obtain(client, username, password):
    return client.post(URL, {"username": username, "password": password})


def test_it_returns_a_token_for_the_right_password(client, alice):
    response = obtain(client, "alice", PASSWORD)
    assert response.status_code == 200
    assert set(response.json()) == {"token", "expiry"}
    assert AuthToken.objects.get(user=alice).token_key == response.json()["token"][:15]


def test_it_returns_a_new_token_each_time(client, alice):
    first = obtain(client, "alice", PASSWORD).json()["token"]
    second = obtain(client, "alice", PASSWORD).json()["token"]
    assert first != second
    assert AuthToken.objects.filter(user=alice).count() == 2


def test_it_accepts_the_token_on_the_me_endpoint(client, alice):
    token = obtain(client, "alice", PASSWORD).json()["token"]
    response = client.get("/api/v1/me/", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 200
    assert response.json() == {
        "username": "alice",
        "full_name": "李爱丽",
        "role": "village_cadre",
        "role_display": "村级录入员",
        "region": VILLAGE_A,
        "sector": "",
        "sector_display": "",
        "can_write": True,
    }


def test_it_scopes_token_requests_like_the_pages(client, alice, regions):
    token = obtain(client, "alice", PASSWORD).json()["token"]
    response = client.get("/api/v1/regions/", headers={"Authorization": f"Token {token}"})
    assert [row["code"] for row in response.json()["results"]] == [VILLAGE_A]


def test_it_tells_a_supervisor_it_cannot_write(client, sue):
    token = obtain(client, "sue", PASSWORD).json()["token"]
    me = client.get("/api/v1/me/", headers={"Authorization": f"Token {token}"}).json()
    assert me["can_write"] is False
    assert me["role_display"] == "市级督查"


def test_it_refuses_a_forged_token(client, alice):
    response = client.get("/api/v1/me/", headers={"Authorization": "Token " + "0" * 40})
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "认证令牌无效。"


def test_it_refuses_me_without_credentials(client, alice):
    response = client.get("/api/v1/me/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "身份认证信息未提供。"


def test_it_answers_400_in_chinese_for_a_wrong_password(client, alice):
    response = obtain(client, "alice", "wrong-password")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["无法使用提供的认证信息登录。"]}
    assert not AuthToken.objects.exists()


def test_it_answers_400_for_a_missing_password(client, alice):
    response = client.post(URL, {"username": "alice"})
    assert response.status_code == 400
    assert response.json() == {"password": ["该字段是必填项。"]}


def test_it_refuses_an_inactive_account(client, alice):
    alice.is_active = False
    alice.save()
    assert obtain(client, "alice", PASSWORD).status_code == 400


def test_it_locks_out_after_the_failure_limit_even_with_the_right_password(client, alice):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    for _ in range(limit - 1):
        assert obtain(client, "alice", "wrong-password").status_code == 400
    # The failure that reaches the limit already answers "locked", as the login page does.
    locked = obtain(client, "alice", "wrong-password")
    assert locked.status_code == 429
    assert locked.json() == {"detail": LOCKED_OUT}
    right = obtain(client, "alice", PASSWORD)
    assert right.status_code == 429
    assert right.json() == {"detail": LOCKED_OUT}
    assert not AuthToken.objects.exists()


def test_it_allows_the_right_password_before_the_limit_and_resets_the_count(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        obtain(client, "alice", "wrong-password")
    assert obtain(client, "alice", PASSWORD).status_code == 200
    # A success clears the counter: four more failures do not lock alice out.
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        obtain(client, "alice", "wrong-password")
    assert obtain(client, "alice", PASSWORD).status_code == 200


def test_it_locks_only_the_attacked_account(client, alice, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        obtain(client, "alice", "wrong-password")
    assert obtain(client, "alice", PASSWORD).status_code == 429
    assert obtain(client, "bob", PASSWORD).status_code == 200


def test_it_shares_the_lockout_with_the_login_page(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong-password"})
    assert obtain(client, "alice", PASSWORD).status_code == 429
