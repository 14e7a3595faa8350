"""The page guard itself: a clean browser run only means something if the guard does catch things."""

ADD_STYLESHEET = """href => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = href;
    document.head.append(link);
}"""
CDN_BOOTSTRAP = "https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/css/bootstrap.min.css"


def without_csp(route) -> None:
    """The page as served, less its Content-Security-Policy header."""
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"}
    route.fulfill(response=response, headers=headers)


def test_it_blocks_and_reports_a_request_to_the_internet(page, page_guard):
    # The app's Content-Security-Policy would refuse the CDN before the guard saw it
    # (tests/browser/test_csp.py); without it, this checks the guard's own catch.
    page.route("**/accounts/login/", without_csp)
    page.goto("/accounts/login/")

    with page.expect_event("requestfailed") as failed:
        page.evaluate(ADD_STYLESHEET, CDN_BOOTSTRAP)

    assert failed.value.failure.startswith("net::ERR_BLOCKED_BY_CLIENT")
    assert page_guard.external == [CDN_BOOTSTRAP]
    page_guard.external.clear()  # caught as intended; anything else on the page still fails the test


def test_it_reports_a_missing_static_file(page, page_guard):
    page.goto("/accounts/login/")

    with page.expect_console_message(lambda m: m.type == "error"), page.expect_response(lambda r: r.status == 404):
        page.evaluate(ADD_STYLESHEET, "/static/css/missing.css")

    assert len(page_guard.problems) == 2, page_guard.problems
    assert page_guard.problems[0].startswith("HTTP 404 GET") and page_guard.problems[0].endswith(
        "/static/css/missing.css"
    )
    assert page_guard.problems[1].startswith("console error: Failed to load resource")
    page_guard.problems.clear()
