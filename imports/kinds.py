"""What can be imported. Each kind's parsing, rules and writes live with its own app
(households/import_plan.py for the registry); this module only names them, so the
upload pages, the Celery tasks and the API run every kind the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.utils.module_loading import import_string

from households.excel import ExcelColumn

# kind → dotted path of a function returning its Importer (imported on first use).
IMPORTERS = {
    "households": "households.import_plan._importer",
    "sector_comparison": "monitoring.sector_import._importer",
}


@dataclass(frozen=True)
class Importer:
    kind: str
    #: The data sheets and their columns: the error workbook finds each bad cell by header.
    sheets: dict[str, list[ExcelColumn]]
    #: Count groups shown in the preview, e.g. {"households": "户", "members": "成员"}.
    count_labels: dict[str, str]
    template: Callable[[Any], bytes]
    template_filename: str
    #: (binary file, progress=callable(done, total)) → parsed rows with ``row_count``,
    #: ``errors`` and ``to_json()``; raises ImportFileError for an unusable file.
    parse: Callable[..., Any]
    load_parsed: Callable[[dict], Any]
    #: (parsed, by=user, progress=…) → a plan with ``counts`` and ``errors``; no writes.
    plan: Callable[..., Any]
    #: (plan, by=user, progress=…) → None; writes a plan without errors.
    apply: Callable[..., None]
    #: Where the result page sends the user to see what was imported.
    result_url_name: str
    #: Roles that may upload this kind (None: every role that may write).
    roles: frozenset[str] | None = None
    #: What the upload page calls it, and a line on what it does.
    title: str = ""
    description: str = ""
    #: The models ``apply`` writes in bulk: their statistics are refreshed after a large
    #: import (core.bulk.analyze), as autovacuum would.
    models: tuple = ()


@cache
def importer_for(kind: str) -> Importer:
    return import_string(IMPORTERS[kind])()
