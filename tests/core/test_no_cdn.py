"""Every asset is served by the application itself: the system runs on a closed intranet."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from tests.conftest import PASSWORD, TOWN_A, VILLAGE_A

ATTRIBUTE = re.compile(r"""\b(?:src|href)\s*=\s*(["'])(.*?)\1""", re.I)


def links(response):
    assert response.status_code == 200, response.status_code
    return links_of_any_status(response)


def links_of_any_status(response):
    return [value for _quote, value in ATTRIBUTE.findall(response.content.decode())]


def external(urls):
    return [url for url in urls if re.match(r"^(https?:)?//", url.strip(), re.I)]


def static_paths(urls):
    prefix = "/" + settings.STATIC_URL.lstrip("/")
    return [urlsplit(url).path.removeprefix(prefix) for url in urls if url.startswith(prefix)]


def assert_all_local(response):
    urls = links(response)
    assert external(urls) == []
    missing = [path for path in static_paths(urls) if finders.find(path) is None]
    assert missing == []
    return urls


def test_it_serves_the_login_page_from_local_assets(client, db):
    urls = assert_all_local(client.get("/accounts/login/"))
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in urls
    assert "/static/vendor/htmx/htmx.min.js" in urls


@pytest.mark.parametrize("who", ["alice", "tom", "sam", "carol", "sue", "root"])
def test_it_serves_each_roles_home_page_from_local_assets(client, everyone, registry, who):
    client.force_login(everyone[who])
    urls = assert_all_local(client.get("/"))
    assert "/static/css/app.css" in urls


@pytest.mark.parametrize("code", [VILLAGE_A, TOWN_A])
def test_it_serves_region_pages_from_local_assets(client, carol, registry, code):
    client.force_login(carol)
    assert_all_local(client.get(f"/regions/{code}/"))


def test_it_serves_the_api_docs_from_local_assets(client, carol):
    client.force_login(carol)
    urls = assert_all_local(client.get("/api/docs/"))
    assert any(path.endswith("swagger-ui-bundle.js") for path in static_paths(urls))


def test_it_serves_the_password_and_lockout_pages_from_local_assets(client, alice):
    client.force_login(alice)
    assert_all_local(client.get("/accounts/password/"))
    client.post("/accounts/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD + "x"})
    assert response.status_code == 429
    assert external(links_of_any_status(response)) == []


def test_it_loads_no_font_or_stylesheet_from_the_internet(client, db):
    """The stylesheets the pages link to pull nothing in from outside either."""
    for path in static_paths(links(client.get("/accounts/login/"))):
        if not path.endswith(".css"):
            continue
        css = Path(finders.find(path)).read_text(encoding="utf-8")
        assert not re.search(r"@import\s+(url\()?\s*['\"]?(https?:)?//", css), path
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", css), path


def test_it_finds_the_icon_font_the_icon_stylesheet_names(db):
    css = Path(finders.find("vendor/bootstrap-icons/bootstrap-icons.min.css")).read_text(encoding="utf-8")
    fonts = re.findall(r"""url\(["']?((?:\./)?fonts/[^"')?#]+)""", css)
    assert fonts, "no font referenced"
    for font in fonts:
        assert finders.find("vendor/bootstrap-icons/" + font.removeprefix("./")), font


def test_it_detects_an_external_asset():
    # The check itself can fail: a CDN link is caught, a local one is not.
    assert external(["https://cdn.jsdelivr.net/npm/bootstrap.css", "//unpkg.com/htmx.org", "/static/css/app.css"]) == [
        "https://cdn.jsdelivr.net/npm/bootstrap.css",
        "//unpkg.com/htmx.org",
    ]


def test_favicon_ico_is_the_app_s_own_icon(client):
    """Browsers ask for /favicon.ico where a page names no icon: no 404 in the server log."""
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    path = urlsplit(response["Location"]).path
    assert path.endswith("img/favicon.svg")
    assert finders.find(path.removeprefix("/" + settings.STATIC_URL.lstrip("/")))
