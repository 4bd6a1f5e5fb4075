"""The dashboard's filter form: everything lives in the URL's query string."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from mentions.dashboard.filters import DashboardFilters
from mentions.models import Mention, Stream, Team, XAccount

DEFAULT_DAYS = 7
MAX_DAYS = 400


def staff_users() -> QuerySet[User]:
    """People who can handle mentions: members of a role group, or superusers."""
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(groups__name__in=["agent", "manager", "admin"]) | Q(is_superuser=True)
        )
        .distinct()
        .order_by("username")
    )


if TYPE_CHECKING:
    _UserChoiceField = forms.ModelChoiceField[User]
else:  # ModelChoiceField is not subscriptable at run time
    _UserChoiceField = forms.ModelChoiceField


class AgentChoiceField(_UserChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.get_username()


class DashboardFilterForm(forms.Form):
    """Range (`from`/`to`, inclusive UTC dates; default the last 7 days) and the filters."""

    account = forms.ModelChoiceField(
        queryset=XAccount.objects.all(), required=False, empty_label="All accounts"
    )
    stream = forms.ModelChoiceField(
        queryset=Stream.objects.all(), required=False, empty_label="All streams"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, empty_label="All teams"
    )
    agent = AgentChoiceField(
        queryset=User.objects.none(), required=False, empty_label="All agents"
    )
    kind = forms.ChoiceField(
        choices=[("", "Posts and DMs"), *Mention.Kind.choices], required=False
    )
    priority = forms.TypedChoiceField(
        choices=[("", "Any priority"), *Mention.Priority.choices],
        coerce=int,
        required=False,
        empty_value=None,
    )
    time = forms.ChoiceField(
        label="Durations in",
        choices=[("calendar", "Calendar time"), ("business", "Business hours")],
        required=False,
    )

    def __init__(self, data: Any, *, today: date) -> None:
        super().__init__(data)
        self.today = today
        # `from` is a Python keyword, so the two date fields are added by name.
        self.fields = {
            "from": forms.DateField(
                label="From",
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}),
            ),
            "to": forms.DateField(
                label="To",
                required=False,
                widget=forms.DateInput(attrs={"type": "date"}),
            ),
            **self.fields,
        }
        agent_field = self.fields["agent"]
        assert isinstance(agent_field, forms.ModelChoiceField)
        agent_field.queryset = staff_users()
        self.fields["from"].initial = today - timedelta(days=DEFAULT_DAYS - 1)
        self.fields["to"].initial = today

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        end = cleaned.get("to") or self.today
        start = cleaned.get("from") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError(
                "The range starts after it ends: pick a From date on or before To."
            )
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(
                f"Pick a range of at most {MAX_DAYS} days (this one has {(end - start).days + 1})."
            )
        cleaned["from"], cleaned["to"] = start, end
        return cleaned

    def to_filters(self) -> DashboardFilters:
        c = self.cleaned_data
        return DashboardFilters(
            start=c["from"],
            end=c["to"],
            account=c["account"].pk if c.get("account") else None,
            stream=c["stream"].pk if c.get("stream") else None,
            team=c["team"].pk if c.get("team") else None,
            agent=c["agent"].pk if c.get("agent") else None,
            kind=c.get("kind") or None,
            priority=c.get("priority"),
            business=c.get("time") == "business",
        )
