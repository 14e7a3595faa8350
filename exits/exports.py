"""The exit-case ledger (退出案件台账), through the registry's export mechanism
(core/exports.py): one row per case, no personal numbers."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import Column
from exits.models import ExitCase
from households.exports import COUNTY_PREFIX, TOWN_PREFIX


def case_ledger_columns(*, region_names: Mapping[str, str]) -> list[Column]:
    """Rows are ``selectors.case_list`` cases (head_name, member_count, failing_count annotated)."""
    today = timezone.localdate()

    def deadline(case: ExitCase):
        return None if case.is_done else case.campaign.deadline_for(case.current_step)

    def overdue(case: ExitCase) -> str:
        due = deadline(case)
        return _("是") if due is not None and due < today else _("否")

    return [
        Column(_("退出批次"), lambda c: c.campaign.name),
        Column(_("县区"), lambda c: region_names.get(c.village_id[:COUNTY_PREFIX], "")),
        Column(_("镇办"), lambda c: region_names.get(c.village_id[:TOWN_PREFIX], "")),
        Column(_("村"), lambda c: c.village.name),
        Column(_("户编号"), lambda c: c.household.number, text=True),
        Column(_("户主姓名"), lambda c: c.head_name or ""),
        Column(_("家庭人口"), lambda c: c.member_count or 0),
        Column(_("当前步骤"), lambda c: c.current_step_label),
        Column(_("状态"), lambda c: c.get_status_display()),
        Column(_("当前步骤时限"), deadline),
        Column(_("是否逾期"), overdue),
        Column(_("未达标标准数"), lambda c: c.failing_count),
        Column(_("公示开始日期"), lambda c: c.notice_started_on),
        Column(_("退出日期"), lambda c: c.exited_on),
    ]
