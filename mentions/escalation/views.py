"""Settings pages for escalation rules: admins change them, managers read them, agents get 403."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.lib.http import AuthedHttpRequest
from mentions.escalation import describe
from mentions.escalation.forms import RuleForm
from mentions.escalation.models import EscalationFiring, EscalationRule, Notification
from mentions.roles import Role, has_role

RECENT_FIRINGS = 50


def _check_reader(request: AuthedHttpRequest) -> None:
    if not has_role(request.user, Role.MANAGER, Role.ADMIN):
        raise PermissionDenied("Only managers and admins can see escalation rules.")


def _check_admin(request: AuthedHttpRequest) -> None:
    if not has_role(request.user, Role.ADMIN):
        raise PermissionDenied("Only admins can change escalation rules.")


def _list_context(request: AuthedHttpRequest) -> dict[str, object]:
    """Rules with their last day's firings and notification states: three queries in all.

    Counted per rule with GROUP BY rather than joins on the rule list, which would multiply rows
    across the whole firing history.
    """
    since = timezone.now() - timedelta(days=1)
    rules = list(EscalationRule.objects.order_by("position", "id"))
    fired: dict[int, tuple[int, datetime]] = {
        rule_id: (count, last)
        for rule_id, count, last in EscalationFiring.objects.filter(fired_at__gte=since)
        .values("rule_id")
        .annotate(count=Count("id"), last=Max("fired_at"))
        .order_by()
        .values_list("rule_id", "count", "last")
    }
    states: dict[tuple[int, str], int] = {
        (row["firing__rule_id"], row["state"]): row["count"]
        for row in Notification.objects.filter(
            Q(state__in=[Notification.State.QUEUED, Notification.State.SENDING])
            | Q(state=Notification.State.FAILED, created_at__gte=since)
        )
        .values("firing__rule_id", "state")
        .annotate(count=Count("id"))
        .order_by()
    }
    names = describe.Names.load(rules)
    rows = [
        {
            "rule": rule,
            "conditions": describe.conditions(rule, names),
            "actions": describe.actions(rule, names),
            "firings_24h": fired[rule.pk][0] if rule.pk in fired else 0,
            "last_fired_at": fired[rule.pk][1] if rule.pk in fired else None,
            "pending": states.get((rule.pk, Notification.State.QUEUED), 0)
            + states.get((rule.pk, Notification.State.SENDING), 0),
            "failed": states.get((rule.pk, Notification.State.FAILED), 0),
        }
        for rule in rules
    ]
    return {"rows": rows, "can_edit": has_role(request.user, Role.ADMIN)}


@require_GET
def rule_list(request: AuthedHttpRequest) -> HttpResponse:
    _check_reader(request)
    template = (
        "escalation/rule_list.html#rule-table"
        if request.htmx
        else "escalation/rule_list.html"
    )
    return render(request, template, _list_context(request))


@require_GET
def rule_detail(request: AuthedHttpRequest, rule_id: int) -> HttpResponse:
    _check_reader(request)
    rule = get_object_or_404(EscalationRule, pk=rule_id)
    firings = list(
        EscalationFiring.objects.filter(rule=rule)
        .select_related("mention__author")
        .prefetch_related(
            Prefetch("notifications", queryset=Notification.objects.order_by("id"))
        )
        .order_by("-fired_at", "-id")[:RECENT_FIRINGS]
    )
    names = describe.Names.load([rule])
    context = {
        "rule": rule,
        "conditions": describe.conditions(rule, names),
        "actions": describe.actions(rule, names),
        "firings": firings,
        "can_edit": has_role(request.user, Role.ADMIN),
    }
    template = (
        "escalation/rule_detail.html#rule-firings"
        if request.htmx
        else "escalation/rule_detail.html"
    )
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def rule_create(request: AuthedHttpRequest) -> HttpResponse:
    _check_admin(request)
    form = RuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        rule = form.save()
        messages.success(request, f'Created the rule "{rule.name}".')
        return redirect("escalation:rule-detail", rule_id=rule.pk)
    return render(request, "escalation/rule_form.html", {"form": form, "rule": None})


@require_http_methods(["GET", "POST"])
def rule_edit(request: AuthedHttpRequest, rule_id: int) -> HttpResponse:
    _check_admin(request)
    rule = get_object_or_404(EscalationRule, pk=rule_id)
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f'Saved the rule "{rule.name}".')
        return redirect("escalation:rule-detail", rule_id=rule.pk)
    return render(request, "escalation/rule_form.html", {"form": form, "rule": rule})


@require_POST
def rule_toggle(request: AuthedHttpRequest, rule_id: int) -> HttpResponse:
    """Enable or disable a rule (form field `active` = 1 or 0)."""
    _check_admin(request)
    rule = get_object_or_404(EscalationRule, pk=rule_id)
    active = request.POST.get("active")
    if active not in {"0", "1"}:
        messages.error(request, "Say whether to enable (1) or disable (0) the rule.")
    else:
        rule.is_active = active == "1"
        rule.updated_at = timezone.now()
        rule.save(update_fields=["is_active", "updated_at"])
        state = "enabled" if rule.is_active else "disabled"
        messages.success(request, f'The rule "{rule.name}" is {state}.')
    if request.htmx:
        return render(
            request, "escalation/rule_list.html#rule-table", _list_context(request)
        )
    return redirect("escalation:rules")
