"""Pages' safety nets: deletes that other records stand in the way of (409), and
background work the broker could not take (503); and no response kept in a cache."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import ProtectedError, RestrictedError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from core.deletion import refusal_from_error
from core.errors import ProtectedRecords
from core.jobs import BrokerUnavailable


class ProtectedDeleteMiddleware:
    """A ``ProtectedError`` / ``RestrictedError`` (or a ``ProtectedRecords`` refusal) that a
    page view let through is shown as the refusal it is, never a 500 (core/deletion.py).

    The delete itself was rolled back with its transaction before this runs. The user goes
    back to the page their form was on, with the message on top; without a same-site
    Referer (or after a GET, or from htmx) they get a small page that says it, with status
    409. API views answer for themselves (core.api.exception_handler); should one let it
    through, it gets the 409 as JSON.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, BrokerUnavailable):
            # A view that hands work to Celery answers this itself (imports.views); this
            # is the net under one that does not.
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": exception.message}, status=503)
            heading = _("后台任务服务暂时不可用")
            return render(request, "409.html", {"message": exception.message, "heading": heading}, status=503)
        if isinstance(exception, ProtectedError | RestrictedError):
            exception = refusal_from_error(exception)
        if not isinstance(exception, ProtectedRecords):
            return None
        message = "；".join(exception.all_messages)
        if request.path.startswith("/api/"):
            body = {"detail": message, "reasons": exception.messages, "fields": exception.fields}
            return JsonResponse(body, status=409)
        referer = request.headers.get("referer", "")
        back = referer and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        # Back only after a form's POST: a GET that failed would fail again on its Referer.
        if back and request.method not in ("GET", "HEAD") and not getattr(request, "htmx", False):
            messages.error(request, message)
            return HttpResponseRedirect(referer)
        return render(request, "409.html", {"message": message}, status=409)


class NoStoreMiddleware:
    """Nothing the application answers is kept by a browser or a proxy: pages, htmx
    fragments, API answers, exports and reveals carry personal data, and a 村委会 PC is
    shared. ``Cache-Control: no-store, private`` (with ``no-cache``, ``max-age=0`` and an
    ``Expires`` of now) on every response a view produced; static files, which carry
    nothing personal, are served by whitenoise before this runs and keep their long cache.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
