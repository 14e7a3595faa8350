"""``Server-Timing`` on every response: how long the request spent in SQL, and in Django.

Opt-in: ``POVERTYEXIT_SERVER_TIMING=1`` puts :class:`ServerTimingMiddleware` first in
``MIDDLEWARE`` (povertyexit/settings.py). It is off by default because it tells every
client how long the server worked on its request, which a public deployment need not
say. The load benchmark (bench/bench_load.py) turns it on; its locustfile adds the
headers up into the server-side SQL share at each load level.

The header uses the standard syntax (W3C Server Timing), which browsers' developer
tools also show::

    Server-Timing: db;dur=12.4;desc="7 queries", app;dur=31.9

``app`` is the whole time inside Django, from the first middleware in to the response
out, SQL included; ``db`` is the part of it spent in the database driver (each
``cursor.execute``, fetching the rows included, as ``connection.execute_wrapper`` sees
it). The difference is Python: middleware, views, ORM, templates. A streaming response
(the Excel ledgers) is generated after the header is sent, so its rows are not counted.
"""

import time
from contextlib import ExitStack

from django.db import connections


class _SqlClock:
    """An execute wrapper that adds up the time and number of the queries it sees.

    Database connections are per thread (gunicorn's gthread worker runs one request per
    thread), so a clock installed by one request never sees another request's queries.
    """

    def __init__(self):
        self.seconds = 0.0
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.queries += 1


class ServerTimingMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        clock = _SqlClock()
        started = time.perf_counter()
        with ExitStack() as stack:
            for connection in connections.all():
                stack.enter_context(connection.execute_wrapper(clock))
            response = self.get_response(request)
        app_ms = (time.perf_counter() - started) * 1000
        timing = f'db;dur={clock.seconds * 1000:.1f};desc="{clock.queries} queries", app;dur={app_ms:.1f}'
        # Keep what a view may have said already; the header is a comma-separated list.
        existing = response.get("Server-Timing")
        response["Server-Timing"] = f"{existing}, {timing}" if existing else timing
        return response
