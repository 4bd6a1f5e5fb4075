"""Direct-message endpoints of the sandbox X API: list DM events and send a DM (user context only)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.db.models import Q, QuerySet

from mentions.sandbox import params, problems, serialize, services
from mentions.sandbox.endpoint import Call, Reply, api_endpoint, json_body
from mentions.sandbox.models import SandboxDMEvent, SandboxUser
from mentions.sandbox.problems import JsonDict

DM_READ = frozenset({"dm.read", "tweet.read", "users.read"})
DM_WRITE = frozenset({"dm.write", "tweet.read", "users.read"})
DM_HORIZON = timedelta(days=30)
MAX_DM_LENGTH = 10_000
EVENT_TYPES = {"MessageCreate", "ParticipantsJoin", "ParticipantsLeave"}
_CONVERSATION_RE = re.compile(r"^([0-9]{1,19})-([0-9]{1,19})$")


def _events_page(call: Call, qs: QuerySet[SandboxDMEvent]) -> Reply:
    get = call.request.GET
    max_results = params.int_range(get, "max_results", 1, 100, 100)
    token = get.get("pagination_token")
    if token is not None and len(token) < 16:
        raise problems.invalid_parameter(
            "pagination_token",
            token,
            f"The `pagination_token` query parameter value [{token}] is not valid",
        )
    before = params.decode_token(get, "pagination_token")
    types = params.field_list(get, "event_types", EVENT_TYPES) or EVENT_TYPES
    qs = qs.filter(event_type__in=types, created_at__gte=call.now - DM_HORIZON)
    if before is not None:
        qs = qs.filter(id__lt=before)
    events = list(
        qs.select_related("sender", "recipient").order_by("-id")[: max_results + 1]
    )
    has_more = len(events) > max_results
    events = events[:max_results]
    body: JsonDict = serialize.dms_payload(
        events,
        fields=params.field_list(get, "dm_event.fields", serialize.DM_FIELDS),
        expansions=params.field_list(get, "expansions", serialize.DM_EXPANSIONS),
        user_fields=params.field_list(get, "user.fields", serialize.USER_FIELDS),
        partial=call.partial,
    )
    params.field_list(get, "tweet.fields", serialize.TWEET_FIELDS)
    meta: JsonDict = {"result_count": len(events)}
    if has_more:
        meta["next_token"] = params.encode_token(events[-1].id)
    body["meta"] = meta
    return Reply(200, body)


def _mine(user: SandboxUser) -> QuerySet[SandboxDMEvent]:
    return SandboxDMEvent.objects.filter(Q(sender=user) | Q(recipient=user))


def _participant(participant_id: str) -> SandboxUser:
    other = services.get_user(participant_id)
    if other is None:
        raise problems.invalid_parameter(
            "participant_id",
            participant_id,
            f"Could not find user with participant_id: [{participant_id}].",
        )
    return other


def _conversation_partner(call: Call, conversation_id: str) -> SandboxUser:
    match = _CONVERSATION_RE.match(conversation_id)
    me = call.user.x_id
    if match is None or me not in match.groups():
        raise problems.forbidden("You are not a participant in this conversation.")
    other_id = match.group(2) if match.group(1) == me else match.group(1)
    return _participant(other_id)


@api_endpoint("dm_events", user_context=True, scopes=DM_READ)
def dm_events(call: Call) -> Reply:
    return _events_page(call, _mine(call.user))


@api_endpoint("dm_events", user_context=True, scopes=DM_READ)
def conversation_dm_events(call: Call, conversation_id: str) -> Reply:
    _conversation_partner(call, conversation_id)
    return _events_page(
        call, _mine(call.user).filter(dm_conversation_id=conversation_id)
    )


@api_endpoint("dm_events", user_context=True, scopes=DM_READ)
def participant_dm_events(call: Call, participant_id: str) -> Reply:
    other = _participant(participant_id)
    return _events_page(
        call,
        _mine(call.user).filter(
            dm_conversation_id=services.conversation_id_for(call.user, other)
        ),
    )


def _send(call: Call, recipient: SandboxUser) -> Reply:
    body = json_body(call.request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise problems.invalid_request(
            "A message needs `text` or `attachments`.", {"text": [str(text or "")]}
        )
    if len(text) > MAX_DM_LENGTH:
        raise problems.invalid_request(
            f"The text of a message must be at most {MAX_DM_LENGTH} characters."
        )
    if recipient.pk == call.user.pk:
        raise problems.invalid_request("You cannot send a direct message to yourself.")
    if not recipient.accepts_dms:
        raise problems.forbidden("You cannot send messages to this user.")
    event = services.create_dm(call.user, recipient, text)
    data = {"dm_conversation_id": event.dm_conversation_id, "dm_event_id": event.x_id}
    return Reply(
        201,
        {"data": data},
        {"Location": f'https://api.twitter.com/2/dm_events/"{event.x_id}"'},
    )


@api_endpoint("create_dm", methods=("POST",), user_context=True, scopes=DM_WRITE)
def send_to_participant(call: Call, participant_id: str) -> Reply:
    return _send(call, _participant(participant_id))


@api_endpoint("create_dm", methods=("POST",), user_context=True, scopes=DM_WRITE)
def send_to_conversation(call: Call, conversation_id: str) -> Reply:
    return _send(call, _conversation_partner(call, conversation_id))
