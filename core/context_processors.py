"""Navigation for the base layout, by role."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        {"label": _("首页"), "url": reverse("home"), "icon": "house"},
        {"label": _("贫困户"), "url": reverse("households:list"), "icon": "people"},
        {"label": _("退出案件"), "url": reverse("exits:list"), "icon": "signpost-split"},
        {"label": _("防返贫监测"), "url": reverse("monitoring:list"), "icon": "shield-exclamation"},
        {"label": _("进度看板"), "url": reverse("dashboards:deadlines"), "icon": "speedometer2"},
        {"label": _("行政区划"), "url": reverse("regions:index"), "icon": "diagram-3"},
        {"label": _("导入记录"), "url": reverse("imports:list"), "icon": "upload"},
    ]
    # Less used entries live in the user menu (templates/base.html), so the bar fits.
    for item in items:
        item["active"] = request.path == item["url"] or (item["url"] != "/" and request.path.startswith(item["url"]))
    from notifications.services import unread_badge

    return {"nav_items": items, "unread_notifications": unread_badge(user=user)}
