"""What every app's API shares."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response

from core.errors import Refusal


def refusal_response(error: Refusal) -> Response:
    return Response(
        {"detail": "；".join(error.all_messages), "reasons": error.messages, "fields": error.fields},
        status=status.HTTP_400_BAD_REQUEST,
    )


class RefusalsMixin:
    """For API views: a service's refusal becomes a 400 with its reasons."""

    def handle_exception(self, exc):
        if isinstance(exc, Refusal):
            return refusal_response(exc)
        return super().handle_exception(exc)
