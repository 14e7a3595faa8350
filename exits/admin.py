from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from exits.gates import validate_step_gates
from exits.models import STEP_COUNT, Campaign, ExitCase, Level, PriorExit


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "year", "name", "income_line", "village_deadline", "town_deadline", "county_deadline",
            "marking_deadline", "certification_deadline", "step_levels", "step_gates", "notice_min_days",
            "school_age_min", "school_age_max", "is_active",
        ]  # fmt: skip
        help_texts = {
            "certification_deadline": _("行业部门完成五项标准达标认定的时限；不填则与村级完成时限相同。"),
            "step_gates": _(
                '每一步办理前须满足的条件，如 {"2": ["criteria_met", "no_open_situation"], …}；不填的步骤按默认：'
                "第2–4步须五项标准均达标，第5步公示前须均经行业部门认定，各步均须特殊情况已有“正常退出”决定。"
                "可选 criteria_met（五项标准均达标）、criteria_certified（均经行业部门认定）、"
                "no_open_situation（特殊情况已决定正常退出）、notice_published、notice_period_over、"
                "no_open_objection、earlier_steps_done；第5、6步的法定条件不能去掉。"
            ),
            "step_levels": _(
                '每一步由哪一级办理、按哪一级的时限考核，如 {"1": "village", …}；'
                "可选 village（村级）、town（镇级）、county（县级）、marking（系统标注）。"
            ),
        }

    def clean_step_levels(self):
        mapping = self.cleaned_data.get("step_levels") or {}
        if not isinstance(mapping, dict):
            raise ValidationError(_("请填写步骤到层级的对应关系。"))
        missing = [str(step) for step in range(1, STEP_COUNT + 1) if str(step) not in mapping]
        if missing:
            raise ValidationError(_("缺少第%(steps)s步的层级。") % {"steps": "、".join(missing)})
        bad = [f"{k}: {v}" for k, v in mapping.items() if v not in Level.values]
        if bad:
            raise ValidationError(_("无效的层级：%(v)s。") % {"v": "、".join(bad)})
        order = list(Level.values)
        levels = [order.index(mapping[str(step)]) for step in range(1, STEP_COUNT + 1)]
        if levels != sorted(levels):
            raise ValidationError(_("步骤的层级必须自下而上：村级、镇级、县级、系统标注。"))
        return {str(step): mapping[str(step)] for step in range(1, STEP_COUNT + 1)}

    def clean_step_gates(self):
        mapping = self.cleaned_data.get("step_gates") or {}
        problems = validate_step_gates(mapping)
        if problems:
            raise ValidationError(problems)
        return mapping

    def clean(self):
        cleaned = super().clean()
        due, county = cleaned.get("certification_deadline"), cleaned.get("county_deadline")
        if due and county and due > county:
            # Certification comes before the notice, which is the county's (DOMAIN.md §3–4).
            self.add_error("certification_deadline", _("达标认定时限不能晚于县级完成时限（公示前须完成认定）。"))
        return cleaned


@admin.register(Campaign)
class CampaignAdmin(SimpleHistoryAdmin):
    form = CampaignForm
    list_display = ["name", "year", "income_line", "village_deadline", "town_deadline", "county_deadline",
                    "marking_deadline", "notice_min_days", "is_active"]  # fmt: skip
    list_filter = ["is_active"]


@admin.register(ExitCase)
class ExitCaseAdmin(SimpleHistoryAdmin):
    list_display = ["household", "campaign", "village", "current_step", "status"]
    list_filter = ["campaign", "status", "current_step"]
    search_fields = ["household__number"]
    raw_id_fields = ["household", "village", "enrolled_by"]
    list_select_related = ["household", "campaign", "village"]

    def has_add_permission(self, request):
        return False  # cases are enrolled by village cadres, through the rules

    def has_change_permission(self, request, obj=None):
        return False  # steps are completed through the workflow, never edited

    def has_delete_permission(self, request, obj=None):
        return False  # a case is the record of an exit (or of one tried): it is kept


@admin.register(PriorExit)
class PriorExitAdmin(SimpleHistoryAdmin):
    """Read-only here: a past exit writes 脱贫状态, so it is recorded through
    exits.services.prior_exit_record (the county's 历史脱贫登记 page or the API)."""

    list_display = ["household", "year", "document", "recorded_by", "recorded_at"]
    list_filter = ["year"]
    search_fields = ["household__number", "document"]
    list_select_related = ["household", "recorded_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
