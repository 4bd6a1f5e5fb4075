"""Forms for the queue's filters, its bulk actions and the workspace's triage controls.

Views validate with these; the services in mentions/triage.py assume valid input.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from mentions.models import Mention, Team

VIEW_CHOICES = [
    ("", "Open work"),
    ("mine", "My mentions"),
    ("unassigned", "Unassigned"),
    ("breaching", "Breaching soon"),
    ("waiting", "Waiting on customer"),
    ("monitoring", "Monitoring"),
    ("all", "All"),
]
SENTIMENT_CHOICES = [
    ("negative", "Negative"),
    ("neutral", "Neutral"),
    ("positive", "Positive"),
]
SLA_CHOICES = [
    ("breached", "Breached"),
    ("met_late", "Met late"),
    ("met", "Met on time"),
    ("active", "Running"),
]
KIND_CHOICES = Mention.Kind.choices


class AssigneeField(forms.MultipleChoiceField):
    """me | none | any | <user id>; repeated values mean OR."""

    def valid_value(self, value: str) -> bool:
        return value in {"me", "none", "any"} or value.isdigit()


class IdListField(forms.MultipleChoiceField):
    def valid_value(self, value: str) -> bool:
        return value.isdigit() and len(value) < 19


class FreeListField(forms.MultipleChoiceField):
    """Repeated free values (language codes, tag names) with a sane length."""

    def valid_value(self, value: str) -> bool:
        return 0 < len(value) <= 50


class QueueFilterForm(forms.Form):
    """The queue's URL parameters (contracts.md §8). Invalid values are reported and ignored."""

    view = forms.ChoiceField(choices=VIEW_CHOICES, required=False)
    status = forms.MultipleChoiceField(choices=Mention.Status.choices, required=False)
    priority = forms.TypedMultipleChoiceField(
        choices=[(str(v), label) for v, label in Mention.Priority.choices],
        coerce=int,
        required=False,
    )
    assignee = AssigneeField(required=False)
    team = IdListField(required=False)
    stream = IdListField(required=False)
    account = IdListField(required=False)
    kind = forms.MultipleChoiceField(choices=KIND_CHOICES, required=False)
    sentiment = forms.MultipleChoiceField(choices=SENTIMENT_CHOICES, required=False)
    lang = FreeListField(required=False)
    tag = FreeListField(required=False)
    q = forms.CharField(required=False, max_length=200, strip=True)
    from_ = forms.DateField(required=False)
    to = forms.DateField(required=False)
    sla = forms.MultipleChoiceField(choices=SLA_CHOICES, required=False)

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        # `from` is a Python keyword: the URL says `from`, the form field is `from_`.
        if data is not None:
            data = data.copy()
            if "from" in data:
                data.setlist("from_", data.getlist("from"))
            # A plain form submit sends every empty control ("status=&priority="): empty means "any".
            for key in list(data.keys()):
                values = [v for v in data.getlist(key) if v.strip()]
                if key in ("lang", "tag"):  # typed as "en, de"
                    values = [
                        p.strip() for v in values for p in v.split(",") if p.strip()
                    ]
                data.setlist(key, values)
        super().__init__(data, **kwargs)
        self.fields["from_"].label = "From"

    def filters(self) -> dict[str, Any]:
        """The valid filters only (an invalid one is dropped, its message shown by the page)."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", [])}


class BulkActionForm(forms.Form):
    """One action on the selected rows: assign, set status, set priority or tag."""

    ACTIONS = [
        ("assign", "Assign"),
        ("claim", "Assign to me"),
        ("status", "Set status"),
        ("priority", "Set priority"),
        ("tag", "Tag"),
    ]

    ids = IdListField(error_messages={"required": "Select at least one mention."})
    action = forms.ChoiceField(choices=ACTIONS)
    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True), required=False
    )
    status = forms.ChoiceField(choices=Mention.Status.choices, required=False)
    priority = forms.TypedChoiceField(
        choices=[(str(v), label) for v, label in Mention.Priority.choices],
        coerce=int,
        required=False,
    )
    tags = forms.CharField(required=False, max_length=200)

    def clean_ids(self) -> list[int]:
        ids = sorted({int(v) for v in self.cleaned_data["ids"]})
        if len(ids) > 500:
            raise forms.ValidationError("Select at most 500 mentions at a time.")
        return ids

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "status" and not data.get("status"):
            self.add_error("status", "Choose a status.")
        if action == "priority" and not data.get("priority"):
            self.add_error("priority", "Choose a priority.")
        if action == "tag" and not tag_names(data.get("tags") or ""):
            self.add_error("tags", "Type at least one tag.")
        return data


def tag_names(raw: str) -> list[str]:
    """Comma-separated tag names, trimmed and lowercased, each at most 50 characters."""
    return sorted({t.strip().lower()[:50] for t in raw.split(",") if t.strip()})


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        empty_label="Nobody",
    )
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Mention.Status.choices)


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(
        choices=[(str(v), label) for v, label in Mention.Priority.choices], coerce=int
    )


class TagForm(forms.Form):
    tags = forms.CharField(max_length=200)

    def clean_tags(self) -> list[str]:
        names = tag_names(self.cleaned_data["tags"])
        if not names:
            raise forms.ValidationError("Type at least one tag.")
        return names


class NoteForm(forms.Form):
    body = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError("A note cannot be empty.")
        return body


class PresenceForm(forms.Form):
    state = forms.ChoiceField(choices=[("viewing", "Viewing"), ("typing", "Typing")])
