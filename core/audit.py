"""The "变更记录" panel: a record's history (django-simple-history) as who / when /
old → new, for any model that declares ``history = HistoricalRecords()``.

Writes are recorded by simple-history's signals for single saves and by
``core.bulk.bulk_insert_with_history`` (or simple-history's own bulk helpers) for bulk
writes; services must use those, never a bare ``bulk_create`` or ``QuerySet.update``,
on an audited field of an audited model.
"""

from collections import defaultdict
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
    subject: str = ""
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


def history_entries(*objects: models.Model, limit: int = 50, subjects: dict | None = None) -> list[HistoryEntry]:
    """The newest ``limit`` changes of ``objects`` (a household and its members, say),
    each with its changes against the previous version of the same record.

    One query per model: versions are fetched in order and compared in memory, never
    with ``prev_record`` per row. ``subjects`` optionally labels each object (e.g.
    "成员 张三") when several are shown together.
    """
    by_model: dict[type, list] = defaultdict(list)
    for obj in objects:
        by_model[type(obj)].append(obj)
    entries: list[HistoryEntry] = []
    for model, objs in by_model.items():
        records = list(
            model.history.filter(**{f"{model._meta.pk.attname}__in": [o.pk for o in objs]})
            .select_related("history_user")
            .order_by(model._meta.pk.attname, "history_date", "history_id")
        )
        pk_name = model._meta.pk.attname  # the tracked row's id (a history row's own pk is history_id)
        previous = None
        for record in records:
            same_object = previous is not None and getattr(previous, pk_name) == getattr(record, pk_name)
            older = previous if same_object else None
            previous = record
            changes = []
            if record.history_type == "~" and older is not None:
                for change in record.diff_against(older).changes:
                    model_field = model._meta.get_field(change.field)
                    changes.append(
                        Change(
                            str(model_field.verbose_name),
                            _display(model_field, change.old),
                            _display(model_field, change.new),
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
                    subject=(subjects or {}).get((model, getattr(record, pk_name)), ""),
                    changes=changes,
                )
            )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]
