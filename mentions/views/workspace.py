"""The mention workspace: the thread, the author, triage controls, history, composer slot, presence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from helpdesk.lib.http import AuthedHttpRequest
from mentions import presence, triage
from mentions.forms import (
    AssignForm,
    NoteForm,
    PresenceForm,
    PriorityForm,
    StatusForm,
    TagForm,
)
from mentions.models import Mention, MentionEvent, Note, Tag
from mentions.views.common import (
    choices,
    choices_key,
    fragments,
    get_mention,
    staff_required,
)

# Our side of the conversation, shown in the thread between the customer's posts.
OUTWARD_KINDS = [
    MentionEvent.Kind.REPLY,
    MentionEvent.Kind.DM,
    MentionEvent.Kind.EMAIL,
    MentionEvent.Kind.PHONE,
    MentionEvent.Kind.HANDOFF,
]
PAGE_TEMPLATE = "mentions/mention_detail.html"
THREAD_LIMIT = 200
HISTORY_LIMIT = 200
EARLIER_COUNT_CAP = 1000
EVENT_FIELDS = ("id", "mention_id", "kind", "message", "data", "created_at")


@dataclass
class TimelineItem:
    at: datetime
    kind: str  # "post" (a mention), "event" (our reply / hand-off) or "note"
    post: Mention | None = None
    event: MentionEvent | None = None
    note: Note | None = None


def _optional_url(name: str, *args: Any) -> str | None:
    """A URL another helper's app may not define yet: the page renders without that part."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _link_posts(posts: list[Mention]) -> None:
    """Give each listed mention its workspace URL (`detail_url`): one reverse() for the page, not
    one per row (reverse() is a noticeable share of the workspace's render time)."""
    prefix = reverse("mentions:detail", args=[0]).removesuffix("0/")
    for post in posts:
        post.detail_url = f"{prefix}{post.pk}/"  # type: ignore[attr-defined]


