"""The login lockout behind a reverse proxy (issue 16, point 3).

Every request reaches Django from the proxy (REMOTE_ADDR) with the client's address in
X-Forwarded-For. carol, the county official, usually signs in at her office; mallory
attacks her account, from one address or from many. The lock is per (username, address)
(django-axes) plus per account for addresses carol has not signed in from
(accounts/backends.py); the client's address comes from core/netaddr.py.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client, RequestFactory
from django.utils import timezone

from core.netaddr import client_ip
from tests.conftest import PASSWORD
from tests.html import element, text

LOGIN = "/accounts/login/"
TOKEN = "/api/v1/auth/token/"

PROXY = "10.0.0.2"  # the reverse proxy every request comes through
CAROLS_OFFICE = "198.51.100.20"  # where carol signs in every day
CAROLS_PHONE = "198.51.100.77"  # an address carol has never signed in from
MALLORY = "192.0.2.66"  # the attacker's one real address


def botnet(count, start=1):
    """``count`` more addresses of mallory's, none used before (up to 254 of them)."""
    return [f"203.0.113.{n}" for n in range(start, start + count)]


FRESH = "203.0.113.250"  # one of mallory's addresses that no test's botnet reaches


@pytest.fixture
def behind_proxy(settings):
    settings.POVERTYEXIT_TRUSTED_PROXIES = ["10.0.0.0/24"]


def login(username, password, *, via, remote=PROXY):
    """A fresh browser posting the login form through ``remote`` for the client ``via``."""
    return Client().post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=via
    )


def obtain(username, password, *, via, remote=PROXY):
    return Client().post(
        TOKEN, {"username": username, "password": password}, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=via
    )


def signed_in(response):
    return response.status_code == 302 and SESSION_KEY in response.wsgi_request.session


@pytest.fixture
def carol_known_at_the_office(behind_proxy, carol):
    """carol has signed in from her office before, so that address is known for her."""
    assert signed_in(login("carol", PASSWORD, via=CAROLS_OFFICE))
    AccessAttempt.objects.all().delete()
    return carol


def lock_carols_account():
    """mallory guesses from as many addresses as the account limit needs, once from each."""
    for address in botnet(settings.POVERTYEXIT_ACCOUNT_FAILURE_LIMIT):
        assert login("carol", "guess", via=address).status_code == 200


# --- The client's address --------------------------------------------------------


def request(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().post(LOGIN, **extra)


def test_it_ignores_x_forwarded_for_when_no_proxy_is_trusted():
    assert settings.POVERTYEXIT_TRUSTED_PROXIES == []
    assert client_ip(request(PROXY, MALLORY)) == PROXY


def test_it_ignores_x_forwarded_for_from_a_client_that_is_not_a_trusted_proxy(behind_proxy):
    assert client_ip(request(MALLORY, CAROLS_OFFICE)) == MALLORY


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        (CAROLS_OFFICE, CAROLS_OFFICE),
        (f" {CAROLS_OFFICE} ", CAROLS_OFFICE),
        # Two of our proxies in a row: the first address left of them is the client.
        (f"{CAROLS_OFFICE}, 10.0.0.7", CAROLS_OFFICE),
        # mallory sends her own header; the proxy appends her real address. Only that counts.
        (f"{CAROLS_OFFICE}, {MALLORY}", MALLORY),
        (f"not-an-address, {MALLORY}", MALLORY),
        # Only our proxies in the header (a health check from inside): the farthest of them.
        ("10.0.0.9, 10.0.0.7", "10.0.0.9"),
        # IPv6, written the one canonical way; an IPv4 client seen by a dual-stack socket.
        ("2001:DB8::1", "2001:db8::1"),
        (f"::ffff:{CAROLS_OFFICE}", CAROLS_OFFICE),
    ],
)
def test_it_takes_the_first_untrusted_address_from_the_right(behind_proxy, forwarded, client):
    assert client_ip(request(PROXY, forwarded)) == client


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        (None, PROXY),
        ("", PROXY),
        ("unknown", PROXY),
        (f"{MALLORY}:443", PROXY),  # an address with a port is not an address
        (f"{MALLORY},", PROXY),
        # Garbage behind one of our proxies: nothing left of it is believed, the proxy is the client.
        (f"{MALLORY}, garbage, 10.0.0.7", "10.0.0.7"),
    ],
)
def test_it_stops_at_a_malformed_entry_and_uses_the_last_trusted_hop(behind_proxy, forwarded, client):
    assert client_ip(request(PROXY, forwarded)) == client


def test_it_recognises_a_trusted_proxy_by_network(behind_proxy):
    assert client_ip(request("10.0.0.254", CAROLS_OFFICE)) == CAROLS_OFFICE
    assert client_ip(request(f"::ffff:{PROXY}", CAROLS_OFFICE)) == CAROLS_OFFICE
    assert client_ip(request("10.0.1.2", CAROLS_OFFICE)) == "10.0.1.2"


