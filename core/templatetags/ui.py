from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def minutes(value) -> int | str:
    """Whole minutes of a timedelta (the lockout page's cool-off), rounded up."""
    if isinstance(value, timedelta):
        return -(-int(value.total_seconds()) // 60)
    return ""
