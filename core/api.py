"""What every app's API shares."""

from __future__ import annotations

from django.db.models import ProtectedError, RestrictedError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.deletion import refusal_from_error
from core.errors import Refusal
from core.jobs import BrokerUnavailable


def refusal_response(error: Refusal) -> Response:
    # A delete that other records stand in the way of conflicts with the data as it is
    # (409, like the stale-edit and step conflicts); a limit reached is a 429; any other
    # refusal is a 400 (Refusal.http_status).
    code = error.http_status
    return Response(
        {"detail": "；".join(error.all_messages), "reasons": error.messages, "fields": error.fields}, status=code
    )


class RefusalsMixin:
    """For API views: a service's refusal becomes a 400 with its reasons."""

    def handle_exception(self, exc):
        if isinstance(exc, Refusal):
            return refusal_response(exc)
        return super().handle_exception(exc)


def exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: DRF's, plus the refusals no view answered.

    The safety net under every endpoint: a ``ProtectedError`` / ``RestrictedError`` that
    got past the delete services' own check (core.deletion) is a 409 naming what depends
    on the row, never a 500; so is a refusal raised in a view without ``RefusalsMixin``;
    background work the broker could not take (``core.jobs.BrokerUnavailable``) is a 503.
    """
    if isinstance(exc, ProtectedError | RestrictedError):
        exc = refusal_from_error(exc)
    if isinstance(exc, Refusal):
        set_rollback()
        return refusal_response(exc)
    if isinstance(exc, BrokerUnavailable):  # background work the broker could not take
        set_rollback()
        return Response({"detail": exc.message}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
    return drf_exception_handler(exc, context)
