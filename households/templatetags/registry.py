from django import template

from households.idnumbers import mask_id_number, mask_phone

register = template.Library()

register.filter("mask_id", mask_id_number)
register.filter("mask_phone", mask_phone)


@register.filter
def cause_labels(values) -> str:
    """其他致贫原因 (a list of PovertyCause values) as Chinese labels."""
    from households.models import PovertyCause

    labels = dict(PovertyCause.choices)
    return "、".join(str(labels.get(v, v)) for v in values or []) or "—"
