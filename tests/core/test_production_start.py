"""A production start serves every main page to every role, with its static files.

The deployment's steps as the README lists them — production settings (DEBUG off,
secrets from the environment), `migrate`, `collectstatic`, gunicorn — on a fresh
database (a throwaway one on the same server when DATABASE_URL is PostgreSQL, else a
SQLite file) with the demo data. Then each demo account logs in over "https" (the
X-Forwarded-Proto header a proxy sends) and opens each page of its navigation, a
household, an exit case and a monitoring case: no 500, and every static file a page
names is served by whitenoise. Without `collectstatic` every page is a 500.
"""

import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from posixpath import dirname, join, normpath
from urllib.parse import urlencode, urlsplit, urlunsplit

import environ
import pytest

from tests.html import elements

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60
# Pages every role reaches from the navigation (the nav is read from the home page;
# these must be among what it offers).
REQUIRED = {
    "/",
    "/households/",
    "/exits/",
    "/monitoring/",
    "/dashboard/deadlines/",
    "/imports/",
    "/notifications/",
}
# Pages linked from a dashboard or a list rather than from the navigation.
EXTRA = ["/dashboard/monitoring/"]
DETAIL_LINKS = {  # list page -> a link to one of its rows
    "/households/": re.compile(r'href="(/households/\d+/)"'),
    "/exits/": re.compile(r'href="(/exits/\d+/)"'),
    "/monitoring/": re.compile(r'href="(/monitoring/\d+/)"'),
}
STATIC_REF = re.compile(r'(?:src|href)="(/static/[^"?#]+)')
CSS_URL = re.compile(r"""url\(\s*['"]?(?!data:|https?:|#)([^'")?#]+)""")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def database_url(tmp_path):
    """A fresh database: a throwaway one on the test run's PostgreSQL server, else SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    config = environ.Env.db_url_config(url) if url else {}
    if "postgresql" not in config.get("ENGINE", ""):
        yield f"sqlite:///{tmp_path / 'production.sqlite3'}"
        return

    import psycopg2
    from psycopg2 import sql

    name = f"povertyexit_prodstart_{uuid.uuid4().hex[:8]}"
    server = psycopg2.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
    )
    server.autocommit = True
    with server.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with server.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        server.close()


@pytest.fixture
def production_env(tmp_path, database_url):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "POVERTYEXIT_", "CELERY_", "AXES_", "DATABASE_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="povertyexit.settings",
        DJANGO_ENV="production",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # TLS ends at the proxy; the proxy's X-Forwarded-Proto says the request was https.
        DJANGO_SECURE_SSL_REDIRECT="false",
        DATABASE_URL=database_url,
        POVERTYEXIT_DATA_DIR=str(tmp_path / "data"),
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
    )
    return env


def manage(env, *args):
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture
def gunicorn(production_env, tmp_path):
    """gunicorn on a free port, started after the README's deployment steps."""
    manage(production_env, "migrate", "--noinput")
    manage(production_env, "collectstatic", "--noinput")
    manage(production_env, "load_regions")
    manage(production_env, "seed_demo", "--households", "30")

    port = free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "povertyexit.wsgi:application"]
            + ["--bind", f"127.0.0.1:{port}", "--workers", "1"],
            env=production_env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert server.poll() is None, log.read_text()
            try:
                Browser(port).get("/accounts/login/")
                break
            except OSError:
                assert time.monotonic() < deadline, f"gunicorn not answering within {START_TIMEOUT} s"
                time.sleep(0.2)
        yield port, log
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


