"""The login lockout: one rule for every door that checks a password.

It runs inside ``django.contrib.auth.authenticate()``, first in ``AUTHENTICATION_BACKENDS``,
so the login page, the API token endpoint and the admin's login all apply it:

- **Per address** (django-axes): ``AXES_FAILURE_LIMIT`` failures for one username from one
  address lock that pair for ``AXES_COOLOFF_TIME``. One address can lock only itself.
- **Per account** (here): once an account has ``POVERTYEXIT_ACCOUNT_FAILURE_LIMIT``
  failures within the cool-off, counted across addresses with each address contributing
  at most ``AXES_FAILURE_LIMIT``, attempts from addresses the user has not signed in from
  within ``POVERTYEXIT_KNOWN_ADDRESS_DAYS`` are refused without a password check. The
  user's usual computer still gets in, and its right password lifts the account lock.

The account lock keeps no state of its own: it is read from axes' ``AccessAttempt`` rows
(failures) and ``AccessLog`` rows (successful logins), so whatever clears those — a
successful login, the cool-off, the admin deleting a user's attempts, the daily
housekeeping — clears it too.
"""

from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from core.netaddr import client_ip


class LoginLockoutBackend(AxesStandaloneBackend):
    """Refuses locked-out attempts; never signs anyone in itself (``ModelBackend`` does)."""

    def authenticate(self, request: HttpRequest, username: str | None = None, password: str | None = None, **kwargs):
        # Axes' per-address lock: raises AxesBackendPermissionDenied when this pair is locked.
        super().authenticate(request, username=username, password=password, **kwargs)
        if not settings.AXES_ENABLED or not username or not account_is_locked(username=username):
            return None
        if address_is_known(username=username, ip_address=client_ip(request)):
            # The user's usual computer: the password decides. If it is right the attack is
            # over for this user, so the account lock goes; ModelBackend (next in the list)
            # then checks the same password again and signs the user in.
            if ModelBackend().authenticate(request, username=username, password=password) is not None:
                account_lock_lift(username=username)
            return None
        # As axes does for its own lock: the flag makes AxesMiddleware answer with the
        # lockout page (429) and the token endpoint answer 429; `authenticate()` turns the
        # exception into user_login_failed, so axes still counts this attempt.
        request.axes_locked_out = True
        request.account_locked_out = True  # the lockout page says which lock this is
        raise AxesBackendPermissionDenied("The account is locked for addresses its user has not signed in from")


def account_failures(*, username: str) -> int:
    """Failed logins for ``username`` within the cool-off, each address counting at most
    ``AXES_FAILURE_LIMIT``: axes keeps counting a locked pair's further attempts, and
    without the cap one address could trip the account lock on its own."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    per_address = (
        AccessAttempt.objects.filter(username=username, attempt_time__gte=since)
        .order_by()
        .values("ip_address")
        .annotate(failures=Sum("failures_since_start"))
        .values_list("failures", flat=True)
    )
    return sum(min(failures, settings.AXES_FAILURE_LIMIT) for failures in per_address)


def account_is_locked(*, username: str) -> bool:
    return account_failures(username=username) >= settings.POVERTYEXIT_ACCOUNT_FAILURE_LIMIT


def address_is_known(*, username: str, ip_address: str) -> bool:
    """Whether ``username`` signed in successfully from ``ip_address`` recently.

    Only a successful login writes an AccessLog row, so an attacker cannot make an
    address known without the password.
    """
    since = timezone.now() - timedelta(days=settings.POVERTYEXIT_KNOWN_ADDRESS_DAYS)
    return AccessLog.objects.filter(username=username, ip_address=ip_address, attempt_time__gte=since).exists()


def account_lock_lift(*, username: str) -> int:
    """Forget every recorded failure for ``username``, from every address; returns how many
    rows went. The same as the admin deleting the user's access attempts."""
    deleted, _rows = AccessAttempt.objects.filter(username=username).delete()
    return deleted
