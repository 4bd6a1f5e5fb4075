"""The rule form: one field per condition and per action, turned into the rule's JSON and checked.

The form owns the translation; `validation.check_conditions` / `validation.check_actions` own the rules of
validity, so a rule saved any other way (a data migration, the Django admin) is held to the same.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils import timezone

from mentions.escalation.models import EscalationRule
from mentions.escalation.rules import EMAIL_RECIPIENTS, TARGETS, Action, Conditions
from mentions.escalation.validation import (
    check_actions,
    check_conditions,
    check_webhook_url,
)
from mentions.models import Mention, Stream, Team
from mentions.sla.models import SlaClock

PRIORITY_CHOICES = [
    ("", "—"),
    *[(str(v), label) for v, label in Mention.Priority.choices],
]
_SPLIT = re.compile(r"[,\n]+")


def _split(value: str) -> list[str]:
    return [part.strip() for part in _SPLIT.split(value or "") if part.strip()]


class RuleForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic form, not subscriptable at run time
    # Conditions
    clock_target = forms.ChoiceField(
        label="SLA target",
        required=False,
        choices=[("", "— no clock condition —"), *SlaClock.Target.choices],
    )
    clock_when = forms.ChoiceField(
        label="When",
        required=False,
        choices=[
            ("due_within", "is due within … minutes"),
            ("breached", "is breached"),
        ],
    )
    clock_minutes = forms.IntegerField(label="Minutes", required=False, min_value=1)
    unassigned_minutes = forms.IntegerField(
        label="Unassigned for at least (minutes)", required=False, min_value=0
    )
    min_priority = forms.ChoiceField(
        label="Priority at least", required=False, choices=PRIORITY_CHOICES
    )
    max_sentiment = forms.FloatField(
        label="Sentiment at most (-1 … 1)", required=False, min_value=-1, max_value=1
    )
    min_followers = forms.IntegerField(
        label="Author followers at least", required=False, min_value=0
    )
    keywords = forms.CharField(
        label="Any of these keywords in the text (comma-separated)",
        required=False,
        max_length=2000,
    )
    streams = forms.ModelMultipleChoiceField(
        queryset=Stream.objects.order_by("name"),
        required=False,
        label="Matched by stream",
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"), required=False, label="Team is"
    )
    # Actions
    raise_priority = forms.ChoiceField(
        label="Raise the priority to", required=False, choices=PRIORITY_CHOICES
    )
    assign_agent = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        label="Assign to agent",
        error_messages={"invalid_choice": "Unknown agent."},
    )
    assign_team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        label="Assign to team",
        error_messages={"invalid_choice": "Unknown team."},
    )
    add_tag = forms.CharField(label="Add the tag", required=False, max_length=50)
    add_note = forms.CharField(
        label="Add an internal note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    email_to = forms.ChoiceField(
        label="Notify by email",
        required=False,
        choices=[("", "— no email —"), *EMAIL_RECIPIENTS.items()],
    )
    email_addresses = forms.CharField(
        label="Fixed addresses (comma-separated)", required=False, max_length=2000
    )
    webhook_url = forms.CharField(
        label="Post to webhook URL", required=False, max_length=500
    )
    webhook_secret = forms.CharField(
        label="Webhook signing secret",
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs each body (HMAC-SHA256). Stored encrypted and never shown again; "
        "leave blank to keep the current one.",
    )

    class Meta:
        model = EscalationRule
        fields = ["name", "is_active", "position"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial.update(self._initial_from(self.instance))

    @staticmethod
    def _initial_from(rule: EscalationRule) -> dict[str, Any]:
        c: dict[str, Any] = rule.conditions or {}
        initial: dict[str, Any] = {}
        clock = c.get("clock") or {}
        if clock:
            initial["clock_target"] = clock.get("target", "")
            initial["clock_when"] = (
                "breached" if clock.get("breached") else "due_within"
            )
            initial["clock_minutes"] = clock.get("due_within_minutes")
        for key in ("unassigned_minutes", "max_sentiment", "min_followers"):
            initial[key] = c.get(key)
        initial["min_priority"] = str(c.get("min_priority", ""))
        initial["keywords"] = ", ".join(c.get("keywords", []))
        initial["streams"] = c.get("streams", [])
        initial["teams"] = c.get("teams", [])
        for action in rule.actions or []:
            kind = action.get("type")
            if kind == "raise_priority":
                initial["raise_priority"] = str(action.get("priority", ""))
            elif kind == "assign":
                initial["assign_agent"] = action.get("agent")
                initial["assign_team"] = action.get("team")
            elif kind == "add_tag":
                initial["add_tag"] = action.get("tag")
            elif kind == "add_note":
                initial["add_note"] = action.get("body")
            elif kind == "notify_email":
                initial["email_to"] = action.get("to")
                initial["email_addresses"] = ", ".join(action.get("addresses", []))
            elif kind == "webhook":
                initial["webhook_url"] = action.get("url")
        return initial

    def _conditions(self, d: dict[str, Any]) -> Conditions:
        c: Conditions = {}
        if d.get("clock_target") in TARGETS:
            if d.get("clock_when") == "breached":
                c["clock"] = {"target": d["clock_target"], "breached": True}
            elif d.get("clock_minutes") is None:
                self.add_error(
                    "clock_minutes", "Say within how many minutes of the due time."
                )
            else:
                c["clock"] = {
                    "target": d["clock_target"],
                    "due_within_minutes": d["clock_minutes"],
                }
        if d.get("unassigned_minutes") is not None:
            c["unassigned_minutes"] = d["unassigned_minutes"]
        if d.get("min_priority"):
            c["min_priority"] = int(d["min_priority"])
        if d.get("max_sentiment") is not None:
            c["max_sentiment"] = float(d["max_sentiment"])
        if d.get("min_followers") is not None:
            c["min_followers"] = d["min_followers"]
        if _split(d.get("keywords", "")):
            c["keywords"] = _split(d["keywords"])
        if d.get("streams"):
            c["streams"] = sorted(s.pk for s in d["streams"])
        if d.get("teams"):
            c["teams"] = sorted(t.pk for t in d["teams"])
        return c

    def _actions(self, d: dict[str, Any]) -> list[Action]:
        a: list[Action] = []
        if d.get("raise_priority"):
            a.append({"type": "raise_priority", "priority": int(d["raise_priority"])})
        if d.get("assign_agent") or d.get("assign_team"):
            assign: Action = {"type": "assign"}
            if d.get("assign_agent"):
                assign["agent"] = d["assign_agent"].pk
            if d.get("assign_team"):
                assign["team"] = d["assign_team"].pk
            a.append(assign)
        if (d.get("add_tag") or "").strip():
            a.append({"type": "add_tag", "tag": d["add_tag"].strip().lower()})
        if (d.get("add_note") or "").strip():
            a.append({"type": "add_note", "body": d["add_note"].strip()})
        if d.get("email_to"):
            email: Action = {"type": "notify_email", "to": d["email_to"]}
            if d["email_to"] == "addresses":
                email["addresses"] = _split(d.get("email_addresses", ""))
            a.append(email)
        if (d.get("webhook_url") or "").strip():
            url = d["webhook_url"].strip()
            for error in check_webhook_url(url):
                self.add_error("webhook_url", error)
            a.append({"type": "webhook", "url": url})
            if not d.get("webhook_secret") and not self.instance.webhook_secret:
                self.add_error(
                    "webhook_secret", "Give a secret to sign the webhook with."
                )
        return a

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        conditions = self._conditions(data)
        actions = self._actions(data)
        # Say everything that is wrong at once, without repeating what a field already says.
        shown = {str(e) for errors in self.errors.values() for e in errors}
        for error in check_conditions(conditions) + check_actions(actions):
            if error not in shown:
                self.add_error(None, error)
        data["conditions"], data["actions"] = conditions, actions
        return data

    def save(self, commit: bool = True) -> EscalationRule:
        rule: EscalationRule = super().save(commit=False)
        rule.conditions = self.cleaned_data["conditions"]
        rule.actions = self.cleaned_data["actions"]
        if self.cleaned_data.get("webhook_secret"):
            rule.webhook_secret = self.cleaned_data["webhook_secret"]
        rule.updated_at = timezone.now()
        if commit:
            rule.save()
        return rule