class Browser:
    """One person's browser, behind a proxy that ends TLS: every request says it came
    over https, and the Secure cookies production sets are sent back."""

    def __init__(self, port):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"X-Forwarded-Proto": "https", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for line in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(line)
            for name, morsel in cookie.items():
                assert morsel["secure"], f"{name} cookie without Secure: {line}"
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.headers, content

    def get(self, path):
        return self.request("GET", path)

    def visit(self, path):
        """GET ``path`` and follow redirects within the site; the last response."""
        for _hop in range(5):
            status, headers, content = self.get(path)
            location = headers.get("Location", "")
            if status not in (301, 302, 303, 307, 308) or not location.startswith("/"):
                return status, headers, content
            path = location
        raise AssertionError(f"redirect loop at {path}")

    def log_in(self, username, password):
        status, _headers, page = self.get("/accounts/login/")
        assert status == 200
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        status, headers, page = self.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                # Django's CSRF check on https compares these with the host.
                "Origin": self.origin,
                "Referer": f"{self.origin}/accounts/login/",
            },
        )
        assert (status, headers.get("Location")) == (302, "/"), f"{username}: {status} {page[:500]!r}"


def menu_links(page):
    """The navigation bar's and the user menu's links to pages of this site."""
    links = [a.attrs.get("href", "") for a in elements(page, "a", "nav-link") + elements(page, "a", "dropdown-item")]
    return [link for link in links if link.startswith("/")]


def test_it_serves_every_main_page_to_every_role_in_production(gunicorn, production_env):
    port, log = gunicorn
    accounts_file = Path(production_env["POVERTYEXIT_DATA_DIR"]) / "demo_accounts.json"
    accounts = json.loads(accounts_file.read_text(encoding="utf-8"))
    roles = {"village_cadre", "town_official", "sector", "county_official", "city_supervisor", "admin"}
    assert {a["role"] for a in accounts} == roles

    statuses = {}  # (username, path) -> status
    static_refs = set()
    for account in accounts:
        browser = Browser(port)
        browser.log_in(account["username"], account["password"])
        status, _headers, home = browser.get("/")
        assert status == 200, account["username"]
        home = home.decode()
        pages = list(dict.fromkeys([*menu_links(home), *EXTRA]))
        assert set(pages) >= REQUIRED, f"{account['username']}: navigation offers {pages}"
        for path in pages:
            status, _headers, content = browser.visit(path)
            statuses[account["username"], path] = status
            page = content.decode(errors="replace")
            static_refs.update(STATIC_REF.findall(page))
            if path in DETAIL_LINKS and status == 200:
                found = DETAIL_LINKS[path].search(page)
                if found:
                    status, _headers, content = browser.visit(found.group(1))
                    statuses[account["username"], found.group(1)] = status
                    static_refs.update(STATIC_REF.findall(content.decode(errors="replace")))

    failed = {key: status for key, status in statuses.items() if status >= 500}
    assert not failed, f"{failed}\n{log.read_text()[-5000:]}"
    assert {key: status for key, status in statuses.items() if status != 200} == {}
    # Every account opened a household of its region; someone opened an exit case and a monitoring case.
    for pattern, who in [
        (r"/households/\d+/", {a["username"] for a in accounts}),
        (r"/exits/\d+/", {"county"}),
        (r"/monitoring/\d+/", {"county"}),
    ]:
        opened = {username for (username, path) in statuses if re.fullmatch(pattern, path)}
        assert who <= opened, f"{pattern} opened by {opened}"

    # Static files, and what their stylesheets point to (fonts, images), come from
    # whitenoise under their hashed names.
    assert any(ref.endswith(".css") for ref in static_refs)
    browser = Browser(port)
    pending, served = sorted(static_refs), set()
    while pending:
        ref = pending.pop()
        if ref in served:
            continue
        status, headers, content = browser.get(ref)
        assert status == 200 and content, f"{ref}: {status}"
        assert "immutable" in headers.get("Cache-Control", ""), f"{ref} not served as a hashed file: {headers}"
        served.add(ref)
        if ref.endswith(".css"):
            pending += [normpath(join(dirname(ref), url)) for url in CSS_URL.findall(content.decode())]
    assert any(ref.endswith((".woff", ".woff2")) for ref in served), served
