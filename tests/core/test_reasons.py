"""Change reasons are stored in the site's language whoever writes them, and shown in
the reader's (issue 18): the template and its labels translated, what a person typed
kept as typed."""

import re

import pytest
from django.utils import translation

from core import change_reasons
from exits.models import Step


def test_a_reason_is_stored_in_chinese_whatever_the_writer_s_language():
    with translation.override("en"):
        text = change_reasons.stored(change_reasons.STEP_DONE, s=3, label=Step(3).label)
    assert text == "完成第3步“交叉检查”"


@pytest.mark.parametrize(
    ("stored", "english"),
    [
        (change_reasons.stored(change_reasons.STEP_DONE, s=3, label=Step(3).label), "Cross-check"),
        (change_reasons.stored(change_reasons.NOTICE_OPENED), None),
        (change_reasons.stored(change_reasons.IMPORT), None),
        (change_reasons.stored(change_reasons.DEMO), None),
    ],
)
def test_a_stored_reason_reads_in_english(stored, english):
    with translation.override("en"):
        shown = change_reasons.shown(stored)
    assert shown and not re.search(r"[\u4e00-\u9fff]", shown), shown
    if english:
        assert english.lower() in shown.lower()
    with translation.override("zh-hans"):
        assert change_reasons.shown(stored) == stored


def test_what_a_person_typed_stays_as_typed():
    stored = change_reasons.stored(change_reasons.RETURNED, s=2, label=Step(2).label, r="评议票数有误，重新评议")
    with translation.override("en"):
        shown = change_reasons.shown(stored)
    assert shown.endswith("评议票数有误，重新评议") and "2" in shown and "民主评议" not in shown


def test_a_reason_no_template_fits_is_shown_as_stored():
    with translation.override("en"):
        assert change_reasons.shown("某县自定义说明") == "某县自定义说明"
        assert change_reasons.shown("") == ""


def test_every_template_has_an_english_translation():
    with translation.override("en"):
        for template in change_reasons.TEMPLATES:
            assert translation.gettext(template) != template, template
