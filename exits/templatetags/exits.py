from django import template

from core.audit import history_entries_for

register = template.Library()


@register.inclusion_tag("core/_history_panel.html")
def history_panel_for_case(case, limit=100):
    """A case's 变更记录 with its criteria, step records and objections, each line
    naming what it is about."""
    from exits.models import CriterionCheck, ExitCase, Objection, StepRecord

    tracked = {
        ExitCase: {case.pk},
        CriterionCheck: set(case.criteria.values_list("pk", flat=True)),
        StepRecord: set(case.steps.values_list("pk", flat=True)),
        Objection: set(case.objections.values_list("pk", flat=True)),
    }
    return {
        "entries": history_entries_for(
            tracked, limit=limit, labelled=frozenset({CriterionCheck, StepRecord, Objection})
        )
    }


@register.filter
def days_text(status):
    """“还剩 3 天” / “今天到期” / “逾期 5 天” for a ``selectors.deadline_status`` dict."""
    from django.utils.translation import gettext as _

    if status is None:
        return ""
    if status["overdue"]:
        return _("逾期 %(n)d 天") % {"n": status["days_overdue"]}
    if status["days_left"] == 0:
        return _("今天到期")
    return _("还剩 %(n)d 天") % {"n": status["days_left"]}


@register.simple_tag
def step_record_lines(record):
    """A step record's data as (label, value) lines for the timeline."""
    from exits.selectors import record_lines

    return record_lines(record)


@register.filter
def step_deadline(campaign, step):
    """The deadline status of ``step`` in ``campaign`` (for lists)."""
    from exits.selectors import deadline_status

    return deadline_status(campaign.deadline_for(int(step)))


@register.filter
def step_role(campaign, step):
    """The role label that performs ``step`` in ``campaign``."""
    from accounts.models import Role

    return Role(campaign.role_for(int(step))).label