def test_it_records_the_client_address_in_the_lockout_and_the_access_log(behind_proxy, carol):
    login("carol", "guess", via=MALLORY)
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [MALLORY]
    assert signed_in(login("carol", PASSWORD, via=CAROLS_OFFICE))
    assert list(AccessLog.objects.values_list("ip_address", flat=True)) == [CAROLS_OFFICE]


# --- (a) one attacker address does not lock carol out ------------------------------


def test_it_does_not_lock_carol_out_for_failures_from_another_address_behind_the_proxy(behind_proxy, carol):
    for _ in range(settings.AXES_FAILURE_LIMIT + 3):
        last = login("carol", "guess", via=MALLORY)
    assert last.status_code == 429
    assert login("carol", PASSWORD, via=MALLORY).status_code == 429
    # carol comes through the same proxy, from her office, which is not locked.
    assert signed_in(login("carol", PASSWORD, via=CAROLS_OFFICE))


def test_it_counts_at_most_the_failure_limit_per_address_towards_the_account(behind_proxy, carol):
    # mallory keeps hammering after her address is locked; axes counts on, the account does not.
    for _ in range(settings.POVERTYEXIT_ACCOUNT_FAILURE_LIMIT * 2):
        login("carol", "guess", via=MALLORY)
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) > (
        settings.POVERTYEXIT_ACCOUNT_FAILURE_LIMIT
    )
    # carol, at an address she has never used, is not held back by mallory's one address.
    assert signed_in(login("carol", PASSWORD, via=CAROLS_PHONE))


# --- (b) many attacker addresses are capped per account ---------------------------


def test_it_refuses_even_the_right_password_from_a_new_address_once_the_account_limit_is_reached(
    carol_known_at_the_office,
):
    lock_carols_account()
    assert login("carol", "guess", via=FRESH).status_code == 429
    response = login("carol", PASSWORD, via=CAROLS_PHONE)
    assert response.status_code == 429
    assert SESSION_KEY not in response.wsgi_request.session


def test_it_gives_an_attacker_with_many_addresses_only_the_account_limit_of_guesses(carol_known_at_the_office):
    checked = 0
    for address in botnet(settings.POVERTYEXIT_ACCOUNT_FAILURE_LIMIT * 2):
        if login("carol", "guess", via=address).status_code == 200:
            checked += 1
    assert checked == settings.POVERTYEXIT_ACCOUNT_FAILURE_LIMIT


def test_it_lets_carol_in_at_her_office_and_lifts_the_account_lock(carol_known_at_the_office):
    lock_carols_account()
    assert login("carol", PASSWORD, via=CAROLS_PHONE).status_code == 429
    assert signed_in(login("carol", PASSWORD, via=CAROLS_OFFICE))
    assert not AccessAttempt.objects.filter(username="carol").exists()
    # The attack is over for carol: her phone works again.
    assert signed_in(login("carol", PASSWORD, via=CAROLS_PHONE))


def test_it_still_checks_the_password_at_carols_office_while_the_account_is_locked(carol_known_at_the_office):
    lock_carols_account()
    wrong = login("carol", "guess", via=CAROLS_OFFICE)
    assert wrong.status_code == 200
    assert "请输入一个正确的用户名和密码" in text(wrong)
    # A wrong password at the office lifts nothing.
    assert login("carol", PASSWORD, via=CAROLS_PHONE).status_code == 429


def test_it_says_the_account_is_limited_to_known_computers(carol_known_at_the_office):
    lock_carols_account()
    response = login("carol", PASSWORD, via=CAROLS_PHONE)
    assert response.status_code == 429
    assert element(response, "title").text == "账号已锁定"
    assert element(response, "h1").text == "该账号近期登录失败次数过多，已暂时限制从新设备登录"
    assert "请在常用电脑上登录，或 15 分钟后再试，或联系系统管理员解锁。" in text(response)


def test_it_says_this_address_is_locked_for_the_per_address_lock(behind_proxy, carol):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = login("carol", "guess", via=MALLORY)
    assert response.status_code == 429
    assert element(response, "h1").text == "登录失败次数过多，账号已被暂时锁定"
    assert "限制从新设备登录" not in text(response)


def test_it_counts_the_attempts_the_account_lock_refuses(carol_known_at_the_office):
    lock_carols_account()
    assert login("carol", "guess", via=FRESH).status_code == 429
    assert AccessAttempt.objects.get(username="carol", ip_address=FRESH).failures_since_start == 1


def test_it_lifts_the_account_lock_when_the_cool_off_has_passed(carol_known_at_the_office):
    lock_carols_account()
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert signed_in(login("carol", PASSWORD, via=CAROLS_PHONE))


