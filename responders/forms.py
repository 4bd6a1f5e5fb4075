"""Composer and settings forms: they validate; the services do the work."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django import forms
from django.forms import modelformset_factory

from responders.channels.phone import normalize_number
from responders.models import GuardSettings, Handoff, PrivacyPattern
from responders.text import MAX_WEIGHTED_LENGTH, weighted_length

MAX_DM_LENGTH = 10_000


class _Composed(forms.Form):
    opened_at = forms.DateTimeField(widget=forms.HiddenInput)
    send_anyway = forms.BooleanField(required=False, widget=forms.HiddenInput)


def _check_post_length(text: str) -> str:
    length = weighted_length(text)
    if not length.is_valid:
        raise forms.ValidationError(
            f"Too long for X: {length.weighted} of {MAX_WEIGHTED_LENGTH} weighted characters "
            "(links count 23, CJK characters and emoji count 2)."
        )
    return text


class ReplyForm(_Composed):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "data-weighted": "1"}), max_length=2000
    )

    def clean_text(self) -> str:
        return _check_post_length(self.cleaned_data["text"])


class _Handoff(_Composed):
    promised_at = forms.DateTimeField(
        required=False,
        label="Follow up by (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    public_text = forms.CharField(
        required=False,
        label="Public reply (take offline in one step)",
        widget=forms.Textarea(attrs={"rows": 2, "data-weighted": "1"}),
        max_length=2000,
    )

    def clean_public_text(self) -> str:
        text: str = self.cleaned_data.get("public_text") or ""
        return _check_post_length(text) if text else ""


class DmForm(_Handoff):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=MAX_DM_LENGTH, label="DM"
    )


class EmailForm(_Handoff):
    address = forms.EmailField(label="Customer's email address")
    subject = forms.CharField(max_length=200, required=False)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label="Message")
    include_quote = forms.BooleanField(
        required=False,
        label="Quote the customer's post (off by default: their employer may read forwarded mail)",
    )


class PhoneForm(forms.Form):
    number = forms.CharField(max_length=40, label="Phone number")
    promised_at = forms.DateTimeField(
        required=False,
        label="Call back by (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, region: str = "US", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = region

    def clean_number(self) -> str:
        try:
            return normalize_number(self.cleaned_data["number"], region=self.region)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


class CallForm(forms.Form):
    outcome = forms.ChoiceField(choices=Handoff.CallOutcome.choices)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(forms.Form):
    outcome = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class GuardSettingsForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic form
    class Meta:
        model = GuardSettings
        fields = [
            "privacy_mode",
            "phone_region",
            "undo_seconds",
            "cooloff_threshold",
            "cooloff_min_posts",
            "support_email",
            "support_phone",
        ]

    def clean_phone_region(self) -> str:
        import phonenumbers

        region = str(self.cleaned_data["phone_region"]).upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise forms.ValidationError(
                f"{region!r} is not a region phonenumbers knows."
            )
        return region

    def clean_undo_seconds(self) -> int | None:
        value: int | None = self.cleaned_data.get("undo_seconds")
        if value is not None and value > 300:
            raise forms.ValidationError("At most 300 seconds.")
        return value

    def clean_cooloff_threshold(self) -> float:
        value = float(self.cleaned_data["cooloff_threshold"])
        if not -1.0 <= value <= 0.0:
            raise forms.ValidationError("Between -1 (furious) and 0 (neutral).")
        return value


class PrivacyPatternForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic form
    class Meta:
        model = PrivacyPattern
        fields = ["name", "regex", "is_active"]

    def clean_regex(self) -> str:
        regex = str(self.cleaned_data["regex"])
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise forms.ValidationError(
                f"Not a valid regular expression: {exc.msg} at position {exc.pos}."
            ) from exc
        if compiled.match(""):
            raise forms.ValidationError(
                "This pattern matches empty text, so it would flag every reply."
            )
        return regex


PatternFormSet = modelformset_factory(
    PrivacyPattern, form=PrivacyPatternForm, extra=1, can_delete=True
)


def parse_opened_at(form: _Composed) -> datetime:
    value: datetime = form.cleaned_data["opened_at"]
    return value
