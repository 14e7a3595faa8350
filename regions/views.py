from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from regions.models import Region
from regions.scoping import scope_prefix
from regions.selectors import region_children_with_counts, region_get, region_root_for, region_summary


def _get_region_for_user(request, code: str) -> Region:
    try:
        return region_get(user=request.user, code=code)
    except Region.DoesNotExist:
        raise Http404("区划不存在或不在您的管辖范围内。") from None


@login_required
def index(request):
    root = region_root_for(request.user)
    if root is None:
        raise Http404("您的账号尚未设置所属区划，请联系系统管理员。")
    return redirect("regions:detail", code=root.code)


@login_required
def detail(request, code):
    region = _get_region_for_user(request, code)
    prefix = scope_prefix(request.user)
    # Ancestors above the user's own region are shown as plain text, not links.
    breadcrumb = [(r, r.code.startswith(prefix)) for r in region.path()]
    return render(
        request,
        "regions/detail.html",
        {
            "region": region,
            "breadcrumb": breadcrumb,
            "summary": region_summary(user=request.user, region=region),
            "children": region_children_with_counts(user=request.user, region=region),
        },
    )