def test_it_forgets_an_address_carol_has_not_used_for_a_long_time(carol_known_at_the_office):
    long_ago = timezone.now() - timedelta(days=settings.POVERTYEXIT_KNOWN_ADDRESS_DAYS + 1)
    AccessLog.objects.filter(username="carol").update(attempt_time=long_ago)
    lock_carols_account()
    assert login("carol", PASSWORD, via=CAROLS_OFFICE).status_code == 429


def test_it_applies_the_account_lock_to_the_admin_login(behind_proxy, root):
    assert signed_in(login("root", PASSWORD, via=CAROLS_OFFICE))  # root's usual desk
    AccessAttempt.objects.all().delete()
    for address in botnet(settings.POVERTYEXIT_ACCOUNT_FAILURE_LIMIT):
        login("root", "guess", via=address)

    def admin_login(via):
        return Client().post(
            "/admin/login/?next=/admin/",
            {"username": "root", "password": PASSWORD, "next": "/admin/"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=via,
        )

    assert admin_login(CAROLS_PHONE).status_code == 429
    assert admin_login(CAROLS_OFFICE)["Location"] == "/admin/"


def test_it_lets_an_administrator_lift_the_lock_by_deleting_carols_attempts(carol_known_at_the_office, root):
    lock_carols_account()
    admin = Client()
    admin.force_login(root)
    ids = list(AccessAttempt.objects.filter(username="carol").values_list("pk", flat=True))
    response = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="carol").exists()
    assert signed_in(login("carol", PASSWORD, via=CAROLS_PHONE))


# --- (c) X-Forwarded-For from anyone but our proxy is ignored -----------------------


def test_it_locks_a_direct_client_however_it_varies_x_forwarded_for(behind_proxy, carol):
    for address in botnet(settings.AXES_FAILURE_LIMIT):
        last = login("carol", "guess", via=address, remote=MALLORY)
    assert last.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {MALLORY}
    assert login("carol", PASSWORD, via=FRESH, remote=MALLORY).status_code == 429


def test_it_locks_a_client_that_prepends_addresses_through_the_proxy(behind_proxy, carol):
    # The proxy appends mallory's real address to whatever she sent.
    for address in botnet(settings.AXES_FAILURE_LIMIT):
        last = login("carol", "guess", via=f"{address}, {MALLORY}")
    assert last.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {MALLORY}


def test_it_ignores_x_forwarded_for_when_no_proxy_is_configured(carol):
    # The default: nobody is trusted, so every client behind an unlisted proxy is the proxy.
    login("carol", "guess", via=MALLORY)
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [PROXY]


# --- (d) malformed X-Forwarded-For ------------------------------------------------------


def test_it_counts_malformed_x_forwarded_for_as_the_proxy(behind_proxy, carol):
    garbage = ["unknown", "", "999.1.1.1", f"{MALLORY}:443", "<script>", f"{MALLORY}, garbage"]
    for forwarded in garbage[: settings.AXES_FAILURE_LIMIT]:
        last = login("carol", "guess", via=forwarded)
    assert last.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}
    # Rotating the garbage buys no fresh counter.
    assert login("carol", PASSWORD, via=garbage[-1]).status_code == 429
    # carol, properly forwarded, is a different client.
    assert signed_in(login("carol", PASSWORD, via=CAROLS_OFFICE))


# --- (e) the API token endpoint ---------------------------------------------------------


def test_it_does_not_lock_carols_token_for_failures_from_another_address(behind_proxy, carol):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        obtain("carol", "guess", via=MALLORY)
    assert obtain("carol", PASSWORD, via=MALLORY).status_code == 429
    assert obtain("carol", PASSWORD, via=CAROLS_OFFICE).status_code == 200


def test_it_answers_400_for_a_wrong_password_through_the_proxy(behind_proxy, carol):
    assert obtain("carol", "guess", via=MALLORY).status_code == 400


def test_it_caps_token_guesses_from_many_addresses_per_account(carol_known_at_the_office):
    for address in botnet(settings.POVERTYEXIT_ACCOUNT_FAILURE_LIMIT):
        assert obtain("carol", "guess", via=address).status_code == 400
    assert obtain("carol", PASSWORD, via=CAROLS_PHONE).status_code == 429
    assert obtain("carol", PASSWORD, via=CAROLS_OFFICE).status_code == 200
    assert obtain("carol", PASSWORD, via=CAROLS_PHONE).status_code == 200


def test_it_locks_the_token_endpoint_for_a_direct_client_however_it_varies_x_forwarded_for(behind_proxy, carol):
    for address in botnet(settings.AXES_FAILURE_LIMIT):
        obtain("carol", "guess", via=address, remote=MALLORY)
    assert obtain("carol", PASSWORD, via=FRESH, remote=MALLORY).status_code == 429


def test_it_shares_the_account_lock_between_the_login_page_and_the_token_endpoint(carol_known_at_the_office):
    lock_carols_account()
    assert obtain("carol", PASSWORD, via=CAROLS_PHONE).status_code == 429
