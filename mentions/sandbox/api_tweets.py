"""Post endpoints of the sandbox X API: recent search, mentions timeline, POST /2/tweets, users/me."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from django.db.models import QuerySet
from twitter_text import parse_tweet

from mentions.sandbox import ids, params, problems, query, serialize, services
from mentions.sandbox.endpoint import Call, Reply, api_endpoint, json_body
from mentions.sandbox.models import SandboxPost, SandboxUser
from mentions.sandbox.problems import JsonDict

READ = frozenset({"tweet.read", "users.read"})
WRITE = frozenset({"tweet.read", "users.read", "tweet.write"})
SEARCH_WINDOW = timedelta(days=7)
MENTIONS_REACH = 800
DUPLICATE_WINDOW = timedelta(hours=24)
CHUNK = 500


def _live_posts() -> QuerySet[SandboxPost]:
    return SandboxPost.objects.filter(is_deleted=False).select_related(
        "author", "in_reply_to", "in_reply_to__author", "in_reply_to_user", "quote_of", "quote_of__author",
        "retweet_of", "retweet_of__author",
    )  # fmt: skip


def _facts(post: SandboxPost) -> query.PostFacts:
    return query.PostFacts(
        text=post.text,
        author_username=post.author.username,
        author_verified=post.author.verified,
        lang=post.lang,
        conversation_id=str(post.conversation_id),
        mentions=frozenset(post.mention_usernames.split()),
        hashtags=frozenset(query.fold(h) for h in post.hashtags.split()),
        in_reply_to_username=post.in_reply_to_user.username
        if post.in_reply_to_user
        else None,
        in_reply_to_post_id=str(post.in_reply_to_id) if post.in_reply_to_id else None,
        quote_of_id=str(post.quote_of_id) if post.quote_of_id else None,
        is_retweet=post.retweet_of_id is not None,
    )


def _newest_first(qs: QuerySet[SandboxPost]) -> Iterator[SandboxPost]:
    """Keyset-paged walk of `qs` by descending id, so huge tables never load at once."""
    cursor: int | None = None
    while True:
        chunk = list(
            (qs if cursor is None else qs.filter(id__lt=cursor)).order_by("-id")[:CHUNK]
        )
        yield from chunk
        if len(chunk) < CHUNK:
            return
        cursor = chunk[-1].id


def _page(call: Call, qs: QuerySet[SandboxPost], *, max_results: int, cursor_param: str,
          accept: Callable[[SandboxPost], bool] = lambda _: True) -> Reply:  # fmt: skip
    """One newest-first page with `meta`, fields and expansions; the token encodes the last id."""
    get = call.request.GET
    before = params.decode_token(get, cursor_param)
    if before is not None:
        qs = qs.filter(id__lt=before)
    found: list[SandboxPost] = []
    has_more = False
    for post in _newest_first(qs):
        if not accept(post):
            continue
        if len(found) == max_results:
            has_more = True
            break
        found.append(post)
    body: JsonDict = serialize.posts_payload(
        found,
        fields=params.field_list(
            get, "tweet.fields", serialize.TWEET_FIELDS, alias="post.fields"
        ),
        expansions=params.field_list(get, "expansions", serialize.POST_EXPANSIONS),
        user_fields=params.field_list(get, "user.fields", serialize.USER_FIELDS),
        partial=call.partial,
    )
    meta: JsonDict = {"result_count": len(found)}
    if found:
        meta = {
            "newest_id": found[0].x_id,
            "oldest_id": found[-1].x_id,
            "result_count": len(found),
        }
        if has_more:
            meta["next_token"] = params.encode_token(found[-1].id)
    body["meta"] = meta
    return Reply(200, body)


def _time_bounds(
    call: Call, qs: QuerySet[SandboxPost], *, floor: timedelta | None
) -> QuerySet[SandboxPost]:
    get = call.request.GET
    since_id = params.snowflake(get, "since_id")
    until_id = params.snowflake(get, "until_id")
    start_time = params.timestamp(get, "start_time")
    end_time = params.timestamp(get, "end_time")
    oldest = call.now - floor if floor is not None else None
    if (
        start_time is not None
        and oldest is not None
        and start_time < oldest - timedelta(seconds=60)
    ):
        raise problems.invalid_parameter(
            "start_time",
            get["start_time"],
            f"Invalid 'start_time':'{get['start_time']}'. 'start_time' must be on or after "
            f"{serialize.format_time(oldest)}",
        )
    if end_time is not None and end_time > call.now:
        raise problems.invalid_parameter(
            "end_time",
            get["end_time"],
            f"Invalid 'end_time':'{get['end_time']}'. 'end_time' must be before the request time.",
        )
    if start_time is not None and end_time is not None and end_time <= start_time:
        raise problems.invalid_parameter(
            "end_time",
            get["end_time"],
            "Invalid 'end_time'. 'end_time' must be after 'start_time'.",
        )
    # since_id beats start_time when both are given (documented X behaviour).
    if since_id is not None:
        qs = qs.filter(id__gt=since_id)
    elif start_time is not None:
        qs = qs.filter(created_at__gte=start_time)
    if until_id is not None:
        qs = qs.filter(id__lt=until_id)
    if end_time is not None:
        qs = qs.filter(created_at__lt=end_time)
    if oldest is not None:
        qs = qs.filter(created_at__gte=oldest, id__gte=ids.time_bits(oldest))
    return qs


def _prefilter(qs: QuerySet[SandboxPost], node: query.Node) -> QuerySet[SandboxPost]:
    """Push required top-level terms (mentions, from:) into SQL; the matcher still checks everything."""
    terms = (
        node.children if isinstance(node, query.Group) and node.op == "and" else (node,)
    )
    for term in terms:
        if isinstance(term, query.Term) and not term.negated:
            if term.kind == "mention":
                qs = qs.filter(mention_usernames__contains=f" {term.value} ")
            elif term.kind == "from":
                qs = qs.filter(author__username_lower=term.value)
    return qs


@api_endpoint("search", scopes=READ)
def search_recent(call: Call) -> Reply:
    get = call.request.GET
    raw_query = get.get("query")
    if raw_query is None:
        raise problems.invalid_parameter(
            "query", "", "The `query` query parameter can not be empty"
        )
    try:
        node = query.parse_query(raw_query)
    except query.QueryError as error:
        raise problems.invalid_parameter("query", raw_query, str(error)) from None
    max_results = params.int_range(get, "max_results", 10, 100, 10)
    if get.get("sort_order") not in (None, "recency", "relevancy"):
        raise problems.invalid_parameter(
            "sort_order",
            get["sort_order"],
            f"The `sort_order` query parameter value [{get['sort_order']}] is not one of [recency,relevancy]",
        )
    qs = _time_bounds(call, _prefilter(_live_posts(), node), floor=SEARCH_WINDOW)
    cursor_param = (
        "pagination_token"
        if "pagination_token" in get and "next_token" not in get
        else "next_token"
    )
    return _page(call, qs, max_results=max_results, cursor_param=cursor_param,
                 accept=lambda post: query.matches(node, _facts(post)))  # fmt: skip


@api_endpoint("mentions", scopes=READ)
def user_mentions(call: Call, user_id: str) -> Reply:
    get = call.request.GET
    max_results = params.int_range(get, "max_results", 5, 100, 10)
    user = services.get_user(user_id)
    if user is None:
        return Reply(200, {"errors": [problems.not_found_error("user", "id", user_id)]})
    qs = _live_posts().filter(mention_usernames__contains=f" {user.username_lower} ")
    # Only the newest 800 are reachable; an older since_id is forced forward (X docs).
    cutoff = list(
        qs.order_by("-id").values_list("id", flat=True)[
            MENTIONS_REACH - 1 : MENTIONS_REACH
        ]
    )
    if cutoff:
        qs = qs.filter(id__gte=cutoff[0])
    qs = _time_bounds(call, qs, floor=None)
    return _page(call, qs, max_results=max_results, cursor_param="pagination_token")


def _check_reply_allowed(author: SandboxUser, target: SandboxPost) -> None:
    """X's 2026 rule: reply only if the target's author summoned you (mention, quote, reply to you)."""
    if target.author_id == author.pk:
        return
    engaged = (
        target.mentions(author.username)
        or (target.quote_of is not None and target.quote_of.author_id == author.pk)
        or target.in_reply_to_user_id == author.pk
    )
    if not engaged:
        raise problems.forbidden(
            "Reply to this conversation is not allowed because you have not been mentioned or otherwise "
            "engaged by the author of the post you are replying to."
        )


def _target(value: object, *, verb: str) -> SandboxPost:
    if not isinstance(value, str | int) or not str(value).isdigit():
        raise problems.invalid_request(
            f"`{verb}` must be a post id string.", {verb: [str(value)]}
        )
    target = _live_posts().filter(id=int(value)).first()
    if target is None:
        noun = "reply to" if verb == "in_reply_to_tweet_id" else "quote"
        raise problems.forbidden(
            f"You attempted to {noun} a Tweet that is deleted or not visible to you."
        )
    return target


@api_endpoint("create_post", methods=("POST",), user_context=True, scopes=WRITE)
def create_post(call: Call) -> Reply:
    body = json_body(call.request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise problems.invalid_request(
            "Post text must not be empty.", {"text": [str(text or "")]}
        )
    if parse_tweet(text).weightedLength > 280:
        raise problems.invalid_request(
            "Your Tweet text is too long. For more information on how X counts characters, see https://docs.x.com/resources/fundamentals/counting-characters"
        )
    reply = body.get("reply")
    parent = None
    if reply is not None:
        if not isinstance(reply, dict) or "in_reply_to_tweet_id" not in reply:
            raise problems.invalid_request("`reply.in_reply_to_tweet_id` is required.")
        parent = _target(reply["in_reply_to_tweet_id"], verb="in_reply_to_tweet_id")
        _check_reply_allowed(call.user, parent)
    quoted = (
        _target(body["quote_tweet_id"], verb="quote_tweet_id")
        if body.get("quote_tweet_id")
        else None
    )
    duplicate = SandboxPost.objects.filter(
        author=call.user,
        text=text,
        is_deleted=False,
        created_at__gte=call.now - DUPLICATE_WINDOW,
    ).exists()
    if duplicate:
        raise problems.forbidden(
            "You are not allowed to create a Tweet with duplicate content."
        )
    post = services.create_post(call.user, text, in_reply_to=parent, quote_of=quoted)
    data = {"id": post.x_id, "text": post.text, "edit_history_tweet_ids": [post.x_id]}
    return Reply(
        201,
        {"data": data},
        {"Location": f"https://api.twitter.com/2/tweets/{post.x_id}"},
    )


@api_endpoint("users_me", user_context=True, scopes=READ)
def users_me(call: Call) -> Reply:
    fields = params.field_list(call.request.GET, "user.fields", serialize.USER_FIELDS)
    params.field_list(
        call.request.GET,
        "expansions",
        {"pinned_tweet_id", "most_recent_tweet_id", "affiliation.user_id"},
    )
    return Reply(200, {"data": serialize.user_dict(call.user, fields)})
