"""The "变更记录" panel: a record's history (django-simple-history) as who / when /
old → new, for any model that declares ``history = HistoricalRecords()``.

Writes are recorded by simple-history's signals for single saves and by its
``bulk_create_with_history`` / ``bulk_update_with_history`` helpers for bulk writes;
services must use those helpers, never a bare ``bulk_create`` or ``QuerySet.update``,
on an audited model.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {"+": _("创建"), "~": _("修改"), "-": _("删除")}


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    when: datetime
    who: str
    action: str
    reason: str
    changes: list[Change] = field(default_factory=list)


def _display(model_field: models.Field, value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(model_field, models.BooleanField):
        return str(_("是") if value else _("否"))
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def history_entries(obj: models.Model, limit: int = 50) -> list[HistoryEntry]:
    """The newest ``limit`` versions of ``obj``, each with its changes against the one before.

    One query: versions are fetched newest first (plus one more to diff the oldest
    shown against) and compared in memory, never with ``prev_record`` per row.
    """
    records = list(obj.history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1])
    model = type(obj)
    entries = []
    for index, record in enumerate(records[:limit]):
        older = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if record.history_type == "~" and older is not None:
            delta = record.diff_against(older)
            for change in delta.changes:
                model_field = model._meta.get_field(change.field)
                changes.append(
                    Change(
                        field=str(model_field.verbose_name),
                        old=_display(model_field, change.old),
                        new=_display(model_field, change.new),
                    )
                )
            if not changes:
                continue  # a save that changed nothing is not worth a line
        user = record.history_user
        entries.append(
            HistoryEntry(
                when=record.history_date,
                who=str(user) if user else str(_("系统")),
                action=str(ACTION_LABELS[record.history_type]),
                reason=record.history_change_reason or "",
                changes=changes,
            )
        )
    return entries
