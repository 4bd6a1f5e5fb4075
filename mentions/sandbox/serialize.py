"""Sandbox rows → X v2 JSON objects (posts, users, DM events) with fields and expansions (§2)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from mentions.sandbox import problems
from mentions.sandbox.models import SandboxDMEvent, SandboxPost, SandboxUser

JsonDict = dict[str, Any]

MENTION_RE = re.compile(r"(?<![\w@])@(\w{1,15})")
HASHTAG_RE = re.compile(r"(?<![\w#])#(\w+)")

TWEET_FIELDS = {
    "attachments", "author_id", "context_annotations", "conversation_id", "created_at", "edit_controls",
    "edit_history_tweet_ids", "entities", "geo", "id", "in_reply_to_user_id", "lang", "non_public_metrics",
    "note_tweet", "organic_metrics", "possibly_sensitive", "promoted_metrics", "public_metrics",
    "referenced_tweets", "reply_settings", "source", "text", "withheld", "article", "card_uri",
    "community_id", "display_text_range", "media_metadata", "scopes",
}  # fmt: skip
USER_FIELDS = {
    "affiliation", "connection_status", "created_at", "description", "entities", "id", "location",
    "most_recent_tweet_id", "name", "pinned_tweet_id", "profile_banner_url", "profile_image_url",
    "protected", "public_metrics", "receives_your_dm", "subscription_type", "url", "username", "verified",
    "verified_type", "withheld",
}  # fmt: skip
DM_FIELDS = {
    "attachments", "created_at", "dm_conversation_id", "entities", "event_type", "id", "participant_ids",
    "referenced_tweets", "sender_id", "text",
}  # fmt: skip
POST_EXPANSIONS = {
    "author_id", "referenced_tweets.id", "referenced_tweets.id.author_id", "in_reply_to_user_id",
    "entities.mentions.username", "attachments.media_keys", "attachments.poll_ids", "geo.place_id",
    "edit_history_tweet_ids",
}  # fmt: skip
DM_EXPANSIONS = {
    "sender_id",
    "participant_ids",
    "referenced_tweets.id",
    "attachments.media_keys",
}


def format_time(value: datetime) -> str:
    """X's timestamp format: always milliseconds and a Z (tweepy cannot parse anything else)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def text_entities(text: str, users_by_name: dict[str, SandboxUser]) -> JsonDict:
    entities: JsonDict = {}
    mentions = []
    for m in MENTION_RE.finditer(text):
        entry: JsonDict = {"start": m.start(), "end": m.end(), "username": m.group(1)}
        user = users_by_name.get(m.group(1).lower())
        if user is not None:
            entry["id"] = user.x_id
        mentions.append(entry)
    if mentions:
        entities["mentions"] = mentions
    hashtags = [
        {"start": m.start(), "end": m.end(), "tag": m.group(1)}
        for m in HASHTAG_RE.finditer(text)
    ]
    if hashtags:
        entities["hashtags"] = hashtags
    return entities


def user_dict(user: SandboxUser, fields: set[str]) -> JsonDict:
    data: JsonDict = {"id": user.x_id, "name": user.name, "username": user.username}
    if "description" in fields:
        data["description"] = user.description
    if "verified" in fields:
        data["verified"] = user.verified
    if "protected" in fields:
        data["protected"] = user.protected
    if "created_at" in fields:
        data["created_at"] = format_time(user.created_at)
    if "profile_image_url" in fields and user.profile_image_url:
        data["profile_image_url"] = user.profile_image_url
    if "receives_your_dm" in fields:
        data["receives_your_dm"] = user.accepts_dms
    if "public_metrics" in fields:
        data["public_metrics"] = {
            "followers_count": user.followers_count,
            "following_count": user.following_count,
            "tweet_count": user.posts.count(),
            "listed_count": 0,
            "like_count": 0,
        }
    return data


def referenced(post: SandboxPost) -> list[tuple[str, SandboxPost]]:
    refs = []
    if post.retweet_of_id is not None and post.retweet_of is not None:
        refs.append(("retweeted", post.retweet_of))
    if post.quote_of_id is not None and post.quote_of is not None:
        refs.append(("quoted", post.quote_of))
    if post.in_reply_to_id is not None and post.in_reply_to is not None:
        refs.append(("replied_to", post.in_reply_to))
    return refs


def post_dict(
    post: SandboxPost, fields: set[str], users_by_name: dict[str, SandboxUser]
) -> JsonDict:
    data: JsonDict = {
        "id": post.x_id,
        "text": post.text,
        "edit_history_tweet_ids": [post.x_id],
    }
    if "author_id" in fields:
        data["author_id"] = post.author.x_id
    if "created_at" in fields:
        data["created_at"] = format_time(post.created_at)
    if "conversation_id" in fields:
        data["conversation_id"] = str(post.conversation_id)
    if "in_reply_to_user_id" in fields and post.in_reply_to_user is not None:
        data["in_reply_to_user_id"] = post.in_reply_to_user.x_id
    if "lang" in fields:
        data["lang"] = post.lang
    if "referenced_tweets" in fields:
        refs = referenced(post)
        if refs:
            data["referenced_tweets"] = [
                {"type": kind, "id": ref.x_id} for kind, ref in refs
            ]
    if "entities" in fields:
        entities = text_entities(post.text, users_by_name)
        if entities:
            data["entities"] = entities
    if "possibly_sensitive" in fields:
        data["possibly_sensitive"] = False
    if "reply_settings" in fields:
        data["reply_settings"] = "everyone"
    if "public_metrics" in fields:
        data["public_metrics"] = {
            "retweet_count": 0,
            "reply_count": post.replies.filter(is_deleted=False).count(),
            "like_count": 0,
            "quote_count": 0,
            "bookmark_count": 0,
            "impression_count": 0,
        }
    return data


