"""The form renderer writes <select> and <input> in Python (core/forms_renderer.py): the
markup must be Django's own, byte for byte, for every kind of select and input the app
uses, bound and unbound, with labels and values that need escaping."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from core.forms_renderer import FormRenderer
from households.forms import HouseholdForm, MemberForm


class Everything(forms.Form):
    choice = forms.ChoiceField(choices=[("x", "甲<b>"), ("y", "乙&")], initial="y")
    grouped = forms.ChoiceField(choices=[("", "—"), ("组", [("1", "一"), ("2", "二")])], required=False)
    many = forms.MultipleChoiceField(choices=[("1", "一"), ("2", "二")], initial=["1", "2"])
    typed = forms.TypedChoiceField(
        choices=[(1, "a"), (2, "b")], coerce=int, initial=2, widget=forms.Select(attrs={"class": "c", "data-x": 'q"'})
    )
    text = forms.CharField(initial='a"<b>', widget=forms.TextInput(attrs={"placeholder": "姓名"}))
    number = forms.IntegerField(initial=3, widget=forms.NumberInput(attrs={"min": 0, "step": 1}))
    blank = forms.CharField(required=False)
    checked = forms.BooleanField(initial=True, required=False)
    unchecked = forms.BooleanField(required=False)
    day = forms.DateField(initial="2020-01-02", widget=forms.DateInput(attrs={"type": "date"}))
    hidden = forms.CharField(widget=forms.HiddenInput, initial=5)
    secret = forms.CharField(widget=forms.PasswordInput)
    email = forms.EmailField(required=False)


DATA = {"choice": "x", "grouped": "2", "many": ["2"], "typed": "1", "text": "x&y", "checked": "on", "day": "bad"}


@pytest.mark.parametrize("data", [None, DATA], ids=["unbound", "bound"])
@pytest.mark.parametrize("name", list(Everything.base_fields))
def test_every_widget_renders_as_django_renders_it(name, data):
    django = Everything(data, renderer=DjangoTemplates())
    ours = Everything(data, renderer=FormRenderer())
    assert str(ours[name]) == str(django[name])


@pytest.mark.django_db
def test_the_household_forms_render_as_django_renders_them(alice):
    for form_class, kwargs in ((HouseholdForm, {"user": alice}), (MemberForm, {})):
        django = form_class(renderer=DjangoTemplates(), **kwargs)
        ours = form_class(renderer=FormRenderer(), **kwargs)
        for name in django.fields:
            assert str(ours[name]) == str(django[name]), name
