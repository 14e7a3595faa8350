from playwright.sync_api import expect

from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"


def test_it_locks_the_account_after_five_wrong_passwords(live_server, page, page_guard, log_in, screenshot, alice):
    for _ in range(4):
        log_in("alice", "wrong-password")
        expect(page.get_by_role("alert")).to_contain_text("用户名")  # "请输入一个正确的 用户名 和密码"
        expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()

    # The fifth failure is refused with 429 Too Many Requests and the lockout page.
    page_guard.expect_status(429, LOGIN)
    with page.expect_response(lambda r: r.url == f"{live_server.url}{LOGIN}" and r.request.method == "POST") as sent:
        log_in("alice", "wrong-password")
    assert sent.value.status == 429
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_contain_text("锁定")
    screenshot(page, "anonymous-locked-out-desktop")

    # While locked, even the right password only shows the lockout page again.
    log_in("alice", PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_contain_text("锁定")
    expect(page.get_by_test_id("home-title")).to_have_count(0)
