"""Searching by a full ID number without putting the number in a URL (DOMAIN.md §9).

A URL ends up in the access log, the browser's history and the address bar of a shared
村委会 PC. So the registry, exit-case and monitoring lists take their filter form by
POST and answer with a redirect to the same list (303), in which a full ID number in
``q`` is replaced by ``~`` and a token. The number stays in the user's session, where the
list's filter finds it again; the token means nothing in another session. A GET that
carries a full number anyway (an old bookmark) is redirected the same way.

The API has no session to keep it in: a full ID number in its query string is refused
(``IdSafeFilterBackend``) and ``POST …/search/`` (``households.api.BodySearchMixin``: households, members,
exit cases, monitoring cases) takes the list's filters in the body.
"""

from __future__ import annotations

import re
import secrets

from django.http import HttpRequest, HttpResponseRedirect, QueryDict
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend

# Loaded while DRF itself loads (DEFAULT_FILTER_BACKENDS): import nothing that needs DRF's
# settings, such as drf-spectacular; the API's POST …/search/ lives in households/api.py.
from rest_framework.exceptions import ValidationError as ApiValidationError

from households.idnumbers import normalize_id_number

TOKEN_PREFIX = "~"
SESSION_KEY = "id_searches"
# The last searches a session remembers; older tokens simply stop finding anything.
REMEMBERED = 20


# 6 digits of region, a birth date (year 1900-2099, month, day), 3 digits and a check
# character. The check digit is not required: a mistyped number is still a person's.
_ID_SHAPE = re.compile(r"\d{6}(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{3}[\dX]")


def is_full_id_number(value: str) -> bool:
    """Whether ``value`` has the shape of a whole resident ID number: what identifies a
    person. An 18-digit 户编号 has not (where a birth date would be, it has the
    town and village codes)."""
    return _ID_SHAPE.fullmatch(normalize_id_number(value)) is not None


def _stash(request: HttpRequest, number: str) -> str:
    searches: dict[str, str] = request.session.get(SESSION_KEY, {})
    for token, kept in searches.items():
        if kept == number:
            return token
    token = secrets.token_urlsafe(6)
    searches[token] = number
    request.session[SESSION_KEY] = dict(list(searches.items())[-REMEMBERED:])
    return token


def resolve(request: HttpRequest | None, value: str) -> str:
    """The search term a ``q`` value stands for: the number behind a token, else itself
    (a token from another session stays a token, which matches nothing)."""
    if not value.startswith(TOKEN_PREFIX) or request is None or not hasattr(request, "session"):
        return value
    return request.session.get(SESSION_KEY, {}).get(value[len(TOKEN_PREFIX) :], value)


def search_redirect(request: HttpRequest) -> HttpResponseRedirect | None:
    """The list's own URL for a POSTed filter form, or for a GET with a full ID number in
    ``q``; None when the request may be answered as it is."""
    if request.method == "POST":
        query = request.POST.copy()
        query.pop("csrfmiddlewaretoken", None)
    elif is_full_id_number(request.GET.get("q", "")):
        query = request.GET.copy()
    else:
        return None
    query.pop("page", None)
    q = query.get("q", "").strip()
    if is_full_id_number(q):
        query["q"] = TOKEN_PREFIX + _stash(request, normalize_id_number(q))
    cleaned = QueryDict(mutable=True)
    for key, values in query.lists():
        kept = [v for v in values if v != ""]
        if kept:
            cleaned.setlist(key, kept)
    url = request.path + (f"?{cleaned.urlencode()}" if cleaned else "")
    return HttpResponseRedirect(url, status=303)


class IdSearchFilterMixin:
    """For the list filtersets: ``q`` may be a token standing for a full ID number, which
    the form shows (in the page, not the URL) and the search uses."""

    def __init__(self, data=None, *args, request=None, **kwargs):
        if data is not None and data.get("q", "").startswith(TOKEN_PREFIX):
            data = data.copy()
            data["q"] = resolve(request, data["q"])
        super().__init__(data, *args, request=request, **kwargs)


class IdSafeFilterBackend(DjangoFilterBackend):
    """Every API list: a full ID number in the query string is refused, not searched."""

    def filter_queryset(self, request, queryset, view):
        if is_full_id_number(request.query_params.get("q", "")):
            raise ApiValidationError(
                {
                    "q": [
                        _(
                            "为保护个人信息，完整证件号码不能放在网址中查询；"
                            "请改用同一接口的 POST …/search/，在请求正文中提交。"
                        )
                    ]
                }
            )
        return super().filter_queryset(request, queryset, view)
