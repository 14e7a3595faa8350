"""Forms parse and type-check input; every registry rule lives in households.services,
which the views call with ``cleaned_data``. So the ModelForms here skip model
validation (``_post_clean``): one home for the rules, one set of messages. For the same
reason text fields refuse nothing the service would name itself: control characters
(NUL included) and the length of what the normaliser will shorten (a spaced phone)."""

from django import forms
from django.core.validators import MaxLengthValidator, ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

from households.idnumbers import mask_id_number, mask_phone
from households.models import (
    Household,
    HousingAppraisal,
    IncomeRecord,
    Member,
    PovertyCause,
    Relationship,
    WaterAssessment,
)
from households.services import HOUSEHOLD_FIELDS, MEMBER_FIELDS, OUTCOME_FIELDS
from regions.models import Region


def leave_text_to_the_service(field: forms.Field, *, length: bool = False) -> None:
    """The registry service refuses control characters with its own message, on every
    path; with ``length``, also the length, for input it normalises shorter first."""
    unwanted = (ProhibitNullCharactersValidator, MaxLengthValidator) if length else (ProhibitNullCharactersValidator,)
    field.validators = [v for v in field.validators if not isinstance(v, unwanted)]
    if length:
        field.max_length = None
        field.widget.attrs.pop("maxlength", None)


def style_widgets(form) -> None:
    """Bootstrap classes on every widget (the invalid state is added by ``add_error``)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput | forms.CheckboxSelectMultiple):
            continue
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()


class BootstrapErrorsMixin:
    """Marks a field's widget ``is-invalid`` when an error is added to it, whether by
    field cleaning or by a view putting a service message next to its input.
    (Reading ``form.errors`` in ``__init__`` would validate too early.)"""

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self._errors:
            widget = self.fields[name].widget if name in self.fields else None
            if widget is not None and "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class ParseOnlyModelForm(BootstrapErrorsMixin, forms.ModelForm):
    auto_id_format = "id_%s"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", self.auto_id_format)
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            leave_text_to_the_service(field)
        style_widgets(self)

    def _post_clean(self):
        """Rules are the registry service's job; the form only parses input."""


