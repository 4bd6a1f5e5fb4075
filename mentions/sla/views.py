"""SLA settings pages: calendars and policies. Admins change them; managers read; agents get 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.lib.http import AuthedHttpRequest
from mentions.models import Mention, Stream, XAccount
from mentions.roles import Role, has_role
from mentions.sla.businesstime import END_OF_DAY, format_interval
from mentions.sla.forms import WEEKDAYS, CalendarForm, PolicyForm
from mentions.sla.models import (
    BusinessCalendar,
    Holiday,
    OpenInterval,
    SlaClock,
    SlaPolicy,
)
from mentions.sla.policies import describe
from mentions.sla.reapply import reapply_policies

OPEN_MENTIONS_SHOWN = 20
CHANGES_SHOWN = 200


def _require_reader(request: AuthedHttpRequest) -> bool:
    """Managers and admins read the settings; returns whether the user may change them."""
    if not has_role(request.user, Role.MANAGER, Role.ADMIN):
        raise PermissionDenied("Only managers and admins can see the SLA settings.")
    return has_role(request.user, Role.ADMIN)


def _require_admin(request: AuthedHttpRequest) -> None:
    if not has_role(request.user, Role.ADMIN):
        raise PermissionDenied("Only admins can change the SLA settings.")


def _policy_rows() -> list[dict[str, object]]:
    names = {
        "streams": dict(Stream.objects.values_list("id", "name")),
        "accounts": {
            pk: f"@{h}" for pk, h in XAccount.objects.values_list("id", "handle")
        },
    }
    # Matching order: by position, the default last.
    policies = SlaPolicy.objects.select_related("calendar").order_by(
        "is_default", "position", "id"
    )
    return [
        {"policy": p, "conditions": describe(p.conditions or {}, names)}
        for p in policies
    ]


def _settings_context(can_edit: bool) -> dict[str, object]:
    calendars = BusinessCalendar.objects.annotate(
        n_intervals=Count("intervals", distinct=True),
        n_policies=Count("policies", distinct=True),
    ).order_by("name")
    return {
        "calendars": list(calendars),
        "policy_rows": _policy_rows(),
        "can_edit": can_edit,
    }


@require_GET
def sla_settings(request: AuthedHttpRequest) -> HttpResponse:
    can_edit = _require_reader(request)
    return render(request, "sla/settings.html", _settings_context(can_edit))


def _weekly_text(calendar: BusinessCalendar) -> list[tuple[str, str]]:
    days: list[list[str]] = [[] for _ in range(7)]
    for iv in calendar.intervals.all():
        days[iv.weekday].append(format_interval((iv.opens_at, iv.closes_at)))
    return [(WEEKDAYS[d], ", ".join(days[d]) or "closed") for d in range(7)]


@require_GET
def calendar_detail(request: AuthedHttpRequest, calendar_id: int) -> HttpResponse:
    can_edit = _require_reader(request)
    calendar = get_object_or_404(
        BusinessCalendar.objects.prefetch_related("intervals", "holidays", "policies"),
        pk=calendar_id,
    )
    return render(
        request,
        "sla/calendar_detail.html",
        {"calendar": calendar, "weekly": _weekly_text(calendar), "can_edit": can_edit},
    )


@require_http_methods(["GET", "POST"])
def calendar_edit(
    request: AuthedHttpRequest, calendar_id: int | None = None
) -> HttpResponse:
    _require_admin(request)
    calendar = (
        get_object_or_404(BusinessCalendar, pk=calendar_id)
        if calendar_id is not None
        else BusinessCalendar()
    )
    form = CalendarForm(request.POST or None, instance=calendar)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            calendar = form.save()
            calendar.intervals.all().delete()
            OpenInterval.objects.bulk_create(
                OpenInterval(calendar=calendar, weekday=day, opens_at=o, closes_at=c)
                for day, intervals in enumerate(form.cleaned_data["weekly"])
                for o, c in intervals
            )
            calendar.holidays.all().delete()
            Holiday.objects.bulk_create(
                Holiday(calendar=calendar, date=d, name=name)
                for d, name in dict(form.cleaned_data["custom_holidays"]).items()
            )
        messages.success(
            request,
            f"Saved the calendar {calendar.name}. Policies using it apply it to new mentions; "
            "re-apply the policies to update open ones.",
        )
        return redirect("sla:calendar", calendar.pk)
    return render(
        request,
        "sla/calendar_form.html",
        {"form": form, "calendar": calendar, "END_OF_DAY": END_OF_DAY},
    )


@require_GET
def policy_detail(request: AuthedHttpRequest, policy_id: int) -> HttpResponse:
    can_edit = _require_reader(request)
    policy = get_object_or_404(
        SlaPolicy.objects.select_related("calendar"), pk=policy_id
    )
    names = {
        "streams": dict(Stream.objects.values_list("id", "name")),
        "accounts": {
            pk: f"@{h}" for pk, h in XAccount.objects.values_list("id", "handle")
        },
    }
    # The open mentions whose running clocks follow this policy, most urgent first.
    running = SlaClock.objects.filter(
        policy=policy,
        stopped_at__isnull=True,
        state__in=[SlaClock.State.ACTIVE, SlaClock.State.BREACHED],
    )
    mentions = (
        Mention.objects.filter(
            id__in=running.values("mention_id"), sla_due_at__isnull=False
        )
        .select_related("author")
        .order_by("sla_due_at", "id")[:OPEN_MENTIONS_SHOWN]
    )
    return render(
        request,
        "sla/policy_detail.html",
        {
            "policy": policy,
            "conditions": describe(policy.conditions or {}, names),
            "mentions": list(mentions),
            "can_edit": can_edit,
        },
    )


@require_http_methods(["GET", "POST"])
def policy_edit(
    request: AuthedHttpRequest, policy_id: int | None = None
) -> HttpResponse:
    _require_admin(request)
    policy = (
        get_object_or_404(SlaPolicy, pk=policy_id)
        if policy_id is not None
        else SlaPolicy(position=_next_position())
    )
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        policy = form.save(commit=False)
        policy.updated_at = timezone.now()
        policy.save()
        messages.success(
            request,
            f"Saved the policy {policy.name}. It applies to new mentions; re-apply the policies to "
            "update open ones.",
        )
        return redirect("sla:policy", policy.pk)
    return render(request, "sla/policy_form.html", {"form": form, "policy": policy})


def _next_position() -> int:
    last = SlaPolicy.objects.filter(is_default=False).order_by("-position").first()
    return (last.position + 10) if last else 10


@require_POST
def policy_move(request: AuthedHttpRequest, policy_id: int) -> HttpResponse:
    """Move a policy one place up or down in the matching order (the default stays last)."""
    _require_admin(request)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        return HttpResponse("direction must be up or down", status=400)
    with transaction.atomic():
        ordered = list(
            SlaPolicy.objects.select_for_update()
            .filter(is_default=False)
            .order_by("position", "id")
        )
        index = next((i for i, p in enumerate(ordered) if p.pk == policy_id), None)
        if index is None:
            return HttpResponse(
                "The default policy is always checked last.", status=400
            )
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(ordered):
            ordered[index], ordered[other] = ordered[other], ordered[index]
        for position, policy in enumerate(ordered, start=1):
            policy.position = position * 10
        SlaPolicy.objects.bulk_update(ordered, ["position"])
    if request.htmx:
        return render(
            request, "sla/settings.html#policy-table", _settings_context(True)
        )
    return redirect("sla:settings")


@require_POST
def policy_reapply(request: AuthedHttpRequest) -> HttpResponse:
    """Re-apply the current policies to open mentions and list the mentions whose clocks changed."""
    _require_admin(request)
    changes = reapply_policies(now=timezone.now())
    return render(
        request,
        "sla/reapply_result.html",
        {
            "changes": changes[:CHANGES_SHOWN],
            "total": len(changes),
            "shown": min(len(changes), CHANGES_SHOWN),
        },
    )
