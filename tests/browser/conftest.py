"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Every page runs offline and clean. A test fails if the page asked for anything outside the
live server (the app must never load a script, font or stylesheet from the internet), logged
a console error, or got a failed or 4xx/5xx answer for a local request the test did not
announce with ``page_guard.expect_status``.

Chromium comes from apt, not from ``playwright install``: without /usr/bin/chromium these
tests skip, unless REQUIRE_BROWSER=1 (CI) turns the missing browser into a failure.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.helpers import DESKTOP

# Playwright's sync API runs an event loop in the test thread; Django then refuses ORM calls
# from fixtures in that thread unless told the loop is not ours to protect.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = HERE.parents[1] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Short enough that a missing element fails the test quickly, long enough for a slow CI box.
TIMEOUT_MS = 10_000

GUARD_KEY = pytest.StashKey["PageGuard"]()


def pytest_collection_modifyitems(config, items):
    # This hook sees the whole session's items, not only this folder's.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    required = os.environ.get("REQUIRE_BROWSER") == "1"
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (apt-get install chromium); browser tests need Debian's Chromium"
        if required:
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class PageGuard:
    """What a page did that it should not have: external requests, console errors, failed loads."""

    origin: str
    external: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    expected: set[tuple[int, str]] = field(default_factory=set)

    def expect_status(self, status: int, path: str) -> None:
        """Announce a deliberate error answer (a 404 page, the 429 lockout page) so it is not a failure."""
        self.expected.add((status, path))

    def is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme not in {"http", "https", "ws", "wss"} or f"{parts.scheme}://{parts.netloc}" == self.origin

    def route(self, route) -> None:
        url = route.request.url
        if self.is_local(url):
            route.continue_()
        else:
            self.external.append(url)
            route.abort("blockedbyclient")

    def on_response(self, response) -> None:
        expected = (response.status, urlsplit(response.url).path) in self.expected
        if response.status >= 400 and self.is_local(response.url) and not expected:
            self.problems.append(f"HTTP {response.status} {response.request.method} {response.url}")

    def on_request_failed(self, request) -> None:
        # ERR_ABORTED is a request the page dropped by navigating on (a font still loading when
        # the test clicks a link); a missing file shows up as a 404 response instead.
        if self.is_local(request.url) and request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed ({request.failure}): {request.method} {request.url}")

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        # Chromium logs every 4xx/5xx answer, the main document's included, as a console error.
        status = re.search(r"status of (\d{3})", message.text)
        path = urlsplit(message.location.get("url", "")).path
        if status and (int(status.group(1)), path) in self.expected:
            return
        if "net::ERR_BLOCKED_BY_CLIENT" in message.text:
            return  # already in self.external, with its URL
        self.problems.append(f"console error: {message.text} at {message.location.get('url')}")

    def on_page_error(self, error) -> None:
        self.problems.append(f"uncaught script error: {error}")

    def report(self) -> str:
        lines = [f"blocked request to the internet: {url}" for url in self.external] + self.problems
        return "\n".join(lines)


@pytest.fixture
def page(browser, live_server, request):
    """A fresh Chinese-locale desktop page, offline except for the live server, watched by a PageGuard."""
    guard = PageGuard(origin=live_server.url.rstrip("/"))
    request.node.stash[GUARD_KEY] = guard
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=DESKTOP
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", guard.route)
    page = context.new_page()
    page.on("response", guard.on_response)
    page.on("requestfailed", guard.on_request_failed)
    page.on("console", guard.on_console)
    page.on("pageerror", guard.on_page_error)
    yield page
    context.close()


@pytest.fixture
def page_guard(page, request):
    return request.node.stash[GUARD_KEY]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    # Checked here rather than in the fixture's teardown so a dirty page FAILS the test
    # instead of erroring in teardown, and a test that already failed says what the page did.
    guard = item.stash.get(GUARD_KEY, None)
    try:
        result = yield
    except BaseException as exc:
        if guard is not None and guard.report():
            exc.add_note(f"The page also misbehaved:\n{guard.report()}")
        raise
    if guard is not None and guard.report():
        pytest.fail(f"The page misbehaved:\n{guard.report()}", pytrace=False)
    return result


@pytest.fixture
def screenshot():
    """Save a full-page screenshot as test-artifacts/screenshots/<name>.png (gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture
def log_in(page):
    """Log in through the Chinese login form, as a person would."""

    def log_in_as(username: str, password: str) -> None:
        page.goto("/accounts/login/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录", exact=True).click()

    return log_in_as


# The exit workflow's fixtures for browser tests of exit cases: the campaign, the sector
# certifiers, and the second town and county officials that separation of duties
# (exits.models.REVIEWS) needs.
from tests.exits.conftest import campaign, carol2, certifiers, tom2  # noqa: E402, F401
