from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from exits.models import STEP_COUNT, Campaign, ExitCase, Level


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "year", "name", "income_line", "village_deadline", "town_deadline", "county_deadline",
            "marking_deadline", "step_levels", "notice_min_days", "school_age_min", "school_age_max", "is_active",
        ]  # fmt: skip
        help_texts = {
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
