"""The hand-off actions of the composer: DM, email, phone callback, and the hand-off's own buttons."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from helpdesk.lib.http import AuthedHttpRequest
from mentions.models import Mention
from responders import guards, handoff
from responders.forms import CallForm, DmForm, EmailForm, PhoneForm, ResolveForm
from responders.models import GuardSettings, Handoff
from responders.views import (
    collisions_for,
    get_mention_for,
    privacy_findings,
    render_composer,
    reply_blocked_reason,
    require_agent,
    with_send_anyway,
)


def _handoff_create(
    request: AuthedHttpRequest, mention: Mention, channel: str
) -> HttpResponse:
    now = timezone.now()
    form_class = DmForm if channel == "dm" else EmailForm
    form = form_class(request.POST)
    public_wanted = request.POST.get("take_offline") == "1"
    if not form.is_valid():
        return render_composer(
            request, mention, now=now, active=channel, bound={channel: form}
        )
    public_text = form.cleaned_data["public_text"] if public_wanted else ""
    if public_text and reply_blocked_reason(mention):
        form.add_error("public_text", reply_blocked_reason(mention))
        return render_composer(
            request, mention, now=now, active=channel, bound={channel: form}
        )
    guard = GuardSettings.load()
    findings = privacy_findings(public_text, guard)
    if findings and guard.privacy_mode == GuardSettings.Mode.BLOCK:
        form.add_error(
            "public_text",
            f"The public part contains {guards.describe(findings)}; keep it in the private message.",
        )
        return render_composer(
            request, mention, now=now, active=channel, bound={channel: form}
        )
    collisions = collisions_for(request, mention, form)
    if collisions:
        return render_composer(
            request, mention, now=now, active=channel,
            bound={channel: with_send_anyway(form_class, request)}, collisions=collisions,
        )  # fmt: skip
    data = form.cleaned_data
    if channel == "dm":
        handoff.start_dm_handoff(
            mention, text=data["text"], agent=request.user, now=now,
            promised_at=data["promised_at"], public_text=public_text,
        )  # fmt: skip
    else:
        handoff.start_email_handoff(
            mention, address=data["address"], subject=data["subject"], text=data["text"],
            agent=request.user, now=now, include_quote=data["include_quote"],
            promised_at=data["promised_at"], public_text=public_text,
        )  # fmt: skip
    return render_composer(request, mention, now=now, active=channel)


@require_POST
def dm_create(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    return _handoff_create(request, get_mention_for(request, mention_id), "dm")


@require_POST
def email_create(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    return _handoff_create(request, get_mention_for(request, mention_id), "email")


@require_POST
def phone_create(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_mention_for(request, mention_id)
    now = timezone.now()
    form = PhoneForm(request.POST, region=GuardSettings.load().phone_region)
    if not form.is_valid():
        return render_composer(
            request, mention, now=now, active="phone", bound={"phone": form}
        )
    handoff.log_callback(
        mention, number=form.cleaned_data["number"], promised_at=form.cleaned_data["promised_at"],
        agent=request.user, now=now, notes=form.cleaned_data["notes"],
    )  # fmt: skip
    return render_composer(request, mention, now=now, active="phone")


def _get_handoff(request: AuthedHttpRequest, handoff_id: int) -> Handoff:
    require_agent(request)
    return get_object_or_404(Handoff.objects.select_related("mention"), pk=handoff_id)


@require_GET
def handoff_status(request: AuthedHttpRequest, handoff_id: int) -> HttpResponse:
    item = _get_handoff(request, handoff_id)
    context = {
        "h": item,
        "answers": list(handoff.dm_answers(item)),
        "call_form": CallForm(),
        "resolve_form": ResolveForm(),
    }
    return render(request, "responders/_handoff.html", context)


@require_POST
def handoff_call(request: AuthedHttpRequest, handoff_id: int) -> HttpResponse:
    item = _get_handoff(request, handoff_id)
    form = CallForm(request.POST)
    if (
        form.is_valid()
        and item.channel == Handoff.Channel.PHONE
        and item.status == Handoff.Status.OPEN
    ):
        handoff.record_call(
            item, outcome=form.cleaned_data["outcome"], notes=form.cleaned_data["notes"],
            agent=request.user, now=timezone.now(),
        )  # fmt: skip
    return render_composer(
        request, get_mention_for(request, item.mention_id), active="phone"
    )


@require_POST
def handoff_resolve(request: AuthedHttpRequest, handoff_id: int) -> HttpResponse:
    item = _get_handoff(request, handoff_id)
    form = ResolveForm(request.POST)
    if form.is_valid():
        handoff.resolve_handoff(
            item,
            outcome=form.cleaned_data["outcome"],
            agent=request.user,
            now=timezone.now(),
        )
    return render_composer(
        request, get_mention_for(request, item.mention_id), active=item.channel
    )


@require_POST
def handoff_dismiss_followup(
    request: AuthedHttpRequest, handoff_id: int
) -> HttpResponse:
    item = _get_handoff(request, handoff_id)
    handoff.dismiss_followup(item)
    return render_composer(request, get_mention_for(request, item.mention_id))
