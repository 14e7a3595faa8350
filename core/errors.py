"""The one shape of a refused action, shared by the exit and monitoring workflows.

A service that refuses raises a ``Refusal`` subclass (``ExitError``, ``MonitoringError``)
before it writes anything; pages show ``all_messages`` and attach ``fields`` to their
form fields; the API answers 400 with the same words (``core.api.RefusalsMixin``).
"""

from __future__ import annotations


class Refusal(Exception):
    """The action is refused; ``messages`` say why, ``fields`` field by field where
    there is one. Every message is meant for the user, in their language."""

    def __init__(self, messages: str | list[str], *, fields: dict[str, list[str]] | None = None):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.fields = fields or {}
        super().__init__("；".join(self.all_messages))

    @property
    def all_messages(self) -> list[str]:
        return self.messages + [m for msgs in self.fields.values() for m in msgs]