class HouseholdForm(ParseOnlyModelForm):
    other_causes = forms.MultipleChoiceField(
        label=_("其他致贫原因"),
        choices=PovertyCause.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # 脱贫状态 and 脱贫年度 are the exit workflow's outcome (DOMAIN.md §4): the page shows
    # them as text, without an input. A POST that carries them anyway is handed to the
    # service as sent, which refuses a value that differs from the record's.
    exit_status = forms.CharField(label=_("脱贫状态"), required=False)
    exit_year = forms.CharField(label=_("脱贫年度"), required=False)

    class Meta:
        model = Household
        fields = HOUSEHOLD_FIELDS
        widgets = {
            "special_notes": forms.Textarea(attrs={"rows": 2}),
            # No maxlength: "139 1234 5678" must arrive whole; the service drops the spaces.
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "helper_phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        villages = Region.objects.visible_to(user).filter(level=Region.Level.VILLAGE).order_by("code")
        self.fields["village"].queryset = villages
        self.fields["village"].label_from_instance = lambda r: f"{r.name}（{r.code}）"
        if not self.instance.pk and villages.count() == 1:
            self.initial.setdefault("village", villages.first().pk)
        if self.instance.pk:
            self.initial["version"] = self.instance.version
            # Phones are shown masked; sent back unchanged they mean "keep" (see clean_*).
            self.initial["phone"] = mask_phone(self.instance.phone)
            self.initial["helper_phone"] = mask_phone(self.instance.helper_phone)
        for name in ("phone", "helper_phone", "helper_name", "helper_unit", "special_notes", "relocation_mode"):
            self.fields[name].required = False
        for name in ("phone", "helper_phone"):
            leave_text_to_the_service(self.fields[name], length=True)

    def clean(self):
        cleaned = super().clean()
        for name in OUTCOME_FIELDS:
            if self.add_prefix(name) not in self.data:
                cleaned.pop(name, None)  # not sent (the page has no input): nothing to check
        return cleaned

    def _keep_masked(self, name):
        value = self.cleaned_data.get(name, "")
        current = getattr(self.instance, name, "")
        return current if self.instance.pk and value == mask_phone(current) else value

    def clean_phone(self):
        return self._keep_masked("phone")

    def clean_helper_phone(self):
        return self._keep_masked("helper_phone")


class MemberForm(ParseOnlyModelForm):
    class Meta:
        model = Member
        fields = MEMBER_FIELDS
        widgets = {
            # No maxlength: a pasted "610902 19780309 0191" must arrive whole; the
            # service strips spaces and full-width digits before checking.
            "id_number": forms.TextInput(attrs={"autocomplete": "off", "class": "font-monospace"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Uniqueness of the ID number is checked by the service across the whole
        # registry, with a message that never reveals another region's household.
        self.fields["id_number"].validators = []
        self.fields["id_number"].max_length = None
        self.fields["id_number"].widget.attrs.pop("maxlength", None)
        if self.instance.pk:
            self.initial["id_number"] = mask_id_number(self.instance.id_number)
        for name in ("education", "schooling", "disability_category", "work_place", "employer", "ethnicity"):
            self.fields[name].required = False
        self.fields["relationship"].choices = Relationship.choices

    def validate_unique(self):
        """Not here: see households.services._check_registry_duplicates."""


class _RowIdField(forms.ModelChoiceField):
    """A row's hidden ``id``, found among the formset's own members (read once for the
    whole formset) rather than by one query per row; an id that is not one of them is
    looked up as Django would, and the registry service refuses it by name."""

    def __init__(self, *args, lookup, **kwargs):
        super().__init__(*args, **kwargs)
        self.lookup = lookup

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            found = self.lookup(int(value))
        except (TypeError, ValueError):
            found = None
        return found if found is not None else super().to_python(value)


class BaseMemberFormSet(forms.BaseModelFormSet):
    """Members of one household; the hidden ``id`` of each row must be one of them."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        name = self._pk_field.name
        field = form.fields.get(name)
        if isinstance(field, forms.ModelChoiceField):
            form.fields[name] = _RowIdField(
                field.queryset, initial=field.initial, required=False, widget=field.widget, lookup=self._existing_object
            )

    def validate_unique(self):
        """The registry service checks ID numbers across all households."""


MemberFormSet = forms.modelformset_factory(Member, form=MemberForm, formset=BaseMemberFormSet, extra=0, can_delete=True)


def member_rows(formset) -> list[dict]:
    """The formset as the list the registry service takes (``id`` / ``DELETE`` included)."""
    rows = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data:  # an added row left blank
            continue
        member = data.get("id")
        row = {name: data.get(name) for name in MEMBER_FIELDS}
        row["id"] = member.pk if member else None
        row["DELETE"] = bool(data.get("DELETE"))
        rows.append(row)
    return rows


class IncomeRecordForm(ParseOnlyModelForm):
    auto_id_format = "income_%s"  # three forms share one page: ids must differ

    class Meta:
        model = IncomeRecord
        fields = ["year", "population", "wage_income", "business_income", "property_income", "transfer_income",
                  "business_expense"]  # fmt: skip


class HousingAppraisalForm(ParseOnlyModelForm):
    auto_id_format = "housing_%s"  # three forms share one page: ids must differ

    class Meta:
        model = HousingAppraisal
        fields = ["grade", "appraised_on", "appraising_unit", "outcome", "outcome_date", "notes"]
        widgets = {
            "appraised_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "outcome_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }


class WaterAssessmentForm(ParseOnlyModelForm):
    auto_id_format = "water_%s"  # three forms share one page: ids must differ

    class Meta:
        model = WaterAssessment
        fields = ["assessed_on", "quality_ok", "litres_per_person_day", "piped_to_house", "round_trip_minutes",
                  "reliability_percent", "notes"]  # fmt: skip
        widgets = {
            "assessed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }


class MemberTransferForm(BootstrapErrorsMixin, forms.Form):
    to_household = forms.CharField(label=_("迁入户户编号"), max_length=30)
    relationship = forms.ChoiceField(label=_("在新户中与户主关系"), choices=Relationship.choices)
    reason = forms.CharField(label=_("转移原因"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        leave_text_to_the_service(self.fields["reason"])
        style_widgets(self)
