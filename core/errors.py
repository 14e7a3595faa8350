"""The one shape of a refused action, shared by the exit and monitoring workflows.

A service that refuses raises a ``Refusal`` subclass (``ExitError``, ``MonitoringError``)
before it writes anything; pages show ``all_messages`` and attach ``fields`` to their
form fields; the API answers 400 with the same words (``core.api.RefusalsMixin``), or 409
for a delete that other records stand in the way of (``ProtectedRecords``).
"""

from __future__ import annotations


class Refusal(Exception):
    """The action is refused; ``messages`` say why, ``fields`` field by field where
    there is one. Every message is meant for the user, in their language."""

    # The API's answer: 400, or 409 for a conflict with the data as it is, or 429 for a
    # limit on how often something may be done.
    http_status = 400

    def __init__(self, messages: str | list[str], *, fields: dict[str, list[str]] | None = None):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.fields = fields or {}
        super().__init__("；".join(self.all_messages))

    @property
    def all_messages(self) -> list[str]:
        return self.messages + [m for msgs in self.fields.values() for m in msgs]


class ProtectedRecords(Refusal):
    """A delete refused because other records depend on the row and must be kept (a
    PROTECT or RESTRICT foreign key: an exit case, a monitoring case, a transfer …).
    Raised by ``core.deletion`` before anything is deleted; the API answers 409."""

    http_status = 409
