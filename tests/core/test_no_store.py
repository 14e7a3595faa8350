"""No personal data in caches (issue 16, point 2): every route, as a logged-in user,
answers with ``Cache-Control: no-store, private`` — pages, htmx fragments, the API,
exports and reveals — whatever its status. Static files keep their long cache."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

pytestmark = pytest.mark.django_db

GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
SAMPLE = {"kind": "households", "code": "610902101201", "token": "0" * 32, "key": "x"}


def _concrete(route: str) -> str | None:
    """A path that the pattern matches: parameters filled with plausible values."""
    route = route.lstrip("^").rstrip("$").replace("\\.", ".")
    if "format" in route:
        return None  # DRF's format-suffix twin of a route tried without it
    route = re.sub(r"<int:(\w+)>", "1", route)
    route = re.sub(r"<(?:str|slug|path):?(\w+)>", lambda m: SAMPLE.get(m.group(1), "1"), route)
    route = re.sub(r"<(\w+)>", lambda m: SAMPLE.get(m.group(1), "1"), route)
    route = GROUP.sub(lambda m: SAMPLE.get(m.group(1), "1"), route)
    route = route.replace("/?", "/")
    if any(ch in route for ch in "()[]*+?\\"):
        return None
    return route


def every_route() -> list[str]:
    paths: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            piece = _concrete(str(pattern.pattern))
            if piece is None:
                continue
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + piece)
            elif isinstance(pattern, URLPattern):
                paths.append("/" + (prefix + piece).lstrip("/"))

    walk(get_resolver().url_patterns, "")
    resolvable = []
    for path in sorted(set(paths)):
        try:
            resolve(path)
        except Resolver404:
            continue
        resolvable.append(path)
    return resolvable


ROUTES = every_route()


def test_the_walk_finds_the_routes_that_matter():
    assert len(ROUTES) > 80
    for expected in ["/", "/households/", "/households/1/", "/api/v1/households/", "/exits/", "/imports/"]:
        assert expected in ROUTES


def test_every_route_answers_no_store_to_a_logged_in_user(client, carol):
    client.force_login(carol)
    missing = []
    for path in ROUTES:
        response = client.get(path)
        cache = response.get("Cache-Control", "")
        if not ("no-store" in cache and "private" in cache):
            missing.append((path, response.status_code, cache))
    assert missing == []


def test_a_refused_or_anonymous_answer_is_not_kept_either(client):
    for path in ["/", "/households/", "/api/v1/households/", "/accounts/login/"]:
        assert "no-store" in client.get(path).get("Cache-Control", ""), path


def test_posts_and_htmx_fragments_too(client, alice):
    client.force_login(alice)
    response = client.post("/exits/batch/", {}, headers={"HX-Request": "true"})
    assert "no-store" in response["Cache-Control"]
