"""Change reasons (变更记录's "why") stored in one language, shown in the reader's.

A history row's reason is text in a 100-character column, written once and read for
years by people of either language. It is stored in the site's language (Chinese) from
one of the templates below (``stored``) and shown through ``shown``: a reason that fits a
template is rebuilt from the template in the active language, each of its parts
translated when it is itself a label (a step's name, a discovery channel); any other
reason (older rows, or one typed by a person) is shown as stored, translated when it is
a catalogue entry.

Every reason the app writes comes from here: one home for the words, so a reason
written by a service, an import, the demo or a scan reads the same in the panel.
"""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

MEASURED = gettext_noop("按建档立卡数据测算")
LAPSED = gettext_noop("数据变化，行业部门认定失效：%(why)s")
STEP_DONE = gettext_noop("完成第%(s)d步“%(label)s”")
MARKED = gettext_noop("系统标注：%(c)s")
NOTICE_OPENED = gettext_noop("发布公示")
RETURNED = gettext_noop("退回第%(s)d步“%(label)s”：%(r)s")
PRIOR_EXIT = gettext_noop("历史脱贫登记：%(d)s")
TRANSFER = gettext_noop("成员转移：%(reason)s")
RELAPSE = gettext_noop("确认返贫：%(r)s")
RELAPSE_HOUSEHOLD = gettext_noop("防返贫监测确认返贫（%(d)s）：%(r)s")
IMPORT = gettext_noop("Excel导入")
DEMO = gettext_noop("演示数据")
DEMO_MARKED = gettext_noop("演示数据：系统标注")
DEMO_PRIOR_EXIT = gettext_noop("演示数据：历史脱贫登记")
REGION_RENAMED = gettext_noop("区划名称更新")

TEMPLATES = [
    MEASURED,
    LAPSED,
    STEP_DONE,
    MARKED,
    NOTICE_OPENED,
    RETURNED,
    PRIOR_EXIT,
    TRANSFER,
    RELAPSE,
    RELAPSE_HOUSEHOLD,
    IMPORT,
    DEMO,
    DEMO_MARKED,
    DEMO_PRIOR_EXIT,
    REGION_RENAMED,
]

_PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")


def stored(template: str, **params) -> str:
    """The reason to store: ``template`` with ``params`` in the site's language (a label
    among ``params`` — a lazy translation — is taken in that language too)."""
    with translation.override(settings.LANGUAGE_CODE):
        values = {name: value if isinstance(value, int) else str(value) for name, value in params.items()}
        return template % values if params else template


@cache
def _patterns() -> list[tuple[str, re.Pattern]]:
    patterns = []
    for template in TEMPLATES:
        if "%(" not in template:
            continue
        regex, position = "", 0
        for match in _PLACEHOLDER.finditer(template):
            regex += re.escape(template[position : match.start()])
            regex += rf"(?P<{match[1]}>\d+)" if match[2] == "d" else rf"(?P<{match[1]}>.*?)"
            position = match.end()
        regex += re.escape(template[position:])
        patterns.append((template, re.compile(regex, re.DOTALL)))
    return patterns


def shown(reason: str) -> str:
    """A stored reason in the active language."""
    if not reason:
        return ""
    for template, pattern in _patterns():
        match = pattern.fullmatch(reason)
        if match is None:
            continue
        params = {
            name: int(value) if value.isdigit() and f"%({name})d" in template else gettext(value) if value else value
            for name, value in match.groupdict().items()
        }
        return gettext(template) % params
    return gettext(reason)
