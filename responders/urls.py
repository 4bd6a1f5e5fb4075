from __future__ import annotations

from django.urls import path

from responders import views, views_handoff, views_settings

app_name = "responders"
urlpatterns = [
    path("mentions/<int:mention_id>/composer/", views.composer, name="composer"),
    path("mentions/<int:mention_id>/compose/", views.compose_page, name="compose-page"),
    path("mentions/<int:mention_id>/reply/", views.reply_create, name="reply-create"),
    path("mentions/<int:mention_id>/dm/", views_handoff.dm_create, name="dm-create"),
    path(
        "mentions/<int:mention_id>/email/",
        views_handoff.email_create,
        name="email-create",
    ),
    path(
        "mentions/<int:mention_id>/phone/",
        views_handoff.phone_create,
        name="phone-create",
    ),
    path("mentions/<int:mention_id>/preview/", views.preview, name="preview"),
    path("outbound/<int:outbound_id>/", views.outbound_status, name="outbound"),
    path("outbound/<int:outbound_id>/undo/", views.outbound_undo, name="outbound-undo"),
    path(
        "outbound/<int:outbound_id>/retry/", views.outbound_retry, name="outbound-retry"
    ),
    path("handoffs/<int:handoff_id>/", views_handoff.handoff_status, name="handoff"),
    path(
        "handoffs/<int:handoff_id>/call/",
        views_handoff.handoff_call,
        name="handoff-call",
    ),
    path(
        "handoffs/<int:handoff_id>/resolve/",
        views_handoff.handoff_resolve,
        name="handoff-resolve",
    ),
    path(
        "handoffs/<int:handoff_id>/dismiss-followup/",
        views_handoff.handoff_dismiss_followup,
        name="handoff-dismiss-followup",
    ),
    path("settings/", views_settings.responder_settings, name="settings"),
]