def _users_by_name(posts: Iterable[SandboxPost]) -> dict[str, SandboxUser]:
    names: set[str] = set()
    for post in posts:
        names.update(post.mention_usernames.split())
    return {
        u.username_lower: u
        for u in SandboxUser.objects.filter(username_lower__in=names)
    }


def posts_payload(
    posts: Sequence[SandboxPost],
    *,
    fields: set[str],
    expansions: set[str],
    user_fields: set[str],
    partial: bool,
) -> JsonDict:
    """`data`, `includes` and `errors` for a list of posts (omits `data` when empty)."""
    payload: JsonDict = {}
    if not posts:
        return payload
    refs = [ref for post in posts for ref in referenced(post)]
    ref_posts = list({ref.id: ref for _, ref in refs}.values())
    users_by_name = _users_by_name([*posts, *ref_posts])
    post_fields = fields | {"author_id"} if "author_id" in expansions else fields
    payload["data"] = [post_dict(p, post_fields, users_by_name) for p in posts]
    errors: list[JsonDict] = []
    included_tweets: list[SandboxPost] = []
    if expansions & {"referenced_tweets.id", "referenced_tweets.id.author_id"}:
        for ref in ref_posts:
            if ref.is_deleted:
                errors.append(
                    problems.not_found_error("tweet", "referenced_tweets.id", ref.x_id)
                )
            elif partial and not errors:
                # Injected partial failure: the first referenced post is "protected".
                errors.append(
                    problems.not_authorized_error(
                        "tweet", "referenced_tweets.id", ref.x_id
                    )
                )
            else:
                included_tweets.append(ref)
    users: dict[str, SandboxUser] = {}

    def add_user(user: SandboxUser | None) -> None:
        if user is not None:
            users.setdefault(user.x_id, user)

    for post in posts:
        if "author_id" in expansions:
            add_user(post.author)
        if "in_reply_to_user_id" in expansions:
            add_user(post.in_reply_to_user)
        if "entities.mentions.username" in expansions:
            for name in post.mention_usernames.split():
                add_user(users_by_name.get(name))
    if "referenced_tweets.id.author_id" in expansions:
        for ref in included_tweets:
            add_user(ref.author)
    if partial and not errors:
        # Injected partial failure with nothing to hide: a referenced post that has vanished.
        errors.append(problems.not_found_error("tweet", "referenced_tweets.id", "1"))
    includes: JsonDict = {}
    if users:
        includes["users"] = [user_dict(u, user_fields) for u in users.values()]
    if included_tweets:
        includes["tweets"] = [
            post_dict(p, fields | {"author_id"}, users_by_name) for p in included_tweets
        ]
    if includes:
        payload["includes"] = includes
    if errors:
        payload["errors"] = errors
    return payload


def dm_dict(event: SandboxDMEvent, fields: set[str]) -> JsonDict:
    data: JsonDict = {
        "id": event.x_id,
        "event_type": event.event_type,
        "text": event.text,
    }
    if "created_at" in fields:
        data["created_at"] = format_time(event.created_at)
    if "sender_id" in fields:
        data["sender_id"] = event.sender.x_id
    if "dm_conversation_id" in fields:
        data["dm_conversation_id"] = event.dm_conversation_id
    if "participant_ids" in fields:
        data["participant_ids"] = [event.sender.x_id, event.recipient.x_id]
    if "entities" in fields:
        entities = text_entities(event.text, {})
        if entities:
            data["entities"] = entities
    return data


def dms_payload(
    events: Sequence[SandboxDMEvent],
    *,
    fields: set[str],
    expansions: set[str],
    user_fields: set[str],
    partial: bool,
) -> JsonDict:
    payload: JsonDict = {}
    if not events:
        return payload
    payload["data"] = [dm_dict(e, fields) for e in events]
    users: dict[str, SandboxUser] = {}
    for event in events:
        if "sender_id" in expansions:
            users.setdefault(event.sender.x_id, event.sender)
        if "participant_ids" in expansions:
            users.setdefault(event.sender.x_id, event.sender)
            users.setdefault(event.recipient.x_id, event.recipient)
    if users:
        payload["includes"] = {
            "users": [user_dict(u, user_fields) for u in users.values()]
        }
    if partial:
        payload["errors"] = [problems.not_found_error("user", "participant_ids", "1")]
    return payload
