from datetime import timedelta

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def minutes(value) -> int | str:
    """Whole minutes of a timedelta (the lockout page's cool-off), rounded up."""
    if isinstance(value, timedelta):
        return -(-int(value.total_seconds()) // 60)
    return ""


@register.simple_tag
def region_options(regions, selected) -> str:
    """The <option>s of a list's 区划 filter: a county's towns and villages are some two
    hundred, and one template loop per option (each comparing with the form's value)
    was a third of the household list's rendering time."""
    selected = str(selected or "")
    return format_html_join(
        "",
        '<option value="{}"{}>{}{}</option>',
        (
            (region.code, mark_safe(" selected") if region.code == selected else "", region.indent, region.name)
            for region in regions
        ),
    )
