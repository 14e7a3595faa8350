"""Deleting a row that other rows depend on: refused in words, never a 500.

The foreign keys to a household, a campaign, a region or a user are PROTECT (or
RESTRICT): an exit case, a monitoring case, a relapse, a transfer must outlive a household
registered by mistake. Django discovers that only inside ``delete()`` and raises
``ProtectedError``. So:

- a delete service calls ``deletion_check`` before it deletes anything; the refusal names
  what depends on the row, with counts, in the models' own (Chinese) verbose names;
- whatever still gets as far as ``ProtectedError`` / ``RestrictedError`` (a path that
  skipped a service, a case enrolled in the same instant) is turned into the same words
  by ``refusal_from_error``: the API's exception handler (``core.api``) answers 409 and
  ``core.middleware.ProtectedDeleteMiddleware`` shows pages the message.

Dependents are found the way Django admin finds them for its "cannot delete" page
(``NestedObjects``, a deletion ``Collector``), so admin and the services agree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.contrib.admin.utils import NestedObjects
from django.db import router
from django.db.models import Model, ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from core.errors import ProtectedRecords


def deletion_blockers(obj: Model, *, along: Iterable[Model] = ()) -> Counter[type[Model]]:
    """The rows that keep ``obj`` from being deleted, counted by model.

    ``along`` are rows the caller deletes first, in the same transaction (a household's
    members, say): they protect ``obj`` only until then, so they are not counted, but
    whatever protects *them* is.
    """
    doomed = {obj, *along}
    collector = NestedObjects(using=router.db_for_write(type(obj), instance=obj))
    by_model: dict[type[Model], list[Model]] = {}
    for row in doomed:
        by_model.setdefault(type(row), []).append(row)
    for rows in by_model.values():
        collector.collect(rows)  # records protected rows in ``collector.protected``, never raises
    return Counter(type(row) for row in collector.protected if row not in doomed)


def deletion_check(obj: Model, *, along: Iterable[Model] = (), label: str | None = None) -> None:
    """Raise ``ProtectedRecords`` if rows that must be kept depend on ``obj``.

    ``label`` is how the message names ``obj`` (default: its model's name and ``str()``).
    """
    blockers = deletion_blockers(obj, along=along)
    if blockers:
        if label is None:
            label = _("%(model)s“%(name)s”") % {"model": obj._meta.verbose_name, "name": obj}
        raise ProtectedRecords(refusal_message(blockers, label=label))


def refusal_from_error(error: ProtectedError | RestrictedError) -> ProtectedRecords:
    """The refusal for a ``ProtectedError`` or ``RestrictedError`` that a path let through."""
    rows = error.protected_objects if isinstance(error, ProtectedError) else error.restricted_objects
    return ProtectedRecords(refusal_message(Counter(type(row) for row in rows)))


def refusal_message(blockers: Counter[type[Model]], *, label: str | None = None) -> str:
    dependents = "、".join(
        _("%(count)d个%(name)s")
        % {"count": count, "name": model._meta.verbose_name if count == 1 else model._meta.verbose_name_plural}
        # A stable order: by app, then model (the same words every time for the same rows).
        for model, count in sorted(blockers.items(), key=lambda item: item[0]._meta.label)
    )
    return _("不能删除%(what)s：还有%(dependents)s与之关联，这些记录须保留。") % {
        "what": label or _("该记录"),
        "dependents": dependents or _("其他记录"),
    }
