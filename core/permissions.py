"""Who may write. Row visibility is ``visible_to(user)``'s job (regions/scoping.py);
this module only answers "may this user change anything at all"."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.permissions import SAFE_METHODS, BasePermission


class RoleWritePermission(BasePermission):
    """Signed-in users read; read-only roles (city supervisors) never write."""

    message = gettext_lazy("市级督查账号为只读账号，不能修改数据。")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or user.can_write


def write_required(view):
    """Page-view guard: a read-only role gets 403 with a Chinese message."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.can_write:
            raise PermissionDenied(_("市级督查账号为只读账号，不能修改数据。"))
        return view(request, *args, **kwargs)

    return wrapper
