"""The composer (a fragment the workspace loads, and a page of its own) and its actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from helpdesk.lib.http import AuthedHttpRequest
from mentions.models import Mention
from mentions.roles import Role, has_role
from responders import canned, guards, handoff, replies
from responders.forms import (
    CallForm,
    DmForm,
    EmailForm,
    PhoneForm,
    ReplyForm,
    ResolveForm,
)
from responders.models import GuardSettings, Handoff, Outbound
from responders.text import weighted_length

DEFAULT_OFFLINE = {
    "dm": "Hi {{ author.handle }}, we've sent you a DM so we can look into this privately. ^{{ agent.first_name }}",
    "email": "Hi {{ author.handle }}, we've sent you an email so we can look into this privately. ^{{ agent.first_name }}",
}
DEFAULT_FOLLOWUP = (
    "Hi {{ author.handle }}, glad we could sort this out! If you're happy to, "
    "let others know how it went. ^{{ agent.first_name }}"
)
NOT_A_POST = "This is a direct message: answer it by DM (or email or phone); there is no public post to reply to."
NOT_SUMMONED = (
    "X allows an API reply only when the author @mentioned or quoted the brand, and this post "
    "did neither. Send a DM, an email or log a phone call instead."
)


def require_agent(request: AuthedHttpRequest) -> None:
    if not has_role(request.user, Role.AGENT, Role.MANAGER, Role.ADMIN):
        raise PermissionDenied


def get_mention_for(request: AuthedHttpRequest, mention_id: int) -> Mention:
    require_agent(request)
    return get_object_or_404(
        Mention.objects.select_related("author", "account", "thread"), pk=mention_id
    )


def _get_outbound(request: AuthedHttpRequest, outbound_id: int) -> Outbound:
    require_agent(request)
    return get_object_or_404(Outbound.objects.select_related("mention"), pk=outbound_id)


def _for_display(
    outbounds: list[Outbound], request: AuthedHttpRequest, now: datetime
) -> list[Outbound]:
    """Add what the fragment shows: seconds left in the undo window, and whether this user may undo."""
    for o in outbounds:
        o.seconds_left = o.undo_seconds_left(now)  # type: ignore[attr-defined]  # display-only attribute
        o.undoable = o.can_undo(now) and _may_undo(request, o)  # type: ignore[attr-defined]
    return outbounds


def _may_undo(request: AuthedHttpRequest, outbound: Outbound) -> bool:
    """The agent who queued it, or a manager/admin, may undo it."""
    return outbound.agent_id == request.user.pk or has_role(
        request.user, Role.MANAGER, Role.ADMIN
    )


def reply_blocked_reason(mention: Mention) -> str:
    if mention.kind == Mention.Kind.DM:
        return NOT_A_POST
    return "" if mention.summons_brand else NOT_SUMMONED


def _dm_origin(mention: Mention) -> Handoff | None:
    """For a customer's DM: the hand-off whose DM opened this conversation (links back to the post)."""
    if mention.kind != Mention.Kind.DM or not mention.conversation_id:
        return None
    return (
        Handoff.objects.filter(
            channel=Handoff.Channel.DM, dm_conversation_id=mention.conversation_id
        )
        .select_related("mention__author")
        .order_by("-created_at")
        .first()
    )


def _presence_url(mention: Mention) -> str:
    try:  # the queue helper's presence endpoint (contracts §7); absent until it lands
        return reverse("mentions:presence", args=[mention.pk])
    except NoReverseMatch:
        return ""


def _canned_options(
    channel: str, values: dict[str, str], *, purpose: str = "general"
) -> list[tuple[int, str, str]]:
    return [
        (c.pk, c.title, canned.render_placeholders(c.body, values))
        for c in canned.responses_for(channel, purpose=purpose)
    ]


def _template_text(
    purpose: str, channel: str, default: str, values: dict[str, str]
) -> str:
    found = canned.responses_for(channel, purpose=purpose)
    return canned.render_placeholders(found[0].body if found else default, values)


