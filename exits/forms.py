"""Forms of the exit pages. They only parse what was typed; ``exits.services`` decides
and names what is missing, and the view puts each message next to its field."""

from __future__ import annotations

import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.params import as_id
from exits.models import Criterion, CriterionResult, ExitCase, SituationDecision, SituationKind, Step
from exits.services import ARCHIVE_ITEMS
from regions.models import Region


class DateInput(forms.DateInput):
    """A native date picker. It only understands ISO dates, whatever the locale's format."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def _date_field(label):
    return forms.DateField(label=label, required=False, widget=DateInput(attrs={"class": "form-control"}))


def _text(label, *, rows=2, required=False):
    return forms.CharField(
        label=label, required=required, widget=forms.Textarea(attrs={"rows": rows, "class": "form-control"})
    )


def _integer(label):
    return forms.IntegerField(
        label=label, required=False, min_value=0, widget=forms.NumberInput(attrs={"class": "form-control"})
    )


def _check(label):
    return forms.BooleanField(
        label=label, required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )


class StepForm(forms.Form):
    """Base of the eight step forms: ``record()`` is the dict handed to the service."""

    def __init__(self, *args, case: ExitCase, **kwargs):
        self.case = case
        super().__init__(*args, **kwargs)

    def record(self) -> dict:
        return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.cleaned_data.items()}


class VerifyForm(StepForm):
    head_signed = _check(_("户主已签字认可"))
    food_clothing_secure = _check(_("入户确认吃穿不愁"))
    signed_on = _date_field(_("签字日期"))
    note = _text(_("核实情况"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signed_on"].initial = timezone.localdate()


class AppraiseForm(StepForm):
    meeting_date = _date_field(_("评议会议日期"))
    attendance = _integer(_("参会人数"))
    votes_for = _integer(_("赞成票"))
    votes_against = _integer(_("反对票"))
    minutes = _text(_("会议记录"), rows=3)


class CrossCheckForm(StepForm):
    checking_unit = forms.ChoiceField(label=_("交叉检查组来自"), required=False)
    findings = _text(_("检查发现的问题"), rows=3)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Villages and towns of the same county, other than the household's own.
        self.fields["checking_unit"].choices = cross_check_unit_choices(
            county=self.case.village_id[:6], own_town=self.case.village_id[:9]
        )
        self.fields["checking_unit"].widget.attrs["class"] = "form-select"


def cross_check_unit_choices(*, county: str, own_town: str | None = None) -> list[tuple[str, str]]:
    """Where a 交叉检查 team can come from: the towns of ``county`` with their villages
    indented under them, leaving out ``own_town`` (the case page's household's, or the
    town official's own in the batch panel). The service decides for each case."""
    units = Region.objects.filter(code__startswith=county, level__in=[Region.Level.TOWN, Region.Level.VILLAGE])
    if own_town:
        units = units.exclude(code__startswith=own_town)
    return [("", _("请选择"))] + [
        (code, f"{'　' if level == Region.Level.VILLAGE else ''}{name}")
        for code, name, level in units.order_by("code").values_list("code", "name", "level")
    ]


class ReviewForm(StepForm):
    opinion = _text(_("审核审查意见"), rows=3)


class NoticeForm(StepForm):
    note = _text(_("公示情况说明"))


class ApproveForm(StepForm):
    opinion = _text(_("批准意见"), rows=3)


class ArchiveForm(StepForm):
    checklist = forms.MultipleChoiceField(
        label=_("备案资料"),
        required=False,
        choices=[(item, item) for item in ARCHIVE_ITEMS],
        widget=forms.CheckboxSelectMultiple,
    )


class MarkForm(StepForm):
    marked_on = _date_field(_("系统标注日期"))
    operator = forms.CharField(
        label=_("标注操作员"), required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["marked_on"].initial = timezone.localdate()


STEP_FORMS: dict[int, type[StepForm]] = {
    Step.VERIFY: VerifyForm,
    Step.APPRAISE: AppraiseForm,
    Step.CROSS_CHECK: CrossCheckForm,
    Step.REVIEW: ReviewForm,
    Step.NOTICE: NoticeForm,
    Step.APPROVE: ApproveForm,
    Step.ARCHIVE: ArchiveForm,
    Step.MARK: MarkForm,
}


class ReturnForm(forms.Form):
    to_step = forms.TypedChoiceField(label=_("退回到"), coerce=int, required=False)
    reason = _text(_("退回原因"))

    def __init__(self, *args, case: ExitCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_step"].choices = [
            (value, f"{value}. {label}") for value, label in Step.choices if value < case.current_step
        ]
        self.fields["to_step"].widget.attrs["class"] = "form-select"


class ObjectionForm(forms.Form):
    raised_on = _date_field(_("提出日期"))
    raised_by_name = forms.CharField(
        label=_("异议人（可匿名）"), required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    content = _text(_("异议内容"), rows=3)


class ResolveForm(forms.Form):
    upheld = forms.TypedChoiceField(
        label=_("核实结论"),
        choices=[("0", _("异议不成立")), ("1", _("异议成立，退回重新核实"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
        required=False,
    )
    resolution = _text(_("核实处理情况"), rows=2)


class AssessForm(forms.Form):
    assessment = forms.ChoiceField(
        label=_("村级评定"),
        choices=[
            (CriterionResult.MET, CriterionResult.MET.label),
            (CriterionResult.NOT_MET, CriterionResult.NOT_MET.label),
        ],
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    note = _text(_("评定说明"))


class CertifyForm(forms.Form):
    note = _text(_("认定意见"))


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("附件（PDF、JPG、PNG）"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.jpg,.jpeg,.png", "class": "form-control form-control-sm"}
        ),
    )
    target = forms.CharField(required=False, widget=forms.HiddenInput)

    def target_kwargs(self) -> dict:
        """ "step:3" → {"step": 3}; "criterion:income" → {"criterion": "income"}."""
        kind, _sep, value = str(self.cleaned_data.get("target") or "").partition(":")
        if kind == "step" and as_id(value) is not None:
            return {"step": as_id(value)}
        if kind == "criterion" and value in Criterion.values:
            return {"criterion": value}
        return {}


class SituationForm(forms.Form):
    kind = forms.ChoiceField(label=_("特殊情况"), choices=SituationKind.choices, widget=forms.HiddenInput)
    investigation = _text(_("调查核实情况"), rows=3)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("处理决定"), choices=SituationDecision.choices, required=False, widget=forms.RadioSelect
    )
    note = _text(_("决定说明"))


class PriorExitForm(forms.Form):
    """历史脱贫登记: the households one approval document let exit before the system."""

    numbers = forms.CharField(
        label=_("户编号"),
        help_text=_("每行一个，可从 Excel 整列粘贴；也可用逗号、空格分隔。"),
        widget=forms.Textarea(attrs={"rows": 5, "class": "form-control font-monospace", "autocomplete": "off"}),
    )
    year = forms.CharField(
        label=_("脱贫年度"), widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "numeric"})
    )
    document = forms.CharField(
        label=_("依据文件"),
        help_text=_("批准退出的文件名称及文号，如“汉滨政发〔2019〕12号”。"),
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    note = _text(_("说明"))

    def clean_numbers(self):
        return [n for n in re.split(r"[\s,，、;；]+", self.cleaned_data["numbers"]) if n]
