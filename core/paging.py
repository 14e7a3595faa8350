"""Pages of a list whose cost does not grow with the list (issue 17).

Django's ``Paginator`` counts every row of the filtered scope on each page view; at
300,000 households that COUNT is most of a city-wide list's time. ``CappedPaginator``
counts at most ``settings.LIST_COUNT_CAP`` rows (the database stops there), shows
"10,000+" beyond, and still pages on: a page fetches one row more than it shows to know
whether there is a next one. Below the cap it is exactly Django's paginator.
"""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property


class CappedPage(Page):
    more = False

    def has_next(self) -> bool:
        return self.more if not self.paginator.exact else super().has_next()


class CappedPaginator(Paginator):
    def __init__(self, object_list, per_page, *, cap: int | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap if cap is not None else settings.LIST_COUNT_CAP

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if hasattr(rows, "values") and hasattr(rows, "order_by"):
            # Only the keys, unordered, and no more than cap + 1 of them.
            counted = rows.order_by().values("pk")[: self.cap + 1].count()
        else:
            counted = len(rows[: self.cap + 1])
        self.exact = counted <= self.cap
        return min(counted, self.cap)

    @cached_property
    def exact(self) -> bool:  # set by ``count``; asking first counts
        self.count  # noqa: B018 - the count sets it
        return self.__dict__["exact"]

    @cached_property
    def num_pages(self) -> int:
        if self.count and not self.exact:
            return sys.maxsize  # unknown: the pages go on until one finds no next row
        return super().num_pages

    def page(self, number) -> CappedPage:
        number = self.validate_number(number)
        if self.exact:
            return super().page(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        page = self._get_page(rows[: self.per_page], number, self)
        page.more = len(rows) > self.per_page
        return page

    def _get_page(self, *args, **kwargs) -> CappedPage:
        return CappedPage(*args, **kwargs)
