from django import template

from core.audit import history_entries

register = template.Library()


@register.inclusion_tag("core/_history_panel.html")
def history_panel(obj, limit=50):
    return {"entries": history_entries(obj, limit=limit)}
