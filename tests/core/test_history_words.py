"""变更记录 in words (issue 18): every field of every model with a history, changed from
one value to another of its kind, reads as labelled text in both languages — never a
dict, a list or a stored code.

The values are the shapes the app writes: each criterion's measurement, a step's record,
a campaign's step levels and gates, lists of causes and risk types. A JSON field with no
sample here fails the test, so a new one cannot reach the panel unread.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models
from django.utils import translation

from core.audit import Change, _display
from exits.gates import DEFAULT_STEP_GATES, Gate
from exits.models import DEFAULT_STEP_LEVELS, Level
from exits.services import ARCHIVE_ITEMS
from households.models import PovertyCause
from monitoring.models import RiskType

PROJECT_APPS = {"accounts", "regions", "households", "exits", "monitoring", "notifications", "imports", "core"}

STEP_RECORDS = [
    {"head_signed": True, "food_clothing_secure": True, "signed_on": "2020-10-08"},
    {"meeting_date": "2020-10-09", "attendance": 31, "votes_for": 30, "votes_against": 1, "minutes": "一致同意"},
    {"checking_unit": "610902101000", "checking_unit_name": "新城街道", "findings": "无"},
    {"opinion": "同意退出"},
    {"checklist": list(ARCHIVE_ITEMS)},
    {"marked_on": "2020-11-18", "operator": "王五", "note": ""},
]


def _measurements() -> list[dict]:
    """What exits.criteria measures, for each of the five criteria (shapes, not values)."""
    return [
        {"year": 2020, "per_capita": "5210.00", "line": "4000.00"},
        {"grade": "A", "appraised_on": "2020-05-01", "outcome": ""},
        {"age_range": [6, 15], "of_age": 1, "home_taught": []},
        {"age_range": [6, 15], "of_age": 2, "home_taught": [41]},
        {"members": 4, "family_doctor": 4},
        {
            "assessed_on": "2020-06-01",
            "quality_ok": True,
            "litres_per_person_day": 60,
            "piped_to_house": True,
            "round_trip_minutes": 0,
            "reliability_percent": 95,
        },
        {},
    ]


JSON_SAMPLES = {
    ("exits", "criterioncheck", "measured"): _measurements(),
    ("exits", "criterioncheck", "certified_measured"): _measurements(),
    ("exits", "criterioncheck", "failures"): [["人均纯收入 3200.00 低于收入标准 4000.00"], []],
    ("exits", "steprecord", "data"): STEP_RECORDS,
    ("exits", "campaign", "step_levels"): [dict(DEFAULT_STEP_LEVELS), {**DEFAULT_STEP_LEVELS, "8": Level.COUNTY}],
    ("exits", "campaign", "step_gates"): [dict(DEFAULT_STEP_GATES), {"7": [Gate.CRITERIA_MET]}, {}],
    ("households", "household", "other_causes"): [[PovertyCause.ILLNESS, PovertyCause.DISABILITY], []],
    ("monitoring", "monitoringcase", "risk_types"): [[t.value for t in RiskType][:3], []],
}


def _tracked_models():
    for model in apps.get_models():
        if model._meta.app_label in PROJECT_APPS and hasattr(model._meta, "simple_history_manager_attribute"):
            yield model


def _tracked_fields(model):
    historical = getattr(model, model._meta.simple_history_manager_attribute).model
    names = {f.name for f in historical._meta.fields}
    for field in model._meta.concrete_fields:
        if field.name in names and not field.primary_key:
            yield field


def _samples(model, field) -> list:
    """Values of ``field`` as the app stores them (what diff_against hands the panel)."""
    if isinstance(field, models.JSONField):
        key = (model._meta.app_label, model._meta.model_name, field.name)
        assert key in JSON_SAMPLES, f"{key}: add the shapes this JSON field stores to JSON_SAMPLES"
        return JSON_SAMPLES[key]
    if field.choices:
        return [value for value, _label in field.flatchoices][:3] + [None]
    if isinstance(field, models.ForeignKey):
        return [1, None]
    if isinstance(field, models.BooleanField):
        return [True, False]
    if isinstance(field, models.DateTimeField):
        return [datetime.datetime(2020, 10, 8, 1, 30, tzinfo=datetime.UTC)]
    if isinstance(field, models.DateField):
        return [datetime.date(2020, 10, 8)]
    if isinstance(field, models.DecimalField):
        return [Decimal("5210.00")]
    if isinstance(field, models.IntegerField):
        return [3, 0]
    if isinstance(field, models.FileField):
        return ["attachments/2020/10/身份证复印件.pdf"]
    return ["张三", ""]


def _codes() -> set[str]:
    """Every stored code of the project's enumerations that a person could mistake for
    text: ASCII words, not numbers."""
    codes = set()
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        for field in model._meta.fields:
            for value, _label in field.flatchoices or []:
                if isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_]+", value) and len(value) > 2:
                    codes.add(value)
    codes |= {g.value for g in Gate} | {r.value for r in RiskType} | {c.value for c in PovertyCause}
    return codes


CASES = [
    pytest.param(model, field, id=f"{model._meta.label}.{field.name}")
    for model in _tracked_models()
    for field in _tracked_fields(model)
]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(("model", "field"), CASES)
def test_every_tracked_field_reads_as_text(model, field, language):
    codes = _codes()
    with translation.override(language):
        for value in _samples(model, field):
            shown = _display(model, field, value, {})
            change = Change(str(field.verbose_name), shown, shown)
            for text in (change.field, change.new):
                assert not re.search(r"[{}\[\]]", text), f"{field}: {value!r} shows as {text!r}"
                # In Chinese any stored code is an English word out of place; in English
                # the labels are English words, and the braces and literals tell.
                raw = {w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]+", text) if w in codes} if language != "en" else ()
                assert not raw, f"{field}: {value!r} shows the stored code(s) {raw} in {text!r}"
                assert "None" not in text and "True" not in text and "False" not in text, (field, value, text)


def test_english_shows_english_labels_for_stored_codes():
    from exits.models import Campaign, StepRecord
    from monitoring.models import MonitoringCase

    with translation.override("en"):
        levels = _display(Campaign, Campaign._meta.get_field("step_levels"), dict(DEFAULT_STEP_LEVELS), {})
        assert "Village" in levels or "village" in levels.lower()
        assert not re.search(r"[\u4e00-\u9fff]", levels), levels
        risks = _display(MonitoringCase, MonitoringCase._meta.get_field("risk_types"), [t.value for t in RiskType], {})
        assert not re.search(r"[\u4e00-\u9fff]", risks), risks
        record = _display(StepRecord, StepRecord._meta.get_field("data"), STEP_RECORDS[1], {})
        assert "31" in record and not re.search(r"[\u4e00-\u9fff]", record.replace("一致同意", "")), record


def test_every_measured_key_has_a_label_and_a_sample():
    """A key exits.criteria writes without a label here would reach the panel as a code."""
    from exits.criteria import MEASURED_LABELS

    assert set().union(*(set(m) for m in _measurements())) == set(MEASURED_LABELS)
