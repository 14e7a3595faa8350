"""Signing in and out, in Chinese, with a lockout after repeated wrong passwords."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY

from accounts.models import User
from tests.conftest import PASSWORD
from tests.html import breadcrumb, element, elements, text

LOGIN = "/accounts/login/"


def login(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def test_it_renders_the_login_page_in_chinese(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert element(response, "html").attrs["lang"] == "zh-hans"
    assert element(response, "title").text == "登录 · 脱贫退出案件管理"
    assert [label.text for label in elements(response, "label", "form-label")] == ["用户名 *", "密码 *"]
    page = text(response)
    assert "请使用分配给您的账号登录" in page
    assert "连续多次输入错误密码，账号将被暂时锁定。" in page


def test_it_shows_a_chinese_error_for_a_wrong_password(client, alice):
    response = login(client, "alice", "wrong-password")
    assert response.status_code == 200
    [error] = elements(response, "div", "alert-danger")
    assert error.text == "请输入一个正确的用户名和密码。注意，两者都区分大小写。"
    assert SESSION_KEY not in client.session


def test_it_shows_the_same_error_for_an_unknown_user(client, alice):
    # No hint that "alice" exists and "mallory" does not.
    known = elements(login(client, "alice", "wrong-password"), "div", "alert-danger")
    unknown = elements(login(client, "mallory", "wrong-password"), "div", "alert-danger")
    assert [e.text for e in known] == [e.text for e in unknown]
    assert "请输入一个正确的用户名和密码" in known[0].text


def test_it_refuses_an_inactive_account(client, alice):
    alice.is_active = False
    alice.save()
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 200
    assert SESSION_KEY not in client.session


def test_it_locks_out_after_the_failure_limit(client, alice):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert login(client, "alice", "wrong-password").status_code == 200
    locked = login(client, "alice", "wrong-password")
    assert locked.status_code == 429
    assert element(locked, "title").text == "账号已锁定"
    assert "登录失败次数过多，账号已被暂时锁定" in text(locked)
    # Even the right password is refused now.
    right = login(client, "alice", PASSWORD)
    assert right.status_code == 429
    assert SESSION_KEY not in client.session


def test_it_says_how_long_the_lockout_lasts_in_words(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = login(client, "alice", "wrong-password")
    page = text(response)
    # AXES_COOLOFF_TIME is 15 minutes: a cadre must read "15 分钟", not an ISO 8601 duration.
    assert "PT15M" not in page
    assert re.search(r"锁定 ?15 ?分钟", page), page


def test_it_locks_only_the_attacked_account(client, alice, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "alice", "wrong-password")
    response = login(client, "bob", PASSWORD)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(bob.pk)


def test_it_clears_the_failure_count_after_a_successful_login(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "alice", "wrong-password")
    assert login(client, "alice", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(client, "alice", "wrong-password").status_code == 200
    assert login(client, "alice", PASSWORD).status_code == 302


def test_it_logs_out_by_post(client, alice):
    login(client, "alice", PASSWORD)
    assert SESSION_KEY in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert SESSION_KEY not in client.session
    assert client.get("/")["Location"] == "/accounts/login/?next=/"


def test_it_does_not_log_out_on_a_get(client, alice):
    # A link or an image must not be able to sign a cadre out.
    login(client, "alice", PASSWORD)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200


def test_it_sends_an_anonymous_visitor_to_the_login_page_and_back(client, carol):
    assert client.get("/regions/610902000000/")["Location"] == "/accounts/login/?next=/regions/610902000000/"
    response = login(client, "carol", PASSWORD, next="/regions/610902000000/")
    assert response["Location"] == "/regions/610902000000/"


def test_it_renders_the_password_change_page(client, alice):
    client.force_login(alice)
    response = client.get("/accounts/password/")
    assert response.status_code == 200
    assert element(response, "title").text == "修改密码"
    labels = [label.text for label in elements(response, "label", "form-label")]
    assert labels == ["旧密码 *", "新密码 *", "新密码确认 *"]
    assert "保存新密码" in text(response)


def test_it_changes_the_password(client, alice):
    client.force_login(alice)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": "Qinba-mountains-2020", "new_password2": "Qinba-mountains-2020"},
    )
    assert response["Location"] == "/accounts/password/done/"
    assert "您的密码已修改成功。" in text(client.get("/accounts/password/done/"))
    alice.refresh_from_db()
    assert alice.check_password("Qinba-mountains-2020")
    # The session survives the change; the old password no longer signs in.
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert login(client, "alice", PASSWORD).status_code == 200
    assert login(client, "alice", "Qinba-mountains-2020").status_code == 302


def test_it_refuses_a_wrong_old_password_in_chinese(client, alice):
    client.force_login(alice)
    response = client.post(
        "/accounts/password/",
        {"old_password": "wrong", "new_password1": "Qinba-mountains-2020", "new_password2": "Qinba-mountains-2020"},
    )
    assert response.status_code == 200
    assert "你的旧密码不正确。请重新输入。" in text(response)
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_it_requires_login_for_the_password_change_page(client, db):
    assert client.get("/accounts/password/")["Location"] == "/accounts/login/?next=/accounts/password/"


@pytest.mark.parametrize(
    ("username", "role_name", "region_name"),
    [
        ("alice", "村级录入员", "西关村"),
        ("tom", "镇办干部", "银滩镇"),
        ("sam", "行业部门 · 教育", "汉滨区"),
        ("carol", "县级审批", "汉滨区"),
        ("sue", "市级督查", "安康市"),
        ("root", "系统管理员", "安康市"),
    ],
)
def test_it_lands_each_role_on_its_home_page(client, everyone, username, role_name, region_name):
    response = login(client, username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    user = User.objects.get(username=username)
    assert element(home, "h1", data_testid="home-title").text == f"{user.full_name}，您好"
    assert element(home, "span", data_testid="home-role").text == role_name
    assert breadcrumb(home)[-1] == (region_name, False)


def test_it_marks_the_supervisor_as_read_only_on_the_home_page(client, sue, carol):
    client.force_login(sue)
    assert "只读" in [badge.text for badge in elements(client.get("/"), "span", "badge")]
    client.force_login(carol)
    assert "只读" not in [badge.text for badge in elements(client.get("/"), "span", "badge")]


def test_it_redirects_a_signed_in_user_away_from_the_login_page(client, alice):
    client.force_login(alice)
    assert client.get(LOGIN)["Location"] == "/"
