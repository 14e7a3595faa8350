"""Chinese by default; English for whoever asks for it, by browser or by the language switch."""

import re

from django.conf import settings

from tests.conftest import PASSWORD
from tests.html import element, elements, nav_labels, text

CJK = re.compile(r"[\u4e00-\u9fff]")
CHINESE_NAV = ["首页", "行政区划", "导入记录"]
ENGLISH_NAV = ["Home", "Regions", "Imports"]


def shows(labels, expected):
    """``expected`` appear in the navigation, in this order (other entries may sit between)."""
    return [label for label in labels if label in expected] == expected


def test_it_speaks_chinese_by_default(client, alice):
    client.force_login(alice)
    response = client.get("/")
    assert element(response, "html").attrs["lang"] == "zh-hans"
    assert shows(nav_labels(response), CHINESE_NAV)


def test_it_speaks_chinese_to_a_chinese_browser(client, alice):
    client.force_login(alice)
    response = client.get("/", headers={"accept-language": "zh-CN,zh;q=0.9"})
    assert shows(nav_labels(response), CHINESE_NAV)


def test_it_shows_english_navigation_to_an_english_browser(client, alice):
    client.force_login(alice)
    response = client.get("/", headers={"accept-language": "en-US,en;q=0.9"})
    assert element(response, "html").attrs["lang"] == "en"
    assert shows(nav_labels(response), ENGLISH_NAV)
    assert element(response, "span", data_testid="home-role").text == "Village cadre"
    assert "Log out" in text(response) and "Change password" in text(response)


def test_it_leaves_no_chinese_in_the_english_navigation(client, root):
    client.force_login(root)  # the administrator also has the 系统管理 entry (in the user menu)
    labels = nav_labels(client.get("/", headers={"accept-language": "en"}))
    assert len(labels) >= 4
    assert [label for label in labels if CJK.search(label)] == []


def test_it_switches_to_english_with_the_language_form(client, alice):
    client.force_login(alice)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/regions/"})
    assert response.status_code == 302
    assert response["Location"] == "/regions/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    # No Accept-Language header: the choice is remembered.
    assert shows(nav_labels(client.get("/")), ENGLISH_NAV)


def test_it_switches_back_to_chinese(client, alice):
    client.force_login(alice)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert shows(nav_labels(client.get("/")), CHINESE_NAV)


def test_it_ignores_a_language_it_does_not_have(client, alice):
    client.force_login(alice)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert shows(nav_labels(client.get("/", headers={"accept-language": "fr"})), CHINESE_NAV)


def test_it_translates_the_login_page(client, db):
    page = text(client.get("/accounts/login/", headers={"accept-language": "en"}))
    assert "Log in with the account you were given" in page
    assert "请使用分配给您的账号登录" not in page


def test_it_names_each_language_in_its_own_words(client, alice):
    # Someone who reads no Chinese must still find "English" in the switch.
    client.force_login(alice)
    options = {option.attrs["value"]: option.text for option in elements(client.get("/"), "option")}
    assert options == {"zh-hans": "简体中文", "en": "English"}


def test_it_translates_api_messages(client, sue):
    client.force_login(sue)
    response = client.post("/api/v1/regions/", {}, headers={"accept-language": "en"})
    assert response.status_code == 403
    assert response.json() == {"detail": "City supervisor accounts are read-only and cannot change data."}


def test_it_translates_the_token_lockout_message(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"})
    response = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, headers={"accept-language": "en"}
    )
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Too many failed logins")
