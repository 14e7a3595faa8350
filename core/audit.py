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
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from core import change_reasons

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


def _display(model: type[models.Model], model_field: models.Field, value, related: dict) -> str:
    """A stored value as a person reads it: masked if sensitive, labels for choices,
    the related record's name for a foreign key."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    custom = getattr(model, "HISTORY_DISPLAY", {}).get(model_field.name)
    if custom is not None:
        return str(custom(value))
    if isinstance(model_field, models.ForeignKey):
        target = related.get((model_field.related_model, value))
        return str(target) if target is not None else str(value)
    if isinstance(model_field, models.BooleanField):
        return str(_("是") if value else _("否"))
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, models.FileField):
        return str(value).rsplit("/", 1)[-1]  # the file's name, not where it is stored
    if isinstance(value, list):
        return "、".join(_plain(v) for v in value)
    if isinstance(value, dict):
        # A JSON field without a HISTORY_DISPLAY of its model: key and value in words at
        # least (tests/core/test_history_words.py keeps every field of ours covered).
        return "；".join(f"{key}：{_plain(v)}" for key, v in value.items()) or "—"
    if isinstance(model_field, models.DateTimeField):
        when = value if isinstance(value, datetime) else parse_datetime(str(value))
        if when is not None:
            if timezone.is_aware(when):
                when = timezone.localtime(when)
            return when.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _plain(value) -> str:
    """A value inside a list or a dict, without Python's brackets and literals."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if isinstance(value, list):
        return "、".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "，".join(f"{k} {_plain(v)}" for k, v in value.items())
    return str(value)


def history_entries(*objects: models.Model, limit: int = 50) -> list[HistoryEntry]:
    """The newest ``limit`` changes of ``objects``, each against the previous version."""
    by_model: dict[type, set] = defaultdict(set)
    for obj in objects:
        by_model[type(obj)].add(obj.pk)
    return history_entries_for(by_model, limit=limit)


def history_entries_for(
    tracked: dict[type[models.Model], set], *, limit: int = 50, labelled: frozenset = frozenset()
) -> list[HistoryEntry]:
    """Changes of the rows ``{Model: {pk, ...}}``, newest first.

    One query per model for the versions (compared in memory, never with
    ``prev_record`` per row) and one per foreign-key target to name related rows.
    Entries of the models in ``labelled`` carry a subject ("家庭成员 张三"), for panels
    that show a household together with its members — including members since
    removed or transferred out, whose versions outlive them.
    """
    entries: list[HistoryEntry] = []
    for model, pks in tracked.items():
        pk_name = model._meta.pk.attname  # the tracked row's id (a history row's own pk is history_id)
        records = list(
            model.history.filter(**{f"{pk_name}__in": pks})
            .select_related("history_user")
            .order_by(pk_name, "history_date", "history_id")
        )
        related = _related_names(model, records)
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
                            _display(model, model_field, change.old, related),
                            _display(model, model_field, change.new, related),
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
                    reason=change_reasons.shown(record.history_change_reason or ""),
                    subject=f"{model._meta.verbose_name} {record.instance}" if model in labelled else "",
                    changes=changes,
                )
            )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]


def _related_names(model: type[models.Model], records: list) -> dict:
    """{(target model, pk): target} for every foreign key value in ``records``."""
    related = {}
    for model_field in model._meta.concrete_fields:
        if not isinstance(model_field, models.ForeignKey):
            continue
        values = {getattr(r, model_field.attname) for r in records} - {None}
        if values:
            target = model_field.related_model
            for pk, obj in target._default_manager.in_bulk(values).items():
                related[(target, pk)] = obj
    return related
