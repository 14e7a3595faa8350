"""History rows (django-simple-history) that always fit their table.

A change reason is often built from what a user typed (a return's reason, an approval
document's name, what changed under a lapsed certification), but simple-history keeps
it in a 100-character column: PostgreSQL refuses a longer value and the whole write
would fail. Every historical row passes through here before it is saved, whatever path
wrote it, and a long reason is shortened with an ellipsis; the full text stays on the
record itself.
"""

from django.utils.text import Truncator


def fit_change_reason(sender, history_instance, **kwargs) -> None:
    field = history_instance._meta.get_field("history_change_reason")
    reason = history_instance.history_change_reason
    if reason and field.max_length and len(reason) > field.max_length:
        history_instance.history_change_reason = Truncator(reason).chars(field.max_length)
