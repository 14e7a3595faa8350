from django import template

from core.audit import history_entries

register = template.Library()


@register.inclusion_tag("core/_history_panel.html")
def history_panel(obj, limit=50):
    """The 变更记录 panel of one record."""
    return {"entries": history_entries(obj, limit=limit)}


@register.inclusion_tag("core/_history_panel.html")
def history_panel_for_household(household, members, limit=100):
    """A household's 变更记录 together with its members', each line naming whose it is."""
    subjects = {(type(m), m.pk): f"{m._meta.verbose_name} {m.name}" for m in members}
    return {"entries": history_entries(household, *members, limit=limit, subjects=subjects)}
