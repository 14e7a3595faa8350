"""The inbox (我的提醒): the alerts delivered to this user, newest first."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from notifications import services

PAGE_SIZE = 30


@login_required
def inbox(request):
    notes = services.inbox(user=request.user)
    show = request.GET.get("show", "open")
    if show == "open":
        notes = notes.filter(alert__cleared_at__isnull=True)
    elif show == "unread":
        notes = notes.filter(read_at__isnull=True, alert__cleared_at__isnull=True)
    page = Paginator(notes, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"page": page, "show": show})


@login_required
def notification_open(request, pk):
    """Go to what the alert is about; a POST (the inbox's button) also marks it read.

    A GET (a bookmark, a link in an e-mail, a browser prefetching) only goes there:
    reading changes nothing."""
    if request.method == "POST":
        note = services.notification_read(user=request.user, notification_id=pk)
    else:
        note = services.inbox(user=request.user).filter(pk=pk).select_related("alert").first()
    if note is None:
        raise Http404(_("提醒不存在。"))
    link = note.alert.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("notifications:inbox")


@login_required
@require_POST
def read_all(request):
    services.notifications_read_all(user=request.user)
    return redirect("notifications:inbox")
