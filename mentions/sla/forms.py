"""Forms of the SLA settings pages: calendars (weekly hours as text, holidays) and policies."""

from __future__ import annotations

import re
from datetime import date, time
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import holidays
from django import forms
from django.core.exceptions import ValidationError

from mentions.models import Mention, Stream, XAccount
from mentions.sla.businesstime import (
    END_OF_DAY,
    Calendar,
    CalendarError,
    Interval,
    check_intervals,
    format_interval,
    zone,
)
from mentions.sla.models import BusinessCalendar, SlaPolicy

WEEKDAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
INTERVAL_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})$")
HOLIDAY_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\s+(.*))?$")


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones())]


@cache
def country_choices() -> list[tuple[str, str]]:
    # registry.COUNTRIES maps module -> (ClassName, alpha-2, ...): "UnitedKingdom" -> "United Kingdom".
    names = {
        entry[1]: re.sub(r"(?<=[a-z])(?=[A-Z])", " ", entry[0])
        for entry in holidays.registry.COUNTRIES.values()
    }
    supported = holidays.list_supported_countries()
    return [("", "No public holidays")] + [
        (code, f"{names.get(code, code)} ({code})") for code in sorted(supported)
    ]


def parse_time(hours: str, minutes: str, *, closing: bool) -> time:
    h, m = int(hours), int(minutes)
    if closing and (h, m) == (24, 0):
        return END_OF_DAY
    if h > 23 or m > 59:
        raise ValidationError(f"{hours}:{minutes} is not a time of day.")
    return time(h, m)


def parse_day(text: str) -> tuple[Interval, ...]:
    """ "09:00-12:00, 13:00-17:00" -> intervals; "24:00" closes at the end of the day."""
    intervals = []
    for part in filter(None, (p.strip() for p in re.split(r"[,;]", text))):
        match = INTERVAL_RE.match(part)
        if not match:
            raise ValidationError(
                f"{part!r} is not an interval: write HH:MM-HH:MM, e.g. 09:00-17:00."
            )
        oh, om, ch, cm = match.groups()
        intervals.append(
            (parse_time(oh, om, closing=False), parse_time(ch, cm, closing=True))
        )
    try:
        return check_intervals(intervals)
    except CalendarError as exc:
        raise ValidationError(str(exc)) from exc


def parse_holidays(text: str) -> list[tuple[date, str]]:
    out = []
    for line in filter(None, (ln.strip() for ln in text.splitlines())):
        match = HOLIDAY_RE.match(line)
        try:
            day = date.fromisoformat(match.group(1)) if match else None
        except ValueError:
            day = None
        if match is None or day is None:
            raise ValidationError(
                f"{line!r}: write one date per line as YYYY-MM-DD, optionally followed by a name."
            )
        out.append((day, (match.group(2) or "").strip()[:100]))
    return out


class CalendarForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic form, not subscriptable at run time
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        initial="UTC",
        error_messages={
            "invalid_choice": "Unknown time zone %(value)s: pick an IANA zone such as Europe/Berlin."
        },
    )
    holiday_country = forms.ChoiceField(choices=country_choices, required=False)
    custom_holidays = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Closed dates on top of the country's holidays: one per line, YYYY-MM-DD name.",
    )

    class Meta:
        model = BusinessCalendar
        fields = [
            "name",
            "time_zone",
            "is_always_open",
            "holiday_country",
            "holiday_subdivision",
        ]
        labels = {
            "is_always_open": "Always open (24/7)",
            "holiday_subdivision": "Holiday subdivision (state, province)",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        weekly: list[list[Interval]] = [[] for _ in range(7)]
        custom = ""
        if self.instance.pk:
            for iv in self.instance.intervals.all():
                weekly[iv.weekday].append((iv.opens_at, iv.closes_at))
            custom = "\n".join(
                f"{h.date.isoformat()} {h.name}".strip()
                for h in self.instance.holidays.all()
            )
        self.fields["custom_holidays"].initial = custom
        for day, name in enumerate(WEEKDAYS):
            self.fields[f"day_{day}"] = forms.CharField(
                label=name,
                required=False,
                initial=", ".join(format_interval(iv) for iv in weekly[day]),
                help_text=""
                if day
                else "e.g. 09:00-12:00, 13:00-17:00 (24:00 = end of day)",
            )

    def day_fields(self) -> list[forms.BoundField]:
        return [self[f"day_{day}"] for day in range(7)]

    def clean_time_zone(self) -> str:
        name: str = self.cleaned_data["time_zone"]
        try:
            zone(name)
        except CalendarError as exc:
            raise ValidationError(str(exc)) from exc
        return name

    def clean_custom_holidays(self) -> list[tuple[date, str]]:
        return parse_holidays(self.cleaned_data.get("custom_holidays") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        weekly: list[tuple[Interval, ...]] = []
        for day, name in enumerate(WEEKDAYS):
            try:
                weekly.append(parse_day(data.get(f"day_{day}") or ""))
            except ValidationError as exc:
                self.add_error(f"day_{day}", f"{name}: {exc.messages[0]}")
                weekly.append(())
        data["weekly"] = tuple(weekly)
        country = data.get("holiday_country") or ""
        subdivision = (data.get("holiday_subdivision") or "").strip().upper()
        data["holiday_subdivision"] = subdivision
        if subdivision and not country:
            self.add_error(
                "holiday_subdivision", "Pick a holiday country for the subdivision."
            )
        elif country and subdivision:
            known = holidays.list_supported_countries().get(country, [])
            if subdivision not in known:
                self.add_error(
                    "holiday_subdivision",
                    f"{country} has no subdivision {subdivision!r} (known: {', '.join(known) or 'none'}).",
                )
        if self.errors:
            return data
        try:
            Calendar(
                time_zone=data["time_zone"],
                weekly=data["weekly"],
                holiday_country=country,
                holiday_subdivision=subdivision,
                always_open=bool(data.get("is_always_open")),
            )
        except CalendarError as exc:
            raise ValidationError(str(exc)) from exc
        return data


class PolicyForm(forms.ModelForm):  # type: ignore[type-arg]  # django-stubs generic form, not subscriptable at run time
    TARGETS = ("first_response", "next_response", "resolution")

    streams = forms.ModelMultipleChoiceField(
        queryset=Stream.objects.select_related("account").order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    accounts = forms.ModelMultipleChoiceField(
        label="Brand accounts",
        queryset=XAccount.objects.order_by("handle"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    kinds = forms.MultipleChoiceField(
        label="Kind",
        choices=Mention.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    priorities = forms.TypedMultipleChoiceField(
        label="Priority",
        choices=Mention.Priority.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    min_followers = forms.IntegerField(
        min_value=0, required=False, label="Author followers at least"
    )
    verified = forms.TypedChoiceField(
        choices=[("", "Any author"), ("1", "Verified only"), ("0", "Not verified")],
        required=False,
        coerce=lambda v: v == "1",
        empty_value=None,
    )
    languages = forms.CharField(
        required=False, help_text="X language codes, comma-separated (en, de)."
    )
    tags = forms.CharField(required=False, help_text="Tag names, comma-separated.")

    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "calendar",
            "is_active",
            "is_default",
            "first_response_minutes",
            "first_response_business",
            "next_response_minutes",
            "next_response_business",
            "resolution_minutes",
            "resolution_business",
            "warning_share",
        ]
        labels = {
            "first_response_business": "in business hours",
            "next_response_business": "in business hours",
            "resolution_business": "in business hours",
            "warning_share": "Warning at (% of the target)",
            "is_active": "Active",
            "is_default": "Default policy (applies when no other policy matches)",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cond = self.instance.conditions or {}
        for key in ("streams", "accounts", "kinds", "priorities", "min_followers"):
            self.fields[key].initial = cond.get(key)
        if cond.get("verified") is not None:
            self.fields["verified"].initial = "1" if cond["verified"] else "0"
        self.fields["languages"].initial = ", ".join(cond.get("languages", []))
        self.fields["tags"].initial = ", ".join(cond.get("tags", []))
        for target in self.TARGETS:
            self.fields[f"{target}_minutes"].widget.attrs["min"] = 1

    def target_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [
            (
                label,
                self[f"{target}_minutes"],
                self[f"{target}_business"],
            )
            for target, label in zip(
                self.TARGETS,
                ("First response", "Next response", "Resolution"),
                strict=True,
            )
        ]

    def clean_warning_share(self) -> int:
        share: int = self.cleaned_data["warning_share"]
        if not 1 <= share <= 99:
            raise ValidationError("The warning share is a percentage between 1 and 99.")
        return share

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for target in self.TARGETS:
            minutes = data.get(f"{target}_minutes")
            if minutes is not None and minutes < 1:
                self.add_error(f"{target}_minutes", "A target is at least 1 minute.")
        if all(data.get(f"{t}_minutes") is None for t in self.TARGETS):
            raise ValidationError(
                "Set at least one target (first response, next response or resolution)."
            )
        conditions: dict[str, Any] = {}
        if data.get("streams"):
            conditions["streams"] = sorted(s.pk for s in data["streams"])
        if data.get("accounts"):
            conditions["accounts"] = sorted(a.pk for a in data["accounts"])
        if data.get("kinds"):
            conditions["kinds"] = sorted(data["kinds"])
        if data.get("priorities"):
            conditions["priorities"] = sorted(data["priorities"])
        if data.get("min_followers") is not None:
            conditions["min_followers"] = data["min_followers"]
        if data.get("verified") is not None:
            conditions["verified"] = data["verified"]
        for key in ("languages", "tags"):
            values = sorted(
                {
                    v.strip().lower()
                    for v in (data.get(key) or "").split(",")
                    if v.strip()
                }
            )
            if values:
                conditions[key] = values
        data["conditions"] = conditions
        if data.get("is_default"):
            if conditions:
                raise ValidationError(
                    "The default policy applies when no other policy matches: remove its conditions."
                )
            other = SlaPolicy.objects.filter(is_default=True).exclude(
                pk=self.instance.pk
            )
            if (taken := other.first()) is not None:
                self.add_error(
                    "is_default",
                    f"{taken.name!r} is already the default policy: unset it there first.",
                )
        return data

    def save(self, commit: bool = True) -> SlaPolicy:
        self.instance.conditions = self.cleaned_data["conditions"]
        policy: SlaPolicy = super().save(commit=commit)
        return policy