def _template_exists(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


POST_FIELDS = (
    "id",
    "kind",
    "text",
    "created_at",
    "status",
    "author_id",
    "author__handle",
    "author__name",
)


def _conversation(mention: Mention) -> list[Mention]:
    if not mention.conversation_id:
        return [mention]
    return list(
        Mention.objects.filter(
            account_id=mention.account_id,
            conversation_id=mention.conversation_id,
        )
        .select_related("author")
        .only(*POST_FIELDS)
        .order_by("created_at", "id")[:THREAD_LIMIT]
    )


def _history(mention_id: int) -> list[MentionEvent]:
    """This mention's history, newest first (the workspace loads it when it scrolls into view)."""
    return list(
        MentionEvent.objects.filter(mention_id=mention_id)
        .select_related("actor")
        .only(*EVENT_FIELDS, "actor__username")
        .order_by("-created_at", "-id")[:HISTORY_LIMIT]
    )


def _timeline_and_history(
    mention: Mention, *, history: bool = True
) -> tuple[list[TimelineItem], list[MentionEvent]]:
    """The whole conversation in order (customers' posts, our replies and hand-offs, internal notes)
    and this mention's history, newest first; the events of both come from one query. Without
    `history` (the page, which loads its history later), only our side's events are read."""
    posts = _conversation(mention)
    ids = [p.pk for p in posts]
    event_rows = MentionEvent.objects.filter(mention_id__in=ids)
    if not history:
        event_rows = event_rows.filter(kind__in=OUTWARD_KINDS)
    events = list(
        event_rows.select_related("actor")
        # The page shows only the actor's username: not every auth_user column.
        .only(*EVENT_FIELDS, "actor__username")
        .order_by("-created_at", "-id")[: HISTORY_LIMIT * 2]
    )
    # A conversation taken to DM goes on there: the customer's DM answers (filed by ingest under the
    # DM conversation, whose id our sent DM recorded in its event) join this thread.
    dm_conversations = {
        str(e.data["dm_conversation_id"])
        for e in events
        if e.kind == MentionEvent.Kind.DM and e.data.get("dm_conversation_id")
    }
    if dm_conversations:
        answers = list(
            Mention.objects.filter(
                kind=Mention.Kind.DM,
                author_id=mention.author_id,
                conversation_id__in=dm_conversations,
            )
            .exclude(pk__in=ids)
            .select_related("author")
            .only(*POST_FIELDS)
            .order_by("created_at", "id")[:THREAD_LIMIT]
        )
        posts += answers
    _link_posts(posts)
    notes = (
        Note.objects.filter(mention_id__in=ids)
        .select_related("author")
        .only("id", "mention_id", "body", "created_at", "author__username")
    )
    items = [TimelineItem(at=p.created_at, kind="post", post=p) for p in posts]
    items += [
        TimelineItem(at=e.created_at, kind="event", event=e)
        for e in events
        if e.kind in OUTWARD_KINDS
    ]
    items += [TimelineItem(at=n.created_at, kind="note", note=n) for n in notes]
    found = [e for e in events if e.mention_id == mention.pk] if history else []
    return sorted(items, key=lambda i: i.at), found[:HISTORY_LIMIT]


def _triage_context(mention: Mention) -> dict[str, Any]:
    options = choices()
    return {
        "mention": mention,
        "tags": list(mention.tags.all()),
        # The option lists depend only on the choices and the current assignee and team.
        "assign_fields": fragments.render(
            f"{PAGE_TEMPLATE}#assign-fields",
            (choices_key(options), mention.assignee_id, mention.team_id),
            lambda: {**options, "mention": mention},
        ),
        "statuses": Mention.Status.choices,
        "priorities": Mention.Priority.choices,
    }


def _author_context(mention: Mention) -> dict[str, Any]:
    """How many earlier mentions the author has (counted up to a cap: some post thousands), the last five."""
    earlier = Mention.objects.filter(
        author_id=mention.author_id, created_at__lt=mention.created_at
    ).order_by("-created_at", "-id")
    count = earlier[: EARLIER_COUNT_CAP + 1].count()
    recent = list(earlier.only("id", "author_id", "text", "status", "created_at")[:5])
    _link_posts(recent)
    return {
        "earlier_count": min(count, EARLIER_COUNT_CAP),
        "earlier_capped": count > EARLIER_COUNT_CAP,
        "earlier": recent,
    }


# What the workspace page shows of the mention and its author, account, assignee and team (a narrow
# select: the full rows of five tables cost more to compile and load than the query costs to run).
WORKSPACE_FIELDS = (
    "id",
    "x_id",
    "kind",
    "account",
    "author",
    "text",
    "lang",
    "created_at",
    "ingested_at",
    "conversation_id",
    "summons_brand",
    "status",
    "assignee",
    "team",
    "priority",
    "priority_score",
    "priority_reasons",
    "is_priority_overridden",
    "sentiment",
    "is_monitoring_suggested",
    "sla_due_at",
    "sla_warning_at",
    "sla_hint",
    "updated_at",
    "author__handle",
    "author__name",
    "author__verified",
    "author__followers_count",
    "author__description",
    "account__handle",
    "assignee__username",
    "team__name",
)


def _get_workspace_mention(mention_id: int) -> Mention:
    return get_object_or_404(
        Mention.objects.select_related("author", "account", "assignee", "team").only(
            *WORKSPACE_FIELDS
        ),
        pk=mention_id,
    )


def _workspace_context(request: AuthedHttpRequest, mention: Mention) -> dict[str, Any]:
    timeline, _ = _timeline_and_history(mention, history=False)
    detail_url = request.path
    context: dict[str, Any] = {
        **_triage_context(mention),
        "timeline": timeline,
        # Below the fold, each loaded by htmx when it scrolls into view (`?part=`).
        "history_url": f"{detail_url}?part=history",
        "earlier_url": f"{detail_url}?part=earlier",
        "details_url": f"{detail_url}?part=details",
        "cheatsheet": fragments.render(
            "mentions/_cheatsheet.html", "workspace", lambda: {"workspace": True}
        ),
        "composer_url": _optional_url("responders:composer", mention.pk),
        "compose": request.GET.get("compose", ""),
    }
    if _template_exists("sla/_clock_list.html"):
        context["clock_list"] = True
        context["clocks"] = list(mention.clocks.order_by("cycle", "target", "id"))
    return context


@require_GET
@staff_required
def mention_detail(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    """The workspace; #presence fills in with the first heartbeat, sent as soon as the page loads.

    `?part=history`, `?part=earlier` or `?part=details` answers only that fragment (the page loads
    them as they scroll into view).
    """
    part = request.GET.get("part")
    if part is not None:
        return _part(request, mention_id, part)
    mention = _get_workspace_mention(mention_id)
    return render(request, PAGE_TEMPLATE, _workspace_context(request, mention))


def _part(request: AuthedHttpRequest, mention_id: int, part: str) -> HttpResponse:
    if part == "history":
        get_object_or_404(Mention.objects.only("id"), pk=mention_id)
        context: dict[str, Any] = {"history": _history(mention_id)}
        return render(request, f"{PAGE_TEMPLATE}#history", context)
    if part == "earlier":
        mention = get_object_or_404(
            Mention.objects.only("id", "author_id", "created_at"), pk=mention_id
        )
        return render(
            request, f"{PAGE_TEMPLATE}#author-earlier", _author_context(mention)
        )
    if part == "details":
        mention = _get_workspace_mention(mention_id)
        context = {
            "mention": mention,
            "streams": list(mention.streams.only("id", "name")),
        }
        return render(request, f"{PAGE_TEMPLATE}#details", context)
    return HttpResponseBadRequest("`part` must be history, earlier or details.")


def _after_action(
    request: AuthedHttpRequest, mention_id: int, form: Form | None = None
) -> HttpResponse:
    """htmx: the triage panel with the history and thread out of band; else back to the page."""
    mention = get_mention(mention_id)
    if not request.htmx:
        if form is not None and form.errors:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, str(error))
        return redirect("mentions:detail", mention_id)
    timeline, history = _timeline_and_history(mention)
    context = {
        **_triage_context(mention),
        "timeline": timeline,
        "history": history,
        "form_errors": form.errors if form is not None else None,
    }
    status = 400 if form is not None and form.errors else 200
    return render(request, "mentions/_workspace_update.html", context, status=status)


@require_POST
@staff_required
def claim_mention(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_mention(mention_id)
    triage.assign_mention(
        mention, assignee=request.user, actor=request.user, now=timezone.now()
    )
    return _after_action(request, mention_id)


@require_POST
@staff_required
def assign_mention(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_mention(mention_id)
    form = AssignForm(request.POST)
    if form.is_valid():
        triage.assign_mention(
            mention,
            assignee=form.cleaned_data["assignee"],
            team=form.cleaned_data["team"],
            actor=request.user,
            now=timezone.now(),
        )
    return _after_action(request, mention_id, form)


@require_POST
@staff_required
def set_status(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_mention(mention_id)
    form = StatusForm(request.POST)
    if form.is_valid():
        triage.set_status(
            mention,
            Mention.Status(form.cleaned_data["status"]),
            actor=request.user,
            now=timezone.now(),
        )
    return _after_action(request, mention_id, form)


@require_POST
@staff_required
def set_priority(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_mention(mention_id)
    form = PriorityForm(request.POST)
    if form.is_valid():
        triage.set_priority(
            mention,
            Mention.Priority(form.cleaned_data["priority"]),
            actor=request.user,
            now=timezone.now(),
        )
    return _after_action(request, mention_id, form)


@require_POST
@staff_required
def tag_mention(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_mention(mention_id)
    form = TagForm(request.POST)
    if form.is_valid():
        triage.add_tags(
            mention, form.cleaned_data["tags"], actor=request.user, now=timezone.now()
        )
    return _after_action(request, mention_id, form)


@require_POST
@staff_required
def untag_mention(
    request: AuthedHttpRequest, mention_id: int, tag_id: int
) -> HttpResponse:
    mention = get_mention(mention_id)
    tag = get_object_or_404(Tag, pk=tag_id, mentions=mention)
    triage.remove_tag(mention, tag, actor=request.user, now=timezone.now())
    return _after_action(request, mention_id)


@require_POST
@staff_required
def add_note(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    mention = get_mention(mention_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        triage.add_note(
            mention, form.cleaned_data["body"], actor=request.user, now=timezone.now()
        )
    return _after_action(request, mention_id, form)


@require_POST
@staff_required
def mention_presence(request: AuthedHttpRequest, mention_id: int) -> HttpResponse:
    """A heartbeat (state=viewing|typing); answers the `#presence` fragment of the OTHER agents."""
    mention = get_object_or_404(Mention.objects.only("id"), pk=mention_id)
    form = PresenceForm(request.POST)
    if not form.is_valid():
        return HttpResponse("state must be viewing or typing.", status=400)
    now = timezone.now()
    presence.heartbeat(mention.pk, request.user, form.cleaned_data["state"], now=now)
    return render(
        request,
        "mentions/_presence.html",
        {
            "mention": mention,
            "others": presence.others(mention.pk, request.user, now=now),
        },
    )
