"""Forms of the customer simulator pages."""

from __future__ import annotations

from django import forms

from mentions.sandbox.models import SandboxFault
from mentions.sandbox.ratelimit import ENDPOINTS

LANGS = [
    ("en", "English"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("de", "German"),
    ("pt", "Portuguese"),
    ("ja", "Japanese"),
]


class CustomerForm(forms.Form):
    """Pick an existing fake customer by username, or describe a new one."""

    username = forms.RegexField(
        regex=r"^\w{1,15}$", max_length=15, help_text="Letters, digits, underscore."
    )
    name = forms.CharField(max_length=50, required=False)
    followers_count = forms.IntegerField(min_value=0, initial=100, required=False)
    verified = forms.BooleanField(required=False)


class CustomerPostForm(CustomerForm):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)
    mention_brand = forms.BooleanField(
        required=False, initial=True, label="@mention the brand"
    )
    in_reply_to = forms.CharField(required=False, label="Reply to post id")
    lang = forms.ChoiceField(choices=LANGS, initial="en")

    def clean_in_reply_to(self) -> str:
        value: str = self.cleaned_data["in_reply_to"].strip()
        if value and not value.isdigit():
            raise forms.ValidationError("A post id is digits only.")
        return value


class CustomerDMForm(CustomerForm):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000)


class FaultForm(forms.Form):
    endpoint = forms.ChoiceField(
        choices=[("*", "all endpoints"), *((e, e) for e in ENDPOINTS)]
    )
    kind = forms.ChoiceField(choices=SandboxFault.Kind.choices)
    count = forms.IntegerField(min_value=1, max_value=1000, initial=1)
    after = forms.IntegerField(min_value=0, initial=0)
    delay_seconds = forms.FloatField(
        min_value=0, max_value=120, initial=5.0, required=False
    )
    reset_in_seconds = forms.IntegerField(min_value=1, max_value=3600, initial=60)
