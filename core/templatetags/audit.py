from django import template

from core.audit import history_entries, history_entries_for

register = template.Library()


@register.inclusion_tag("core/_history_panel.html")
def history_panel(obj, limit=50):
    """The 变更记录 panel of one record."""
    return {"entries": history_entries(obj, limit=limit)}


@register.inclusion_tag("core/_history_panel.html")
def history_panel_for_household(household, limit=100):
    """A household's 变更记录 with its members' — every member who ever belonged to
    it, so a removal or a transfer out stays visible — each line naming whose it is."""
    from households.models import Household, Member

    member_ids = set(Member.history.filter(household_id=household.pk).values_list("id", flat=True))
    tracked = {Household: {household.pk}, Member: member_ids}
    return {"entries": history_entries_for(tracked, limit=limit, labelled=frozenset({Member}))}
