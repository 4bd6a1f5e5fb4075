"""The admins' responder settings page: privacy guard mode and patterns, undo window, cool-off."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render

from helpdesk.lib.http import AuthedHttpRequest
from mentions.roles import Role, has_role
from responders.forms import GuardSettingsForm, PatternFormSet
from responders.models import GuardSettings, PrivacyPattern


def responder_settings(request: AuthedHttpRequest) -> HttpResponse:
    if not has_role(request.user, Role.ADMIN):
        raise PermissionDenied
    guard = GuardSettings.load()
    if request.method == "POST":
        form = GuardSettingsForm(request.POST, instance=guard)
        patterns = PatternFormSet(request.POST, queryset=PrivacyPattern.objects.all())
        if form.is_valid() and patterns.is_valid():
            with transaction.atomic():
                form.save()
                patterns.save()
            messages.success(request, "Responder settings saved.")
            return redirect("responders:settings")
    else:
        form = GuardSettingsForm(instance=guard)
        patterns = PatternFormSet(queryset=PrivacyPattern.objects.all())
    return render(
        request,
        "responders/settings.html",
        {"form": form, "patterns": patterns},
        status=200 if not (form.errors or patterns.total_error_count()) else 400,
    )