def _composer_context(
    request: AuthedHttpRequest,
    mention: Mention,
    *,
    now: datetime,
    active: str = "",
    bound: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    guard = GuardSettings.load()
    values = canned.placeholder_values(mention, request.user, guard=guard)
    initial = {"opened_at": now.isoformat()}
    forms: dict[str, Any] = {
        "reply": ReplyForm(initial=initial),
        "dm": DmForm(
            initial=initial
            | {
                "public_text": _template_text(
                    "offline", "reply", DEFAULT_OFFLINE["dm"], values
                )
            }
        ),
        "email": EmailForm(
            initial=initial
            | {
                "public_text": _template_text(
                    "offline", "reply", DEFAULT_OFFLINE["email"], values
                )
            }
        ),
        "phone": PhoneForm(region=guard.phone_region),
    } | (bound or {})
    handoffs = list(mention.handoffs.select_related("agent").order_by("-created_at"))
    followup = handoff.followup_due(mention)
    return {
        "mention": mention,
        "forms": forms,
        "active": active or ("reply" if mention.summons_brand else "dm"),
        "not_summoned": reply_blocked_reason(mention),
        "dm_origin": _dm_origin(mention),
        "canned": {ch: _canned_options(ch, values) for ch in ("reply", "dm", "email")},
        "heat": guards.thread_heat(mention, guard),
        "outbounds": _for_display(
            list(
                mention.outbounds.select_related("agent").order_by("-created_at")[:10]
            ),
            request,
            now,
        ),
        "handoffs": [
            (h, list(handoff.dm_answers(h)), CallForm(), ResolveForm())
            for h in handoffs
        ],
        "followup": followup,
        "followup_text": _template_text("followup", "reply", DEFAULT_FOLLOWUP, values)
        if followup
        else "",
        "presence_url": _presence_url(mention),
        "now": now,
        "guard": guard,
        "placeholders": canned.PLACEHOLDERS,
    } | extra


def render_composer(
    request: AuthedHttpRequest, mention: Mention, **kwargs: Any
) -> HttpResponse:
    now = kwargs.pop("now", None) or timezone.now()
    return render(
        request,
        "responders/_composer.html",
        _composer_context(request, mention, now=now, **kwargs),
    )


@require_GET
def composer(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_mention_for(request, mention_id)
    return render_composer(request, mention, active=request.GET.get("channel", ""))


@require_GET
def compose_page(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_mention_for(request, mention_id)
    context = _composer_context(
        request, mention, now=timezone.now(), active=request.GET.get("channel", "")
    )
    context["thread"] = list(
        Mention.objects.filter(thread_id=mention.thread_id).order_by("created_at")[:50]
    )
    return render(request, "responders/compose_page.html", context)


def collisions_for(
    request: AuthedHttpRequest, mention: Mention, form: Any
) -> list[Outbound]:
    if form.cleaned_data.get("send_anyway"):
        return []
    return guards.find_collisions(
        mention, agent=request.user, opened_at=form.cleaned_data["opened_at"]
    )


def with_send_anyway(form_class: Any, request: AuthedHttpRequest) -> Any:
    data = request.POST.copy()
    data["send_anyway"] = "1"
    form = form_class(data)
    form.is_valid()
    return form


def privacy_findings(text: str, guard: GuardSettings) -> list[guards.Finding]:
    return guards.scan_with_settings(text, guard) if text else []


@require_POST
def reply_create(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_mention_for(request, mention_id)
    now = timezone.now()
    form = ReplyForm(request.POST)
    if reply_blocked_reason(mention):
        form.is_valid()
        form.add_error(None, reply_blocked_reason(mention))
        return render_composer(
            request, mention, now=now, active="reply", bound={"reply": form}
        )
    if not form.is_valid():
        return render_composer(
            request, mention, now=now, active="reply", bound={"reply": form}
        )
    guard = GuardSettings.load()
    text = form.cleaned_data["text"]
    findings = privacy_findings(text, guard)
    if findings and guard.privacy_mode == GuardSettings.Mode.BLOCK:
        return render_composer(
            request, mention, now=now, active="reply", bound={"reply": form},
            privacy_block=guards.describe(findings), blocked_text=text,
        )  # fmt: skip
    collisions = collisions_for(request, mention, form)
    if collisions:
        return render_composer(
            request, mention, now=now, active="reply",
            bound={"reply": with_send_anyway(ReplyForm, request)}, collisions=collisions,
        )  # fmt: skip
    replies.queue_reply(mention, text=text, agent=request.user, now=now)
    return render_composer(
        request, mention, now=now, active="reply",
        privacy_warning=guards.describe(findings) if findings else "",
    )  # fmt: skip


@require_POST
def preview(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    get_mention_for(request, mention_id)
    text = request.POST.get("text", "")
    return render(
        request,
        "responders/_composer_preview.html",
        {
            "text": text,
            "length": weighted_length(text),
            "findings": guards.describe(privacy_findings(text, GuardSettings.load())),
        },
    )


@require_GET
def outbound_status(request: AuthedHttpRequest, outbound_id: int) -> HttpResponse:
    outbound = _get_outbound(request, outbound_id)
    now = timezone.now()
    _for_display([outbound], request, now)
    response = render(request, "responders/_outbound.html", {"o": outbound, "now": now})
    if outbound.is_final:
        # The poll stops with this answer: tell the page once, so the workspace can refresh its
        # timeline and SLA clocks ("outbound-final" on <body>, detail = ids and state).
        trigger_client_event(
            response,
            "outbound-final",
            {
                "mention_id": outbound.mention_id,
                "outbound_id": outbound.pk,
                "state": outbound.state,
            },
        )
    return response


@require_POST
def outbound_undo(request: AuthedHttpRequest, outbound_id: int) -> HttpResponse:
    outbound = _get_outbound(request, outbound_id)
    if not _may_undo(request, outbound):
        raise PermissionDenied
    now = timezone.now()
    undone = replies.undo_outbound(outbound, agent=request.user, now=now)
    outbound.refresh_from_db()
    _for_display([outbound], request, now)
    notice = "" if undone else "Too late to undo: it is already on its way."
    return render(
        request,
        "responders/_outbound.html",
        {"o": outbound, "now": now, "notice": notice},
    )


@require_POST
def outbound_retry(request: AuthedHttpRequest, outbound_id: int) -> HttpResponse:
    outbound = _get_outbound(request, outbound_id)
    now = timezone.now()
    retried = replies.retry_outbound(outbound, agent=request.user, now=now)
    outbound.refresh_from_db()
    _for_display([outbound], request, now)
    notice = "" if retried else "This one cannot be retried."
    return render(
        request,
        "responders/_outbound.html",
        {"o": outbound, "now": now, "notice": notice},
    )
