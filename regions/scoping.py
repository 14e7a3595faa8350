"""Row access has one home: ``visible_to(user)``.

Every scoped model's queryset inherits ``ScopedQuerySet`` and names the path to the
region code that places a row (``region_lookup``). Pages, API views, exports and
background jobs all start from ``Model.objects.visible_to(user)``; nothing else
decides who sees what.

Scope by role (DOMAIN.md §1): a village cadre sees one village, a town official one
town, a county official or sector department one county, a city supervisor the whole
city (read-only), an administrator everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from accounts.models import User

# Sentinel for "no rows": an inactive user, an anonymous one, or an account whose
# region has not been set yet.
NO_SCOPE = None
ALL_REGIONS = ""


def scope_prefix(user: User | None) -> str | None:
    """The region-code prefix a user may see: "" for everything, None for nothing."""
    if user is None or not user.is_authenticated or not user.is_active:
        return NO_SCOPE
    if user.is_superuser or user.is_admin:
        return ALL_REGIONS
    if user.region_id is None:
        return NO_SCOPE
    return user.region.prefix


def code_visible_to(user: User | None, code: str) -> bool:
    """Whether a row placed at region ``code`` is in ``user``'s scope: the same test as
    ``visible_to``, for rows already loaded (a bulk import checks thousands at once)."""
    prefix = scope_prefix(user)
    return prefix is not NO_SCOPE and str(code).startswith(prefix)


class ScopedQuerySet(models.QuerySet):
    #: Lookup path from this model to the code of the region that places a row,
    #: e.g. ``"village__code"`` (the FK column holds the code, so no join is made).
    region_lookup: str = "region__code"

    def visible_to(self, user: User | None):
        prefix = scope_prefix(user)
        if prefix is NO_SCOPE:
            return self.none()
        if prefix == ALL_REGIONS:
            return self.all()
        return self.filter(**{f"{self.region_lookup}__startswith": prefix})

    def in_region(self, prefix: str):
        """Narrow to one region's subtree (a filter on top of ``visible_to``)."""
        return self.filter(**{f"{self.region_lookup}__startswith": prefix})
