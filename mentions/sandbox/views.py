"""Customer simulator pages: post or DM to the brand as a fake customer, watch replies, inject faults.

These are Earshot staff pages (login required); the brand's side is whatever the helpdesk sends
through the sandbox X API.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Max, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from mentions.sandbox import services
from mentions.sandbox.forms import (
    CustomerDMForm,
    CustomerForm,
    CustomerPostForm,
    FaultForm,
)
from mentions.sandbox.models import (
    SandboxDMEvent,
    SandboxPost,
    SandboxToken,
    SandboxUser,
)

CONVERSATIONS_SHOWN = 8


class HtmxHttpRequest(HttpRequest):
    user: User | AnonymousUser
    htmx: HtmxDetails


def _brand(request: HttpRequest) -> SandboxUser | None:
    """The brand: ?brand=<username>, else the account that last got a user token (the connected one)."""
    handle = request.GET.get("brand") or request.POST.get("brand")
    if handle:
        return SandboxUser.objects.filter(username_lower=handle.lower()).first()
    token = (
        SandboxToken.objects.filter(kind=SandboxToken.Kind.USER, user__isnull=False)
        .order_by("-id")
        .first()
    )
    return (
        token.user
        if token is not None
        else SandboxUser.objects.filter(verified=True).first()
    )


def _conversations(brand: SandboxUser) -> list[list[SandboxPost]]:
    involved = SandboxPost.objects.filter(
        Q(author=brand)
        | Q(in_reply_to_user=brand)
        | Q(mention_usernames__contains=f" {brand.username_lower} ")
    )
    latest = (
        involved.values("conversation_id")
        .annotate(newest=Max("id"))
        .order_by("-newest")[:CONVERSATIONS_SHOWN]
    )
    ids = [row["conversation_id"] for row in latest]
    posts = (
        SandboxPost.objects.filter(conversation_id__in=ids)
        .select_related("author")
        .order_by("id")
    )
    grouped: dict[int, list[SandboxPost]] = {cid: [] for cid in ids}
    for post in posts:
        grouped[post.conversation_id].append(post)
    return [grouped[cid] for cid in ids if grouped[cid]]


def _dm_threads(brand: SandboxUser) -> list[list[SandboxDMEvent]]:
    mine = SandboxDMEvent.objects.filter(Q(sender=brand) | Q(recipient=brand))
    latest = (
        mine.values("dm_conversation_id")
        .annotate(newest=Max("id"))
        .order_by("-newest")[:CONVERSATIONS_SHOWN]
    )
    ids = [row["dm_conversation_id"] for row in latest]
    events = (
        mine.filter(dm_conversation_id__in=ids).select_related("sender").order_by("id")
    )
    grouped: dict[str, list[SandboxDMEvent]] = {cid: [] for cid in ids}
    for event in events:
        grouped[event.dm_conversation_id].append(event)
    return [grouped[cid][-20:] for cid in ids]


def _customer(form: CustomerForm) -> SandboxUser:
    data = form.cleaned_data
    user = services.get_or_create_user(
        data["username"],
        data["name"] or data["username"],
        followers_count=data["followers_count"] or 0,
    )
    changed = {"verified": data["verified"]}
    if data["name"]:
        changed["name"] = data["name"]
    if data["followers_count"] is not None:
        changed["followers_count"] = data["followers_count"]
    SandboxUser.objects.filter(pk=user.pk).update(**changed)
    return user


def _render_page(
    request: HtmxHttpRequest, brand: SandboxUser | None, status: int = 200, **forms: Any
) -> HttpResponse:
    context = {
        "brand": brand,
        "brands": SandboxUser.objects.filter(
            tokens__kind=SandboxToken.Kind.USER
        ).distinct(),
        "conversations": _conversations(brand) if brand else [],
        "dm_threads": _dm_threads(brand) if brand else [],
        "faults": services.pending_faults(),
        "post_form": forms.get("post_form") or CustomerPostForm(),
        "dm_form": forms.get("dm_form") or CustomerDMForm(),
        "fault_form": forms.get("fault_form") or FaultForm(),
    }
    template = "sandbox/simulator.html"
    if request.htmx and request.htmx.target == "conversations":
        template += "#conversations"
    return render(request, template, context, status=status)


def _back(brand: SandboxUser | None) -> HttpResponseRedirect:
    url = reverse("sandbox:simulator")
    return HttpResponseRedirect(f"{url}?brand={brand.username}" if brand else url)


def simulator(request: HtmxHttpRequest) -> HttpResponse:
    return _render_page(request, _brand(request))


@require_POST
def post_as_customer(request: HtmxHttpRequest) -> HttpResponse:
    brand = _brand(request)
    form = CustomerPostForm(request.POST)
    if not form.is_valid() or brand is None:
        return _render_page(request, brand, 400, post_form=form)
    parent = None
    if form.cleaned_data["in_reply_to"]:
        parent = SandboxPost.objects.filter(
            id=int(form.cleaned_data["in_reply_to"]), is_deleted=False
        ).first()
        if parent is None:
            form.add_error("in_reply_to", "No such post.")
            return _render_page(request, brand, 400, post_form=form)
    text = form.cleaned_data["text"]
    if (
        form.cleaned_data["mention_brand"]
        and f"@{brand.username_lower}" not in text.lower()
    ):
        text = f"@{brand.username} {text}"
    post = services.create_post(
        _customer(form), text, in_reply_to=parent, lang=form.cleaned_data["lang"]
    )
    messages.success(request, f"Posted {post.id}.")
    return _back(brand)


@require_POST
def dm_as_customer(request: HtmxHttpRequest) -> HttpResponse:
    brand = _brand(request)
    form = CustomerDMForm(request.POST)
    if not form.is_valid() or brand is None:
        return _render_page(request, brand, 400, dm_form=form)
    event = services.create_dm(_customer(form), brand, form.cleaned_data["text"])
    messages.success(request, f"Sent DM {event.id}.")
    return _back(brand)


@require_POST
def add_fault(request: HtmxHttpRequest) -> HttpResponse:
    brand = _brand(request)
    form = FaultForm(request.POST)
    if not form.is_valid():
        return _render_page(request, brand, 400, fault_form=form)
    data = form.cleaned_data
    services.add_fault(
        data["endpoint"],
        data["kind"],
        count=data["count"],
        after=data["after"],
        delay_seconds=data["delay_seconds"] or 0.0,
        reset_in_seconds=data["reset_in_seconds"],
    )
    messages.success(
        request, f"Injected {data['count']} x {data['kind']} on {data['endpoint']}."
    )
    return _back(brand)


@require_POST
def clear_faults(request: HtmxHttpRequest) -> HttpResponse:
    services.clear_faults()
    messages.success(request, "Cleared all injected faults.")
    return _back(_brand(request))
