"""The sandbox X API, mounted at <site>/xsandbox/ (so X_API_BASE_URL = "<site>/xsandbox")."""

from __future__ import annotations

from django.urls import path

from mentions.sandbox import api_dms, api_oauth, api_tweets

app_name = "xsandbox_api"
urlpatterns = [
    path("2/tweets/search/recent", api_tweets.search_recent, name="search-recent"),
    path("2/tweets", api_tweets.create_post, name="create-post"),
    path("2/users/me", api_tweets.users_me, name="users-me"),
    path(
        "2/users/<str:user_id>/mentions", api_tweets.user_mentions, name="user-mentions"
    ),
    path("2/dm_events", api_dms.dm_events, name="dm-events"),
    path(
        "2/dm_conversations/with/<str:participant_id>/dm_events",
        api_dms.participant_dm_events,
        name="participant-dm-events",
    ),
    path(
        "2/dm_conversations/with/<str:participant_id>/messages",
        api_dms.send_to_participant,
        name="send-to-participant",
    ),
    path(
        "2/dm_conversations/<str:conversation_id>/dm_events",
        api_dms.conversation_dm_events,
        name="conversation-dm-events",
    ),
    path(
        "2/dm_conversations/<str:conversation_id>/messages",
        api_dms.send_to_conversation,
        name="send-to-conversation",
    ),
    path("2/oauth2/token", api_oauth.token, name="oauth2-token"),
    path("2/oauth2/revoke", api_oauth.revoke, name="oauth2-revoke"),
    path("i/oauth2/authorize", api_oauth.authorize, name="oauth2-authorize"),
]
