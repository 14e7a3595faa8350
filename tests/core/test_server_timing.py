"""The opt-in Server-Timing header (core/timing.py) that the load benchmark reads: it
counts the request's queries and their time, and is absent unless turned on."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory

from core.timing import ServerTimingMiddleware

ROOT = Path(__file__).resolve().parents[2]
HEADER = re.compile(r'^db;dur=([\d.]+);desc="(\d+) queries", app;dur=([\d.]+)$')


def view_running(queries: int):
    def view(request):
        with connection.cursor() as cursor:
            for _ in range(queries):
                cursor.execute("SELECT 1")
        return HttpResponse("ok")

    return view


@pytest.mark.django_db
def test_it_counts_the_requests_queries_within_its_time():
    response = ServerTimingMiddleware(view_running(3))(RequestFactory().get("/"))

    db_ms, queries, app_ms = HEADER.match(response["Server-Timing"]).groups()
    assert int(queries) == 3
    assert 0 <= float(db_ms) <= float(app_ms)


@pytest.mark.django_db
def test_it_stops_counting_when_the_request_ends():
    ServerTimingMiddleware(view_running(1))(RequestFactory().get("/"))
    with connection.cursor() as cursor:  # after the request: the wrapper is gone
        cursor.execute("SELECT 1")
    assert connection.execute_wrappers == []


def test_it_keeps_a_header_the_view_set():
    def view(request):
        response = HttpResponse("ok")
        response["Server-Timing"] = "cache;desc=hit"
        return response

    response = ServerTimingMiddleware(view)(RequestFactory().get("/"))

    assert response["Server-Timing"].startswith("cache;desc=hit, db;dur=")


def middleware_with(env: dict) -> list[str]:
    """MIDDLEWARE as a fresh process reads the settings with ``env``."""
    code = "from django.conf import settings; print(','.join(settings.MIDDLEWARE))"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={"DJANGO_SETTINGS_MODULE": "povertyexit.settings_test", "PATH": "/usr/bin:/bin", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().split(",")


def test_it_is_off_unless_asked_for_and_then_first():
    assert "core.timing.ServerTimingMiddleware" not in middleware_with({})
    assert middleware_with({"POVERTYEXIT_SERVER_TIMING": "1"})[0] == "core.timing.ServerTimingMiddleware"
